/* The rollout screens' charts, drawn with Plotly (static/js/plotly.min.js)
   from the JSON the page carries: the board's timeline (#timeline-data) and
   the wave page's trends (#trend-data, one per [data-trend] element).
   Every figure is also said in the page's text; the charts only show it. */
(function () {
  "use strict";
  var CONFIG = { displayModeBar: false, responsive: true };
  var INK = "#1f2933", MUTED = "#52606d", ACCENT = "#1d4ed8", DANGER = "#b42318";

  function timeline(element, data) {
    if (!data.waves.length) {
      element.textContent = "No wave has a cutover date yet.";
      element.removeAttribute("role");
      return;
    }
    var day = 86400000;
    var bars = {
      type: "bar", orientation: "h",
      y: data.waves.map(function (w) { return w.wave; }),
      base: data.waves.map(function (w) { return w.start; }),
      x: data.waves.map(function (w) { return w.days * day; }),
      text: data.waves.map(function (w) { return w.text; }),
      hoverinfo: "text", textposition: "none",
      marker: { color: ACCENT }
    };
    var shapes = data.blackouts.map(function (b) {
      return { type: "rect", xref: "x", yref: "paper", x0: b.start, x1: b.end, y0: 0, y1: 1,
               fillcolor: DANGER, opacity: 0.18, line: { width: 0 }, layer: "below" };
    });
    var notes = data.blackouts.map(function (b) {
      return { x: b.start, xref: "x", xanchor: "left", y: 1, yref: "paper", yanchor: "bottom",
               text: "Blackout: " + b.name, showarrow: false, font: { size: 11, color: DANGER } };
    });
    var today = new Date().toISOString().slice(0, 10);
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: today, x1: today, y0: 0, y1: 1,
                  line: { color: INK, width: 1, dash: "dot" } });
    Plotly.newPlot(element, [bars], {
      height: 90 + 40 * data.waves.length,
      margin: { l: 150, r: 20, t: 30, b: 40 },
      xaxis: { type: "date", color: MUTED },
      yaxis: { autorange: "reversed", color: INK, automargin: true },
      shapes: shapes, annotations: notes, showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"
    }, CONFIG);
  }

  function trend(element, data) {
    if (!data) { return; }
    if (data.at.length < 2) {  // one point draws no trend; the table beside says its value
      element.textContent = "One measurement so far.";
      element.removeAttribute("role");
      element.removeAttribute("aria-label");
      return;
    }
    var measured = { type: "scatter", mode: "lines+markers", name: data.label, x: data.at, y: data.value,
                     line: { color: ACCENT, width: 2 }, marker: { size: 4 }, connectgaps: false };
    var threshold = { type: "scatter", mode: "lines", name: "threshold", x: data.at, y: data.threshold,
                      line: { color: DANGER, width: 1, dash: "dash" }, hoverinfo: "skip" };
    Plotly.newPlot(element, [measured, threshold], {
      height: 90, margin: { l: 34, r: 6, t: 6, b: 22 }, showlegend: false,
      xaxis: { type: "date", tickfont: { size: 9 }, nticks: 3, color: MUTED },
      yaxis: { tickfont: { size: 9 }, nticks: 3, color: MUTED },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"
    }, CONFIG);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Plotly) { return; }
    var timelineData = document.getElementById("timeline-data");
    var timelineElement = document.getElementById("rollout-timeline");
    if (timelineData && timelineElement) { timeline(timelineElement, JSON.parse(timelineData.textContent)); }
    var trendData = document.getElementById("trend-data");
    if (trendData) {
      var trends = JSON.parse(trendData.textContent);
      document.querySelectorAll("[data-trend]").forEach(function (element) {
        trend(element, trends[element.getAttribute("data-trend")]);
      });
    }
  });
})();
