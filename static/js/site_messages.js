/* Dismissing a site message hides it at once; the form (which works without this) records the
   dismissal in a cookie, so it stays hidden on the next pages. The banner leaves the page only
   once the server has answered (the cookie is set), and the request outlives a page left at once
   (keepalive): otherwise a quick reload or click on a link beat the cookie and it came back. */
(function () {
  "use strict";
  document.querySelectorAll(".site-message-dismiss").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var banner = form.closest(".site-message");
      if (banner) { banner.hidden = true; }
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
        keepalive: true, headers: { "X-Requested-With": "fetch" } })
        .catch(function () { /* offline: it shows again on the next page, nothing is lost */ })
        .finally(function () { if (banner) { banner.remove(); } });
    });
  });
})();
