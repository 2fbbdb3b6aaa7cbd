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
  // Charts: a tap (or click) on a point, a column or a bar writes its value under the chart,
  // since a touch screen has no hover to show the tooltip.
  document.addEventListener("click", function (event) {
    var svg = event.target.closest && event.target.closest("svg.chart, svg.bars");
    var out = svg && svg.id ? document.querySelector('[data-tap-for="' + svg.id + '"]') : null;
    var mark = out ? event.target.closest("g, circle, rect") : null;
    var title = mark ? (mark.querySelector(":scope > title") ||
      mark.parentNode.querySelector(":scope > title")) : null;
    if (title) { out.textContent = title.textContent; }
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
// Administration, org tree: drag a unit onto another to move it there. Only an enhancement of
// the "Move to…" control beside each unit, which it fills in and submits; SortableJS is loaded
// only on this page.
(function () {
  var tree = document.querySelector("#unit-tree[data-sortable-src]");
  if (!tree) { return; }
  function moved(event) {
    var item = event.item;
    var parent = event.to.closest("li[data-unit]");
    var tools = item.querySelector(".node-tools");
    var select = tools ? tools.querySelector("select[name=new_parent]") : null;
    var target = parent ? parent.getAttribute("data-unit") : "";
    if (event.from === event.to || !select || !target) { location.reload(); return; }
    select.value = target;
    // Not among the offered parents (its own subtree, its current parent): undo the drop.
    if (select.value !== target) { location.reload(); return; }
    select.form.submit();
  }
  function start() {
    if (!window.Sortable) { return; }
    tree.querySelectorAll("li[data-unit]").forEach(function (li) {
      if (!li.querySelector(":scope > ul")) {
        var drop = document.createElement("ul");
        drop.className = "drop";
        drop.setAttribute("aria-hidden", "true");
        li.appendChild(drop);
      }
    });
    [tree].concat(Array.prototype.slice.call(tree.querySelectorAll("ul"))).forEach(function (ul) {
      window.Sortable.create(ul, { group: "units", handle: ".node", draggable: "li",
        fallbackOnBody: true, swapThreshold: 0.65, emptyInsertThreshold: 12, onEnd: moved });
    });
  }
  var script = document.createElement("script");
  script.src = tree.getAttribute("data-sortable-src");
  script.onload = start;
  document.head.appendChild(script);
})();
