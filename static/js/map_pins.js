/* Redrawing a map's pins after it moved without closing the popup somebody is reading. Opening a
   popup near the map's edge pans the map to show it; the move reloads the pins, and emptying the
   layer took the popup's pin away, and the popup with it, within a moment. */
(function () {
  "use strict";
  window.FixpointPins = {
    // Empties `layer` but for the pin whose popup is open, and returns that pin's `pinKey` (null
    // if none) so the caller does not draw it twice.
    clearKeepingOpen: function (layer) {
      var kept = null;
      layer.eachLayer(function (l) {
        if (l.isPopupOpen && l.isPopupOpen()) { kept = l; } else { layer.removeLayer(l); }
      });
      return kept ? kept.pinKey : null;
    }
  };
})();
