/* Fixpoint's service worker (served as /sw.js by reports/offline.py, which writes the line of
   settings above this one). It keeps the filing page and everything it loads, so a citizen on the
   street with no signal can still open the page and write a report; static/js/offline.js keeps the
   report as a draft and sends it when the connection is back. It only ever answers GETs of this
   site: posts, the API and other hosts go to the network untouched.

   - Install: keep the static files, the scripts' translations, the boundaries and the filing page
     (asked at the map's centre, so it holds the form).
   - The filing page: from the network, kept as the newest copy when it holds a form; from the
     copy when the network fails.
   - What was kept at install: from the copy, refreshed from the network behind it. */
/* global self, caches, fetch, URL, Response */
(function () {
  "use strict";
  var CFG = self.FIXPOINT_OFFLINE;
  var CACHE = "fixpoint-offline-" + CFG.version;
  var PAGE = CFG.filing;  // the key the filing page is kept under, whatever its spot
  var KEPT = {};
  CFG.keep.forEach(function (url) { KEPT[new URL(url, self.location.origin).href] = true; });

  self.addEventListener("install", function (event) {
    event.waitUntil(caches.open(CACHE).then(function (cache) {
      return cache.addAll(CFG.keep).then(function () {
        return fetch(CFG.filingPage, { credentials: "same-origin" });
      }).then(function (response) {
        if (response.ok) { return cache.put(PAGE, response); }
      });
    }).then(function () { return self.skipWaiting(); }));
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("fixpoint-offline-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); }));
  });

  function filingPage(request) {
    return fetch(request).then(function (response) {
      var url = new URL(request.url);
      // Only a page made for a spot holds the form worth keeping.
      if (response.ok && url.searchParams.has("latitude")) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { return cache.put(PAGE, copy); });
      }
      return response;
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(PAGE, { ignoreVary: true }); })
        .then(function (kept) { return kept || Response.error(); });
    });
  }

  function keptFirst(request) {
    return caches.open(CACHE).then(function (cache) {
      // ignoreVary: the site varies on the cookie and language, which the worker's copy shares.
      return cache.match(request, { ignoreVary: true }).then(function (kept) {
        var fresh = fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
        if (kept) {
          fresh.catch(function () { /* offline: the copy will do */ });
          return kept;
        }
        return fresh;
      });
    });
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") { return; }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) { return; }
    if (request.mode === "navigate" && url.pathname === PAGE) {
      event.respondWith(filingPage(request));
    } else if (KEPT[url.href]) {
      event.respondWith(keptFirst(request));
    }
  });
})();
