/* Place search: an accessible combobox (WAI-ARIA 1.2, list autocomplete) that suggests
   addresses, streets, places and areas from /api/v1/geocode as the person types.

   FixpointPlaceSearch.attach({input, list, status, url, onChoose, extra}):
   - input: <input role="combobox">; list: <ul role="listbox">; status: a polite live region;
   - onChoose(option): called with {label, latitude, longitude, kind} (or an extra option);
   - extra(q): optional, a promise of more options (e.g. reports whose text matches), each
     {label, detail, latitude, longitude, kind, url}.
   Arrow keys move through the options, Enter chooses, Escape closes; choosing closes the list.
   Places outside the served area are listed, unselectable, with the reason. */
(function () {
  "use strict";
  var DELAY_MS = 200;
  var counter = 0;

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function attach(opts) {
    var input = opts.input, list = opts.list, status = opts.status;
    var KINDS = { address: gettext("Address"), street: gettext("Street"), place: gettext("Place"),
      area: gettext("Area") };
    var options = [], active = -1, timer = null, ticket = 0, prefix = "ps" + (++counter);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    list.setAttribute("role", "listbox");
    list.hidden = true;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      if (!items.length) { return; }
      active = (index + items.length) % items.length;
      items.forEach(function (el, i) { el.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function choose(index) {
      var option = options[index];
      if (!option || option.disabled) { return; }
      input.value = option.label;
      close();
      status.textContent = "";
      opts.onChoose(option);
    }

    function render(found) {
      options = found;
      list.innerHTML = "";
      var selectable = 0;
      found.forEach(function (o, i) {
        var li = document.createElement("li");
        li.id = prefix + "-" + i;
        if (o.disabled) {
          li.className = "option-outside";
          li.setAttribute("aria-disabled", "true");
        } else {
          selectable += 1;
        }
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var label = document.createElement("span");
        label.className = "option-label";
        label.textContent = o.label;
        li.appendChild(label);
        if (o.detail) {
          var detail = document.createElement("span");
          detail.className = "option-detail";
          detail.textContent = o.detail;
          li.appendChild(detail);
        }
        // mousedown, not click: the input keeps focus, so the list is not closed by blur first.
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "option-none";
        none.textContent = gettext("Nothing found. Try a street name, a place or a postcode.");
        list.appendChild(none);
      }
      open();
      status.textContent = found.length ? interpolate(ngettext(
        "%s suggestion: use the arrow keys and Enter to choose it.",
        "%s suggestions: use the arrow keys and Enter to choose one.", selectable), [selectable]) :
        gettext("Nothing found. Try a street name, a place or a postcode.");
    }

    function fromGeocode(data) {
      var found = (data.results || []).map(function (r) {
        return { label: r.label, latitude: r.latitude, longitude: r.longitude, kind: r.kind,
          detail: KINDS[r.kind] || "" };
      });
      (data.outside || []).forEach(function (o) {
        found.push({ label: o.label, latitude: o.latitude, longitude: o.longitude, kind: o.kind,
          detail: o.message, disabled: true });
      });
      return found;
    }

    function run() {
      var q = input.value.trim();
      if (q.length < 2) { close(); status.textContent = ""; return; }
      var mine = ++ticket;
      var asks = [getJSON(opts.url + "?limit=8&q=" + encodeURIComponent(q)).then(fromGeocode)];
      if (opts.extra) { asks.push(opts.extra(q).catch(function () { return []; })); }
      Promise.all(asks).then(function (parts) {
        if (mine !== ticket) { return; }  // an older answer arriving late
        var found = parts[0].concat(parts[1] || []);
        // Places inside the served area first, then extra options, then places outside.
        found.sort(function (a, b) { return (a.disabled ? 1 : 0) - (b.disabled ? 1 : 0); });
        render(found);
      }).catch(function () {
        if (mine === ticket) {
          status.textContent = gettext("The search is not available just now: move the map by hand.");
        }
      });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, DELAY_MS);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden) { if (options.length) { open(); } else { run(); return; } }
        highlight(active + (e.key === "ArrowDown" ? 1 : -1));
      } else if (e.key === "Enter") {
        e.preventDefault();  // never submits the surrounding form
        if (!list.hidden && active >= 0) { choose(active); return; }
        clearTimeout(timer);
        var first = options.findIndex(function (o) { return !o.disabled; });
        if (!list.hidden && first >= 0) { choose(first); } else { run(); }
      } else if (e.key === "Escape") {
        if (!list.hidden) { e.preventDefault(); close(); } else { input.value = ""; }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    return { close: close, run: run };
  }

  window.FixpointPlaceSearch = { attach: attach };
})();
