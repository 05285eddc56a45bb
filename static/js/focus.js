/* After an htmx action a person took (a click or a submit), focus moves to
   its result, so a keyboard or screen-reader user lands where the page
   changed: the element marked data-focus in the swapped content, else the
   swapped content itself (made focusable with tabindex=-1). Swaps that come
   from typing, a changed select or a refresh (casesChanged, polling) leave
   focus where it is. */
(function () {
  "use strict";
  var handled = new WeakSet();

  document.addEventListener("htmx:afterSwap", function (event) {
    var detail = event.detail;
    var trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
    if (!trigger || (trigger.type !== "click" && trigger.type !== "submit")) { return; }
    if (handled.has(detail.xhr)) { return; }  // one swap, several swapped elements: the first wins
    var result = event.target;
    if (!(result instanceof HTMLElement) || !result.isConnected) { return; }
    handled.add(detail.xhr);
    if (result.contains(document.activeElement) && document.activeElement !== result) { return; }
    var marked = result.querySelector("[data-focus]") || result;
    if (!marked.hasAttribute("tabindex") && marked.tabIndex < 0) { marked.setAttribute("tabindex", "-1"); }
    marked.focus();
  });
})();
