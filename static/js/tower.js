/* Behaviour every page shares, declared in data attributes (the
   Content-Security-Policy allows no inline script, no eval, no onclick):

   - data-swap-statuses="403 404" on an htmx target or one of its ancestors:
     a response with one of these statuses is swapped in like a 200 (it
     carries the refusal in words) instead of being dropped as an error.
   - data-check-all="<selector>" on a checkbox: ticking it ticks every box
     the selector finds, unticking it unticks them. */
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

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox][data-check-all]")) { return; }
    document.querySelectorAll(box.dataset.checkAll).forEach(function (other) {
      other.checked = box.checked;
    });
  });
})();
