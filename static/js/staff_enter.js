/* Filing for someone: a click on the map fills the position; the caller's fields show only
   when the report is for a caller. The form works without it. */
(function () {
  "use strict";
  var lat = document.getElementById("enter_latitude");
  var lon = document.getElementById("enter_longitude");

  window.fixpointEnterMap = function (map) {
    var hasTiles = false;
    map.eachLayer(function (l) { if (l instanceof L.TileLayer) { hasTiles = true; } });
    if (!hasTiles) { map.getContainer().classList.add("no-tiles"); }
    var pin = null;
    function place(ll) {
      if (pin) { pin.setLatLng(ll); } else {
        pin = L.circleMarker(ll, { radius: 9, color: "#fff", weight: 2, fillColor: "#c62828",
          fillOpacity: 1 }).addTo(map);
      }
    }
    if (lat.value && lon.value) {
      var ll = [parseFloat(lat.value), parseFloat(lon.value)];
      place(ll);
      map.setView(ll, 16);
    }
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      place(e.latlng);
    });
    window.fixpointMap = map;
  };

  var caller = document.getElementById("caller-fields");
  function showCaller() {
    var chosen = document.querySelector("input[name=entered_for]:checked");
    caller.hidden = Boolean(chosen) && chosen.value !== "caller";
  }
  document.querySelectorAll("input[name=entered_for]").forEach(function (radio) {
    radio.addEventListener("change", showCaller);
  });
  showCaller();

  // Only the chosen category's extra questions are shown (all are sent; the rest are ignored).
  var category = document.getElementById("enter_category");
  var questions = document.querySelectorAll("#enter-questions .question");
  var box = document.getElementById("enter-questions");
  function showQuestions() {
    var shown = 0;
    questions.forEach(function (q) {
      q.hidden = q.getAttribute("data-category-id") !== category.value;
      if (!q.hidden) { shown += 1; }
    });
    if (box) { box.hidden = shown === 0; }
  }
  if (category) {
    category.addEventListener("change", showQuestions);
    showQuestions();
  }
})();
