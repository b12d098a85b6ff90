/* A small map with the report's pin. The page reads fully without it. */
(function () {
  "use strict";
  window.fixpointReportMap = function (map) {
    var el = document.getElementById("report-point");
    var ll = [parseFloat(el.getAttribute("data-lat")), parseFloat(el.getAttribute("data-lon"))];
    var hasTiles = false;
    map.eachLayer(function (l) { if (l instanceof L.TileLayer) { hasTiles = true; } });
    if (!hasTiles) { map.getContainer().classList.add("no-tiles"); }
    map.scrollWheelZoom.disable();
    map.setView(ll, 17);
    L.circleMarker(ll, { radius: 11, color: "#fff", weight: 2, fillColor: "#c62828", fillOpacity: 1,
      interactive: false })
      .addTo(map);
    window.fixpointMap = map;
  };
  // The share link is selected whole when focused, ready to copy.
  var share = document.getElementById("share-link");
  if (share) { share.addEventListener("focus", function () { this.select(); }); }
})();
