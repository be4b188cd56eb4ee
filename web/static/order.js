// The order page: while the order is being validated, fetch its status block every two seconds
// and put it in place, until the status is final. Without JavaScript a <noscript> refresh does it.
(function () {
  "use strict";
  function poll() {
    var live = document.getElementById("order-live");
    var url = live && live.getAttribute("data-poll");
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html) {
          var next = new DOMParser().parseFromString(html, "text/html").getElementById("order-live");
          if (next) live.replaceWith(document.adoptNode(next));
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
