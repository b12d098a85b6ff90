/* Leaflet's own control labels in the page's language (django-leaflet draws its maps on the
   window's load event, after this has run). gettext comes from the JavaScript catalogue. */
(function () {
  "use strict";
  if (!window.L || !window.gettext) { return; }
  L.Control.Zoom.prototype.options.zoomInTitle = gettext("Zoom in");
  L.Control.Zoom.prototype.options.zoomOutTitle = gettext("Zoom out");
})();
