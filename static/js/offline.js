/* On the street, on a phone (issue 16). On every page: registers the service worker (/sw.js,
   static/js/service-worker.js), which keeps the filing page on the device. On the filing page:
   a report sent with no connection is kept on the device as a draft (IndexedDB: position,
   category, title, description, answers and photos as Blobs), listed with "Send now" and
   "Discard", and sent when the connection is back, once: each draft carries the
   Idempotency-Key it got when it was kept, so a retry whose first answer was lost files nothing
   more (the server answers the first answer again). */
(function () {
  "use strict";
  var script = document.currentScript;
  var WORKER = script && script.getAttribute("data-worker");
  var SEND_URL = script && script.getAttribute("data-send");
  var DB = "fixpoint-offline", STORE = "drafts";

  if (WORKER && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(WORKER, { scope: "/" }).catch(function () {
      /* no worker (blocked, or not a secure origin): the site works as before, online */
    });
  }

  var panel = document.getElementById("drafts");
  if (!panel || !SEND_URL || !window.indexedDB) { return; }

  function qs(id) { return document.getElementById(id); }
  function fmt(text, values) { return interpolate(text, values); }

  /* --- Keeping drafts (IndexedDB) ------------------------------------------------------------- */

  var opened = null;
  function db() {
    opened = opened || new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "id" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    return opened;
  }

  function store(mode, work) {
    return db().then(function (conn) {
      return new Promise(function (resolve, reject) {
        var tx = conn.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function all() {
    return store("readonly", function (s) { return s.getAll(); }).then(function (drafts) {
      return (drafts || []).sort(function (a, b) { return a.savedAt - b.savedAt; });
    });
  }
  function put(draft) { return store("readwrite", function (s) { s.put(draft); }); }
  function remove(id) { return store("readwrite", function (s) { s["delete"](id); }); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // The form as the person filled it: every field but the CSRF token, photos as Blobs.
  function draftFrom(form) {
    var fields = [], photos = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken") { return; }
      if (typeof value === "string") { fields.push([name, value]); } else if (value.size) {
        photos.push({ name: value.name, type: value.type, blob: value.slice(0, value.size, value.type) });
      }
    });
    var select = form.elements.category;
    var option = select && select.options[select.selectedIndex];
    return {
      id: newKey(), savedAt: Date.now(), fields: fields, photos: photos,
      title: form.elements.title ? form.elements.title.value : "",
      category: option && option.value ? option.textContent.trim() : "",
      errors: []
    };
  }

  /* --- Sending ---------------------------------------------------------------------------------- */

  var sending = {};
  var token = null;

  function pageToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // A page kept from another session carries a stale token: take a fresh one from the site.
  function freshToken() {
    return fetch(window.FIXPOINT.newUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var input = new DOMParser().parseFromString(html, "text/html").querySelector("input[name=csrfmiddlewaretoken]");
        token = input ? input.value : "";
        return token;
      });
  }

  function post(draft, csrf) {
    var body = new FormData();
    draft.fields.forEach(function (f) { body.append(f[0], f[1]); });
    draft.photos.forEach(function (p) { body.append("photos", p.blob, p.name); });
    return fetch(SEND_URL, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Idempotency-Key": draft.id, "X-CSRFToken": csrf, Accept: "application/json" }
    });
  }

  // Resolves to "sent", "refused" or "waiting" (no connection, too soon, server trouble).
  function send(draft) {
    if (sending[draft.id]) { return Promise.resolve("waiting"); }
    sending[draft.id] = true;
    showState(draft.id, gettext("Sending…"));
    return post(draft, token || pageToken()).then(function (r) {
      return r.status === 403 ? freshToken().then(function (t) { return post(draft, t); }) : r;
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (answer) {
        if (r.status === 201) {
          return remove(draft.id).then(function () { announceSent(answer); return "sent"; });
        }
        if (r.status === 400 || r.status === 422) {
          draft.errors = answer.errors || [gettext("The server refused it.")];
          return put(draft).then(function () { return "refused"; });
        }
        return "waiting";
      });
    }).catch(function () { return "waiting"; }).then(function (outcome) {
      delete sending[draft.id];
      return render().then(function () { return outcome; });
    });
  }

  function sendAll() {
    if (!navigator.onLine) { return Promise.resolve(); }
    return all().then(function (drafts) {
      // One at a time, oldest first; refused drafts wait for the person.
      return drafts.filter(function (d) { return !d.errors.length; }).reduce(function (chain, d) {
        return chain.then(function () { return send(d); });
      }, Promise.resolve());
    });
  }

  /* --- What the person sees ------------------------------------------------------------------- */

  function announceSent(answer) {
    var item = document.createElement("li");
    item.textContent = answer.message || gettext("Your report was sent.");
    if (answer.url) {
      item.appendChild(document.createTextNode(" "));
      var link = document.createElement("a");
      link.href = answer.url;
      link.textContent = gettext("See it");
      item.appendChild(link);
    }
    qs("drafts-sent").appendChild(item);
    qs("drafts-sent").hidden = false;
    panel.hidden = false;
  }

  function showState(id, text) {
    var line = document.querySelector('#drafts-list [data-draft="' + id + '"] .draft-state');
    if (line) { line.textContent = text; }
  }

  function button(label, title, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + fmt(gettext("“%s”"), [title]);
    b.appendChild(hidden);
    b.addEventListener("click", onClick);
    return b;
  }

  function describe(draft) {
    var when = new Date(draft.savedAt).toLocaleString(document.documentElement.lang, { dateStyle: "short", timeStyle: "short" });
    var bits = [];
    if (draft.category) { bits.push(draft.category); }
    bits.push(fmt(gettext("kept %s"), [when]));
    if (draft.photos.length) {
      bits.push(fmt(ngettext("%s photo", "%s photos", draft.photos.length), [draft.photos.length]));
    }
    return bits.join(" · ");
  }

  function stateOf(draft) {
    if (draft.errors.length) { return fmt(gettext("Not sent: %s"), [draft.errors.join(" ")]); }
    if (sending[draft.id]) { return gettext("Sending…"); }
    return navigator.onLine ? gettext("Waiting to be sent.") : gettext("Waiting for a connection.");
  }

  function render() {
    return all().then(function (drafts) {
      var list = qs("drafts-list");
      list.innerHTML = "";
      drafts.forEach(function (draft) {
        var title = draft.title || gettext("Untitled report");
        var item = document.createElement("li");
        item.className = "draft";
        item.setAttribute("data-draft", draft.id);
        var name = document.createElement("strong");
        name.textContent = title;
        var meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = describe(draft);
        var state = document.createElement("p");
        state.className = "draft-state" + (draft.errors.length ? " error" : "");
        state.textContent = stateOf(draft);
        var actions = document.createElement("p");
        actions.className = "draft-actions";
        actions.appendChild(button(gettext("Send now"), title, function () {
          draft.errors = [];
          put(draft).then(function () { return send(draft); }).then(function (outcome) {
            if (outcome === "waiting") { say(gettext("Not sent yet: it is kept on this device and sent when the connection is back.")); }
          });
        }));
        actions.appendChild(document.createTextNode(" "));
        actions.appendChild(button(gettext("Discard"), title, function () {
          remove(draft.id).then(render).then(function () { say(fmt(gettext("“%s” was discarded."), [title])); });
        }));
        item.appendChild(name);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(meta);
        item.appendChild(state);
        item.appendChild(actions);
        list.appendChild(item);
      });
      list.hidden = !drafts.length;
      panel.hidden = !drafts.length && qs("drafts-sent").hidden && navigator.onLine;
      qs("offline-note").hidden = navigator.onLine;
    });
  }

  function say(text) { qs("drafts-status").textContent = text; }

  /* --- Keeping a report sent with no connection ----------------------------------------------- */

  function keep(form) {
    var draft = draftFrom(form);
    return put(draft).then(function () {
      ["title", "description"].forEach(function (name) {
        if (form.elements[name]) { form.elements[name].value = ""; }
      });
      form.querySelectorAll("input[type=file]").forEach(function (input) { input.value = ""; });
      return render();
    }).then(function () {
      say(fmt(gettext("“%s” is kept on this device: it is sent when the connection is back."), [draft.title]));
      qs("drafts-heading").focus();
    }).catch(function () {
      say(gettext("This report could not be kept on the device: please send it once you are back online."));
    });
  }

  // Captured on the document: the form may be replaced when the pin moves (report_new.js).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id !== "report-form" || navigator.onLine) { return; }
    e.preventDefault();
    keep(form);
  }, true);

  window.addEventListener("online", function () { render().then(sendAll); });
  window.addEventListener("offline", render);

  render().then(sendAll);
  // For tests and for other scripts: the drafts as kept, and sending one.
  window.FixpointDrafts = { all: all, send: send, sendAll: sendAll };
})();
