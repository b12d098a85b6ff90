/* Fixpoint home map: reports for the visible viewport (clusters far out), filters, list, search,
   "use my location", and click-to-report. Works without tiles: nothing here needs a base map. */
(function () {
  "use strict";
  var CFG = window.FIXPOINT;
  // Pin colours come from the stylesheet (--pin-<state>), where the legend reads them too.
  var PAGE_STYLE = window.getComputedStyle(document.documentElement);
  function stateColour(state) {
    return PAGE_STYLE.getPropertyValue("--pin-" + state).trim() || "#555";
  }

  function qs(id) { return document.getElementById(id); }

  function filterParams() {
    var form = qs("map-filters");
    var params = new URLSearchParams();
    var category = form.elements.category.value;
    var state = form.querySelector("input[name=state]:checked").value;
    var age = form.elements.age.value;
    if (category) { params.set("category", category); }
    if (state) { params.set("state", state); }
    if (age) { params.set("age", age); }
    return params;
  }

  function bboxParam(map) {
    var b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (v) { return v.toFixed(6); }).join(",");
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function clusterIcon(count) {
    var size = count < 10 ? 30 : count < 100 ? 36 : count < 1000 ? 44 : 52;
    return L.divIcon({
      className: "cluster-icon", iconSize: [size, size],
      html: "<span>" + (count >= 10000 ? Math.round(count / 1000) + "k" : count) + "</span>"
    });
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function drawReports(map, layer, data) {
    var open = window.FixpointPins.clearKeepingOpen(layer);
    (data.features || []).forEach(function (f) {
      var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      var p = f.properties;
      if (p.cluster) {
        var m = L.marker(ll, { icon: clusterIcon(p.count), keyboard: true,
          title: interpolate(ngettext("%s report", "%s reports", p.count), [p.count]) });
        m.on("click", function () { map.setView(ll, Math.min(map.getZoom() + 2, 19)); });
        layer.addLayer(m);
      } else if (p.url !== open) {
        // a 24 px circle inside a 2 px border: WCAG 2.5.8 asks 24x24 CSS px at least
        var pin = L.circleMarker(ll, { radius: 12, weight: 2, color: "#fff", fillOpacity: 0.95,
          fillColor: stateColour(p.state) });
        var here = CFG.newUrl + "?latitude=" + ll[0].toFixed(6) + "&longitude=" + ll[1].toFixed(6);
        pin.bindPopup('<a href="' + escapeHtml(p.url) + '">' + escapeHtml(p.title) + "</a><br>" +
          escapeHtml(p.state_label || p.state) + '<br><a href="' + escapeHtml(here) + '">' +
          escapeHtml(gettext("Report a problem here")) + "</a>");
        pin.feature = f;
        pin.pinKey = p.url;
        layer.addLayer(pin);
      }
    });
  }

  function drawList(data) {
    var list = qs("report-list");
    list.innerHTML = "";
    (data.reports || []).forEach(function (r) {
      var li = document.createElement("li");
      li.innerHTML = '<a href="' + escapeHtml(r.url) + '">' + escapeHtml(r.title) + "</a> " +
        '<span class="state state-' + escapeHtml(r.state) + '">' + escapeHtml(r.state_label) +
        "</span> " + '<span class="meta">' + escapeHtml(r.category) + " · " +
        '<time datetime="' + escapeHtml(r.created) + '">' + escapeHtml(r.created_label) + "</time></span>";
      list.appendChild(li);
    });
    qs("list-status").textContent = data.reports && data.reports.length ?
      interpolate(gettext("Showing %(shown)s of %(total)s"), { shown: data.reports.length, total: data.total }, true) :
      gettext("No reports in this part of the map.");
  }

  function refresher(map, layer) {
    var pending = 0;
    return function refresh() {
      var ticket = ++pending;
      var params = filterParams();
      params.set("bbox", bboxParam(map));
      params.set("zoom", map.getZoom());
      getJSON(CFG.reportsUrl + "?" + params).then(function (data) {
        if (ticket === pending) { drawReports(map, layer, data); }
      }).catch(function () { /* keep what is shown; the next move retries */ });
      var c = map.getCenter();
      params.set("sort", qs("list-sort").value);
      params.set("lat", c.lat.toFixed(6));
      params.set("lon", c.lng.toFixed(6));
      getJSON(CFG.listUrl + "?" + params).then(function (data) {
        if (ticket === pending) { drawList(data); }
      }).catch(function () { /* idem */ });
    };
  }

  function addBoundaries(map) {
    getJSON(CFG.boundariesUrl).then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          return { color: f.properties.kind === "council" ? "#0b3d6e" : "#5c6bc0",
            weight: f.properties.kind === "council" ? 3 : 1.5, fillOpacity: 0.03 };
        },
        interactive: false
      }).addTo(map);
      L.control.layers(null, (function () { var o = {}; o[gettext("Boundaries")] = layer; return o; })(),
        { collapsed: false }).addTo(map);
    }).catch(function () {});
  }

  function reportHere(map) {
    var marker = null;
    map.on("click", function (e) { place(e.latlng); });
    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); } else {
        marker = L.marker(latlng, { draggable: true, title: gettext("Report a problem here") }).addTo(map);
        marker.on("dragend", function () { popup(marker.getLatLng()); });
      }
      popup(latlng);
    }
    function popup(latlng) {
      var url = CFG.newUrl + "?latitude=" + latlng.lat.toFixed(6) + "&longitude=" + latlng.lng.toFixed(6);
      marker.bindPopup('<a class="button" id="report-here" href="' + url + '">' +
        escapeHtml(gettext("Report a problem here")) + "</a>").openPopup();
    }
    return place;
  }

  function search(map, place) {
    var box = qs("search-box");
    box.form.addEventListener("submit", function (e) { e.preventDefault(); });
    window.FixpointPlaceSearch.attach({
      input: box, list: qs("search-results"), status: qs("search-status"), url: CFG.geocodeUrl,
      extra: function (q) {  // categories and reports whose text matches, after the places
        return getJSON(CFG.searchUrl + "?q=" + encodeURIComponent(q)).then(function (data) {
          var found = (data.categories || []).map(function (c) {
            return { label: interpolate(gettext("Show the category: %s"), [c.name]), kind: "category",
              slug: c.slug };
          });
          return found.concat((data.reports || []).slice(0, 5).map(function (r) {
            return { label: r.title, detail: gettext("Report") + " · " + r.state,
              latitude: r.lat, longitude: r.lon, kind: "report", url: r.url };
          }));
        });
      },
      onChoose: function (o) {
        if (o.kind === "category") {
          var select = qs("filter-category");
          select.value = o.slug;
          select.dispatchEvent(new Event("change", { bubbles: true }));
          return;
        }
        var ll = L.latLng(o.latitude, o.longitude);
        if (o.kind === "area") { map.setView(ll, 15); return; }
        map.setView(ll, 18);
        if (o.kind !== "report") { place(ll); }  // offer "Report a problem here" at once
      }
    });
  }

  // The filing page opens where the person was looking (static/js/report_new.js reads it).
  function rememberView(map) {
    try {
      var c = map.getCenter();
      sessionStorage.setItem("fixpoint:view", JSON.stringify({ lat: c.lat, lng: c.lng, zoom: map.getZoom() }));
    } catch (e) { /* storage off: the filing page opens on the city */ }
  }

  function locateMe(map, place) {
    qs("locate-me").addEventListener("click", function () {
      var hint = qs("map-hint");
      if (!navigator.geolocation) { hint.textContent = gettext("Your location is not available."); return; }
      hint.textContent = gettext("Finding your location…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
        map.setView(ll, 17);
        place(ll);
        hint.textContent = "";
      }, function () { hint.textContent = gettext("Your location is not available."); }, { timeout: 10000 });
    });
  }

  window.fixpointHomeMap = function (map) {
    var hasTiles = false;
    map.eachLayer(function (l) { if (l instanceof L.TileLayer) { hasTiles = true; } });
    if (!hasTiles) { map.getContainer().classList.add("no-tiles"); }
    var layer = L.layerGroup().addTo(map);
    var refresh = refresher(map, layer);
    addBoundaries(map);
    var place = reportHere(map);
    search(map, place);
    locateMe(map, place);
    map.on("moveend", refresh);
    map.on("moveend", function () { rememberView(map); });
    var form = qs("map-filters");
    form.addEventListener("change", refresh);
    qs("list-sort").addEventListener("change", refresh);
    qs("hide-fixed").addEventListener("click", function () {
      var pressed = this.getAttribute("aria-pressed") !== "true";
      this.setAttribute("aria-pressed", pressed ? "true" : "false");
      form.querySelector("input[name=state][value=" + (pressed ? "open" : "all") + "]").checked = true;
      refresh();
    });
    window.fixpointMap = map;  // for tests and for people poking at the page
    refresh();
  };
})();
