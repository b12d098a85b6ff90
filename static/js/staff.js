/* Staff pages: the map of the filtered queue, "select all" for bulk actions, and response
   templates that pre-fill the public response. Every form works without it. */
(function () {
  "use strict";
  var COLOURS = {
    unconfirmed: "#9e9e9e", open: "#c62828", verified: "#b26a00", in_progress: "#1565c0",
    fixed: "#2e7d32", closed: "#546e7a", duplicate: "#78909c", not_responsible: "#78909c",
    spam: "#000000"
  };

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  window.fixpointStaffMap = function (map) {
    var data = document.getElementById("staff-pins");
    var pins = data ? JSON.parse(data.textContent) : [];
    var hasTiles = false;
    map.eachLayer(function (l) { if (l instanceof L.TileLayer) { hasTiles = true; } });
    if (!hasTiles) { map.getContainer().classList.add("no-tiles"); }
    var bounds = [];
    pins.forEach(function (p) {
      var ll = [p.lat, p.lon];
      bounds.push(ll);
      L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1, fillOpacity: 0.9,
        fillColor: COLOURS[p.state] || "#444" })
        .bindPopup('<a href="reports/' + p.id + '/">' + escapeHtml(p.ref) + "</a> " +
          escapeHtml(p.title))
        .addTo(map);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 }); }
    window.fixpointMap = map;
  };

  function selectAll() {
    var all = document.getElementById("select-all");
    if (!all) { return; }
    all.addEventListener("change", function () {
      document.querySelectorAll("#bulk-form input[name=reports]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  function templates() {
    var select = document.getElementById("id_template");
    var note = document.getElementById("id_public_note");
    var state = document.getElementById("id_to_state");
    if (!select || !note) { return; }
    select.addEventListener("change", function () {
      var chosen = select.options[select.selectedIndex];
      if (!chosen.value) { return; }
      note.value = chosen.getAttribute("data-text");
      var wanted = chosen.getAttribute("data-state");
      if (wanted && state && state.querySelector('option[value="' + wanted + '"]')) {
        state.value = wanted;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { selectAll(); templates(); });
})();
