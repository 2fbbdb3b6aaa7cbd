// The only script of our own. No inline scripts anywhere (the CSP forbids them): behaviour is
// attached here, and every page works without it (plain links and forms).
"use strict";
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  // htmx requests carry the session's CSRF token in a header.
  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) { event.detail.headers["X-CSRF-Token"] = csrf; }
  });
  // The language switch returns to the page it was used on.
  document.querySelectorAll("input[data-back]").forEach(function (input) {
    input.value = location.pathname + location.search;
  });
  // A request that fails shows the server's message page in place of silence.
  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    if (target && event.detail.xhr && event.detail.xhr.responseText) {
      target.insertAdjacentHTML("afterbegin", '<p class="alert" role="alert"></p>');
      target.firstChild.textContent = event.detail.xhr.status + " " + event.detail.xhr.statusText;
    }
  });
})();
