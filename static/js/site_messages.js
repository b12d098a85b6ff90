/* Dismissing a site message hides it at once; the form (which works without this) records the
   dismissal in a cookie, so it stays hidden on the next pages. */
(function () {
  "use strict";
  document.querySelectorAll(".site-message-dismiss").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var banner = form.closest(".site-message");
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" } });
      if (banner) { banner.remove(); }
    });
  });
})();
