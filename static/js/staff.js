/* Staff pages: the map of the filtered queue, "select all" for bulk actions, and response
   templates that pre-fill the public response. Every form works without it. */
(function () {
  "use strict";
  // Pin colours come from the stylesheet (--pin-<state>), where the legend reads them too.
  var PAGE_STYLE = window.getComputedStyle(document.documentElement);
  function stateColour(state) {
    return PAGE_STYLE.getPropertyValue("--pin-" + state).trim() || "#444";
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  // The queue's filters are folded (a <details>) so that on a phone the reports come first; a
  // screen wide enough for both shows them open.
  var moreFilters = document.getElementById("more-filters");
  if (moreFilters && window.matchMedia("(min-width: 801px)").matches) { moreFilters.open = true; }

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
      // a 24 px circle inside a 2 px border: WCAG 2.5.8 asks 24x24 CSS px at least
      L.circleMarker(ll, { radius: 12, color: "#fff", weight: 2, fillOpacity: 0.9,
        fillColor: stateColour(p.state) })
        .bindPopup('<a href="reports/' + p.id + '/">' + escapeHtml(p.ref) + "</a> " +
          escapeHtml(p.title))
        .addTo(map);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 }); }
    window.fixpointMap = map;
  };

  /* The bulk bar: "select all", how many are ticked, and only the fields the chosen action
     uses. Without a tick its controls fold away (the bar itself stays, sticky, with the
     "select all" box); the stylesheet folds them too, before this runs or without it, and
     without JavaScript every control shows once a report is ticked. */
  function bulkBar() {
    var bar = document.getElementById("bulk-bar");
    var all = document.getElementById("select-all");
    if (!bar || !all) { return; }
    var boxes = document.querySelectorAll("#bulk-form input[name=reports]");
    var count = document.getElementById("bulk-count");
    var action = document.getElementById("id_action");
    var words = bar.getAttribute("data-selected") || "{n} selected";
    function refresh() {
      var n = 0;
      boxes.forEach(function (box) { if (box.checked) { n += 1; } });
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
      count.textContent = n ? words.replace("{n}", n) : "";
      if (n) { bar.removeAttribute("data-idle"); } else { bar.setAttribute("data-idle", ""); }
    }
    function showFields() {
      bar.querySelectorAll("[data-for-action]").forEach(function (label) {
        var wanted = label.getAttribute("data-for-action").split(" ");
        label.hidden = wanted.indexOf(action.value) < 0;
      });
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      refresh();
    });
    boxes.forEach(function (box) { box.addEventListener("change", refresh); });
    if (action) { action.addEventListener("change", showFields); showFields(); }
    refresh();
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

  /* The work page: the original's reference only matters for Duplicate; the error summary
     takes the focus, so a screen reader hears what to correct. */
  function workForm() {
    var state = document.getElementById("id_to_state");
    var original = document.getElementById("original-field");
    if (state && original) {
      var show = function () { original.hidden = state.value !== "duplicate"; };
      state.addEventListener("change", show);
      show();
    }
    var errors = document.getElementById("work-errors");
    if (errors) { errors.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    bulkBar(); templates(); workForm();
  });
})();
