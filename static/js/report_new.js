/* Placing the pin for a new report. Moving it reloads the page for the new spot, so the
   server decides the categories on offer (routing lives there, not in the browser). */
(function () {
  "use strict";
  var CFG = window.FIXPOINT;
  var point = JSON.parse(document.getElementById("pick-point").textContent);

  function go(latlng) {
    var form = document.getElementById("report-form");
    var params = new URLSearchParams({ latitude: latlng.lat.toFixed(6), longitude: latlng.lng.toFixed(6) });
    var category = form && form.elements.category.value;
    if (category) { params.set("category", category); }
    window.location.href = CFG.newUrl + "?" + params;
  }

  function showQuestions() {
    var select = document.querySelector("#report-form select[name=category]");
    if (!select) { return; }
    var chosen = select.value;
    document.querySelectorAll("#questions .question").forEach(function (q) {
      q.hidden = q.getAttribute("data-category") !== chosen;
    });
    var option = select.options[select.selectedIndex];
    var who = option && option.getAttribute("data-authority");
    if (who) { document.getElementById("authority-name").textContent = who; }
  }

  function gpsFromPhoto(map, onFound) {
    var form = document.getElementById("photo-gps");
    form.hidden = false;
    document.getElementById("gps-photo").addEventListener("change", function () {
      var file = this.files[0];
      if (!file) { return; }
      var data = new FormData();
      data.append("photo", file);
      var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(CFG.gpsUrl, { method: "POST", body: data,
        headers: csrf ? { "X-CSRFToken": csrf.value } : {} })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          var status = document.getElementById("gps-status");
          if (res.latitude === undefined) { status.textContent = gettext("This photo has no location."); return; }
          status.textContent = gettext("Pin placed where the photo was taken.");
          onFound(L.latLng(res.latitude, res.longitude));
        });
    });
  }

  window.fixpointPickMap = function (map) {
    var hasTiles = false;
    map.eachLayer(function (l) { if (l instanceof L.TileLayer) { hasTiles = true; } });
    if (!hasTiles) { map.getContainer().classList.add("no-tiles"); }
    var marker = null;
    if (point) {
      var ll = L.latLng(point[0], point[1]);
      map.setView(ll, 17);
      marker = L.marker(ll, { draggable: true, title: "pin" }).addTo(map);
      marker.on("dragend", function () { go(marker.getLatLng()); });
    }
    map.on("click", function (e) { go(e.latlng); });
    gpsFromPhoto(map, go);
    var select = document.querySelector("#report-form select[name=category]");
    if (select) { select.addEventListener("change", showQuestions); showQuestions(); }
    window.fixpointMap = map;
  };
})();
