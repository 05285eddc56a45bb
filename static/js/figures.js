/* Draws the figures the server built (controltower.dashboards): every
   element with data-figure holds a Plotly figure as JSON. Runs on load and
   after each htmx swap, so fragments bring their charts with them. */
(function () {
  "use strict";
  var CONFIG = { displayModeBar: false, responsive: true };

  function draw(root) {
    root.querySelectorAll("[data-figure]").forEach(function (element) {
      if (element.dataset.drawn) { return; }
      var figure = JSON.parse(element.dataset.figure);
      element.dataset.drawn = "1";
      Plotly.newPlot(element, figure.data, figure.layout, CONFIG);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
