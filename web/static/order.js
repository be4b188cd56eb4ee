// The order page: while the order is being validated, fetch its status block every two seconds
// and put its content in place (the block is an aria-live region, so screen readers hear the
// change), until the status settles. Without JavaScript a <noscript> refresh does it.
(function () {
  "use strict";
  function poll() {
    var live = document.getElementById("order-live");
    var url = live && live.getAttribute("data-poll");
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var next = html && new DOMParser().parseFromString(html, "text/html").getElementById("order-live");
        if (!next) return;
        live.innerHTML = next.innerHTML;
        ["data-poll", "aria-busy"].forEach(function (name) {
          if (next.hasAttribute(name)) live.setAttribute(name, next.getAttribute(name));
          else live.removeAttribute(name);
        });
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
