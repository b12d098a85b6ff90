/* The filing page: find the spot (place search, the map, the keyboard, a photo's GPS), then
   write the report. Moving the pin never reloads the page: the page is asked again for the new
   spot (GET, the server decides what is on offer: routing lives there) and only the parts that
   depend on the spot are taken from it (categories, their questions, who receives it, the
   "outside" notice). Title, description, answers and chosen photos stay as they are. */
(function () {
  "use strict";
  var CFG = window.FIXPOINT;
  // Pin colours come from the stylesheet (--pin-<state>), as on the home map.
  var PAGE_STYLE = window.getComputedStyle(document.documentElement);
  function stateColour(state) {
    return PAGE_STYLE.getPropertyValue("--pin-" + state).trim() || "#555";
  }
  var point = JSON.parse(document.getElementById("pick-point").textContent);
  var ticket = 0;

  function qs(id) { return document.getElementById(id); }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function fmt(text, value) { return interpolate(text, [value]); }

  function say(text) { qs("place-status").textContent = text; }

  /* --- The form's parts that depend on the spot ------------------------------------------ */

  function showQuestions() {
    var select = document.querySelector("#report-form select[name=category]");
    if (!select) { return; }
    var chosen = select.value;
    document.querySelectorAll("#questions .question").forEach(function (q) {
      q.hidden = q.getAttribute("data-category") !== chosen;
    });
    var option = select.options[select.selectedIndex];
    var who = option && option.getAttribute("data-authority");
    if (who) { qs("authority-name").textContent = who; }
  }

  function bindForm() {
    var select = document.querySelector("#report-form select[name=category]");
    if (select) { select.addEventListener("change", showQuestions); showQuestions(); }
  }

  function answers(container) {
    var kept = {};
    container.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) { (kept[el.name] = kept[el.name] || []).push(el.value); }
      } else if (el.type !== "file") {
        kept[el.name] = el.value;
      }
    });
    return kept;
  }

  function restore(container, kept) {
    container.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!(el.name in kept)) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = kept[el.name].indexOf(el.value) !== -1;
      } else if (el.type !== "file") {
        el.value = kept[el.name];
      }
    });
  }

  function setOutside(notice) {
    var old = qs("outside");
    if (old) { old.remove(); }
    var form = qs("report-form");
    var send = form.querySelector("button[type=submit]");
    qs("to-whom").hidden = !!notice;
    qs("category-field").hidden = !!notice;
    send.disabled = !!notice;
    if (notice) { form.parentNode.insertBefore(notice, qs("to-whom")); }
  }

  function takeSpot(fresh) {
    var form = qs("report-form");
    var nearby = qs("nearby");
    if (nearby) { nearby.remove(); }  // those were close to the old spot
    form.elements.confirm_new.value = "";  // so the new spot is checked for nearby reports
    var select = form.elements.category;
    var freshSelect = fresh.querySelector("select[name=category]");
    if (!freshSelect) {
      setOutside(document.importNode(fresh.querySelector("#outside"), true));
      return gettext("The pin is outside the area Fixpoint serves: move it inside to report.");
    }
    setOutside(null);
    var chosen = select.value;
    var chosenName = chosen && select.options[select.selectedIndex].textContent;
    select.innerHTML = freshSelect.innerHTML;
    var stillOffered = Array.prototype.some.call(select.options, function (o) { return o.value === chosen; });
    select.value = stillOffered ? chosen : "";
    var questions = qs("questions");
    var kept = answers(questions);
    questions.innerHTML = fresh.querySelector("#questions").innerHTML;
    restore(questions, kept);
    qs("authority-name").textContent = fresh.querySelector("#authority-name").textContent;
    showQuestions();
    var message = fmt(gettext("Pin placed. Reports here go to %s."), qs("authority-name").textContent);
    return chosen && !stillOffered ? message + " " + fmt(gettext("“%s” is not handled here: choose another category."), chosenName) : message;
  }

  function refreshForm(latlng) {
    var mine = ++ticket;
    var url = CFG.newUrl + "?" + new URLSearchParams({
      latitude: latlng.lat.toFixed(6), longitude: latlng.lng.toFixed(6)
    });
    history.replaceState(null, "", url);  // a reload, or going back, keeps the spot
    fetch(url, { headers: { Accept: "text/html" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (html) {
      if (mine !== ticket) { return; }  // the pin moved again meanwhile
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("new-form");
      var current = qs("new-form");
      if (!qs("report-form")) {
        current.innerHTML = fresh.innerHTML;  // nothing typed yet: take the whole form
        bindForm();
        afterMove(latlng);
        say(qs("report-form") ? fmt(gettext("Pin placed. Reports here go to %s."), qs("authority-name").textContent) : gettext("The pin is outside the area Fixpoint serves: move it inside to report."));
        return;
      }
      say(takeSpot(fresh));
      afterMove(latlng);
    }).catch(function () {
      if (mine !== ticket) { return; }
      // Offline (static/js/offline.js keeps the report): the pin has moved and the position
      // is in the form; the server checks the spot when the report is sent.
      say(!navigator.onLine && qs("report-form")
        ? gettext("You are offline: the pin has moved, and this spot is checked when your report is sent.")
        : gettext("This spot could not be checked just now: try moving the pin again."));
    });
  }

  // The nearest address, only inside the area served (outside, the notice says enough).
  function afterMove(latlng) {
    if (qs("report-form") && !qs("outside")) { showAddress(latlng); } else { qs("pin-address").textContent = ""; }
  }

  function showAddress(latlng) {
    var line = qs("pin-address");
    var params = new URLSearchParams({ lat: latlng.lat.toFixed(6), lon: latlng.lng.toFixed(6) });
    getJSON(CFG.reverseUrl + "?" + params).then(function (found) {
      line.textContent = found.kind === "area" ? "" : fmt(gettext("The pin is near %s."), found.label);
    }).catch(function () { line.textContent = ""; });
  }

  /* --- The map ------------------------------------------------------------------------------ */

  function pin(map) {
    var marker = null;
    // initial: the page was made for this spot already (perhaps with a nearby-reports question)
    return function place(latlng, initial) {
      if (marker) { marker.setLatLng(latlng); } else {
        marker = L.marker(latlng, { draggable: true, keyboard: true, title: gettext("Where the problem is (drag to move)"), alt: gettext("Where the problem is (drag to move)") }).addTo(map);
        marker.on("dragend", function () { moved(marker.getLatLng()); });
      }
      if (!initial) { moved(latlng); } else if (qs("report-form")) { showAddress(latlng); }
    };
    function moved(latlng) {
      var form = qs("report-form");
      if (form) {
        form.elements.latitude.value = latlng.lat.toFixed(6);
        form.elements.longitude.value = latlng.lng.toFixed(6);
      }
      document.querySelectorAll(".coords input[name=latitude]").forEach(function (el) { el.value = latlng.lat.toFixed(6); });
      document.querySelectorAll(".coords input[name=longitude]").forEach(function (el) { el.value = latlng.lng.toFixed(6); });
      refreshForm(latlng);
    }
  }

  function boundaries(map) {
    getJSON(CFG.boundariesUrl).then(function (data) {
      L.geoJSON(data, {
        style: function (f) {
          return { color: f.properties.kind === "council" ? "#0b3d6e" : "#5c6bc0",
            weight: f.properties.kind === "council" ? 3 : 1.5, fillOpacity: 0.03 };
        },
        interactive: false
      }).addTo(map);
    }).catch(function () {});
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  // Reports already made around here, so a person can see theirs is known.
  function nearbyReports(map) {
    var layer = L.layerGroup().addTo(map);
    var mine = 0;
    function refresh() {
      var b = map.getBounds(), n = ++mine;
      var params = new URLSearchParams({
        bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","),
        zoom: map.getZoom(), state: "open"
      });
      getJSON(CFG.reportsUrl + "?" + params).then(function (data) {
        if (n !== mine) { return; }
        var open = window.FixpointPins.clearKeepingOpen(layer);
        (data.features || []).forEach(function (f) {
          if (f.properties.cluster) { return; }  // far out: the pins would say little
          if (f.properties.url === open) { return; }  // still shown, its popup open
          var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
          // radius 11 + a 2 px border: 24x24 CSS px, WCAG 2.5.8's smallest target
          var pin = L.circleMarker(ll, { radius: 11, weight: 2, color: "#fff", fillOpacity: 0.9, bubblingMouseEvents: false,
            fillColor: stateColour(f.properties.state) })
            .bindPopup('<a href="' + escapeHtml(f.properties.url) + '">' + escapeHtml(f.properties.title) + "</a>");
          pin.pinKey = f.properties.url;
          pin.addTo(layer);
        });
      }).catch(function () {});
    }
    map.on("moveend", refresh);
    refresh();
  }

  function keyboardPin(map, place) {
    // The map takes focus (Leaflet: arrow keys pan it); Enter or Space puts the pin in its centre.
    map.getContainer().addEventListener("keydown", function (e) {
      if (e.target !== map.getContainer()) { return; }
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        place(map.getCenter());
      }
    });
  }

  function gpsFromPhoto(onFound) {
    var form = qs("photo-gps");
    form.hidden = false;
    qs("gps-photo").addEventListener("change", function () {
      var file = this.files[0];
      if (!file) { return; }
      var data = new FormData();
      data.append("photo", file);
      var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(CFG.gpsUrl, { method: "POST", body: data,
        headers: csrf ? { "X-CSRFToken": csrf.value } : {} })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          var status = qs("gps-status");
          if (res.latitude === undefined) { status.textContent = gettext("This photo has no location."); return; }
          status.textContent = gettext("Pin placed where the photo was taken.");
          onFound(L.latLng(res.latitude, res.longitude));
        });
    });
  }

  function startView(map) {
    if (point) { return; }
    try {  // where the person was looking on the home map (static/js/map.js)
      var view = JSON.parse(sessionStorage.getItem("fixpoint:view") || "null");
      if (view) { map.setView([view.lat, view.lng], view.zoom); }
    } catch (e) { /* storage off: the city */ }
  }

  function placeSearch(map, place) {
    qs("place-search-form").addEventListener("submit", function (e) { e.preventDefault(); });
    window.FixpointPlaceSearch.attach({
      input: qs("place-search"), list: qs("place-results"), status: qs("place-status"),
      url: CFG.geocodeUrl,
      onChoose: function (o) {
        var ll = L.latLng(o.latitude, o.longitude);
        map.setView(ll, o.kind === "area" ? 15 : 18);
        place(ll);
      }
    });
  }

  // Offline, the service worker answers every spot with the page it kept (made for another
  // spot): the spot asked for is in the address, so the pin and the form take it from there.
  function offlineSpot() {
    if (navigator.onLine) { return; }
    var asked = new URLSearchParams(window.location.search);
    var lat = parseFloat(asked.get("latitude")), lng = parseFloat(asked.get("longitude"));
    if (!isFinite(lat) || !isFinite(lng) || (lat === point[0] && lng === point[1])) { return; }
    point = [lat, lng];
    var form = qs("report-form");
    if (form) {
      form.elements.latitude.value = lat.toFixed(6);
      form.elements.longitude.value = lng.toFixed(6);
    }
  }

  window.fixpointPickMap = function (map) {
    var hasTiles = false;
    map.eachLayer(function (l) { if (l instanceof L.TileLayer) { hasTiles = true; } });
    if (!hasTiles) { map.getContainer().classList.add("no-tiles"); }
    map.getContainer().setAttribute("aria-describedby", "map-hint");
    var place = pin(map);
    startView(map);
    boundaries(map);
    nearbyReports(map);
    if (point) {
      offlineSpot();
      var ll = L.latLng(point[0], point[1]);
      map.setView(ll, Math.max(map.getZoom(), 17));
      place(ll, true);
    }
    map.on("click", function (e) { place(e.latlng); });
    keyboardPin(map, place);
    gpsFromPhoto(function (ll) { map.setView(ll, 18); place(ll); });
    placeSearch(map, place);
    bindForm();
    var summary = qs("error-summary");
    if (summary) { summary.focus(); }
    window.fixpointMap = map;
  };
})();
