/* Draws the figures the server built (controltower.dashboards): every
   element with data-figure holds a Plotly figure as JSON. A figure is drawn
   when it comes near the viewport, and Plotly (the 1.2 MB basic bundle named
   by this script's data-plotly) is fetched only then, once: a page whose
   charts are below the fold or behind a closed disclosure shows its words
   first. Fragments swapped in by htmx bring their charts with them. A bar carrying a link (customdata)
   opens it when clicked. */
(function () {
  "use strict";
  var CONFIG = { displayModeBar: false, responsive: true };
  var bundle = document.currentScript.dataset.plotly;
  var plotly = null;

  function loadPlotly() {
    if (!plotly) {
      plotly = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = bundle;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return plotly;
  }

  function draw(element) {
    loadPlotly().then(function () {
      var figure = JSON.parse(element.dataset.figure);
      Plotly.newPlot(element, figure.data, figure.layout, CONFIG);
      // A bar whose trace names links (customdata: a Pareto's bars) opens the records behind it;
      // the table under the figure has the same links for the keyboard.
      element.on("plotly_click", function (event) {
        var link = event.points[0] && event.points[0].customdata;
        if (typeof link === "string" && link.charAt(0) === "/") { window.location.href = link; }
      });
      element.dataset.drawn = "1";
    });
  }

  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) {
        observer.unobserve(entry.target);
        draw(entry.target);
      }
    });
  }, { rootMargin: "200px 0px" });

  function watch(root) {
    root.querySelectorAll("[data-figure]").forEach(function (element) {
      if (element.dataset.watched) { return; }
      element.dataset.watched = "1";
      observer.observe(element);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { watch(document); });
  document.addEventListener("htmx:afterSettle", function (event) { watch(event.target); });
})();
