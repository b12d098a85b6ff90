/* The statistics page's heat map: one rectangle per grid cell, darker for more reports. The
   cells come from the server (json_script "heat-cells": [south, west, north, east, count]); no
   heat-map plugin and no tiles are needed. */
(function () {
  "use strict";
  var RAMP = ["#fff3b0", "#ffd166", "#f4a261", "#e76f51", "#c1121f", "#780000"];

  function colour(count, max) {
    // Square root: a few very busy cells must not wash every other cell out to the palest shade.
    var share = max > 0 ? Math.sqrt(count / max) : 0;
    return RAMP[Math.min(RAMP.length - 1, Math.floor(share * RAMP.length))];
  }

  window.fixpointHeatMap = function (map) {
    var cells = JSON.parse(document.getElementById("heat-cells").textContent);
    var max = cells.reduce(function (m, c) { return Math.max(m, c[4]); }, 0);
    var layer = L.featureGroup();
    cells.forEach(function (c) {
      L.rectangle([[c[0], c[1]], [c[2], c[3]]], {
        stroke: false, fillColor: colour(c[4], max), fillOpacity: 0.75
      }).bindTooltip(String(c[4])).addTo(layer);
    });
    layer.addTo(map);
    if (cells.length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
    document.getElementById("heat-map").setAttribute("data-cells", String(cells.length));
  };
}());
