/* Behaviour every page shares, declared in data attributes (the
   Content-Security-Policy allows no inline script, no eval, no onclick):

   - data-swap-statuses="403 404" on an htmx target or one of its ancestors:
     a response with one of these statuses is swapped in like a 200 (it
     carries the refusal in words) instead of being dropped as an error.
   - data-check-all="<selector>" on a checkbox: ticking it ticks every box
     the selector finds, unticking it unticks them.
   - data-focus on an element of what an htmx action brought back: focus
     goes there. After an action a person took (a click or a submit), focus
     moves to its result, so a keyboard or screen-reader user lands where the
     page changed: the element marked data-focus, else what was swapped in
     (made focusable with tabindex=-1). Swaps from typing, a changed select
     or a refresh (casesChanged, polling) leave focus where it is. */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var holder = event.target.closest("[data-swap-statuses]");
    if (!holder) { return; }
    var statuses = holder.dataset.swapStatuses.split(/\s+/);
    if (statuses.indexOf(String(event.detail.xhr.status)) !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  var focused = new WeakSet();  // the requests whose result took focus: one swap may swap several elements
  document.addEventListener("htmx:afterSwap", function (event) {
    var detail = event.detail;
    var trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
    if (!trigger || (trigger.type !== "click" && trigger.type !== "submit")) { return; }
    var result = event.target;
    if (focused.has(detail.xhr) || !(result instanceof HTMLElement) || !result.isConnected) { return; }
    focused.add(detail.xhr);
    if (result.contains(document.activeElement) && document.activeElement !== result) { return; }
    var target = result.querySelector("[data-focus]") || result;
    if (!target.hasAttribute("tabindex") && target.tabIndex < 0) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox][data-check-all]")) { return; }
    document.querySelectorAll(box.dataset.checkAll).forEach(function (other) {
      other.checked = box.checked;
    });
  });
})();
