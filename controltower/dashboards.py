"""What every dashboard is made of, read from the KPI rollups (never raw events):
KPI tiles (value, target, status in words, definition, a link to the records),
trend figures built on the server with Plotly (drawn by static/js/figures.js
from plotly.js in static/), and CSV exports of the tables.

Charts are readable without colour: each line has its own dash and marker
and its name at its last point; targets are labelled lines; every figure
has a text summary for screen readers, and the numbers are in a table.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import timedelta

from django.http import StreamingHttpResponse

from . import metrics
from .csvsafe import safe_row
from .models import KpiDay

# How far back a tile looks for a KPI's latest value when its day has none.
LOOK_BACK_DAYS = 7

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross")
INK, MUTED = "#1f2933", "#52606d"
LINE_COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0f766e")


@dataclass
class Tile:
    metric: metrics.Metric
    row: KpiDay | None  # None: nothing rolled up for this member and day
    day: object = None  # the day the page shows (the row may be the day before: see tiles())

    @property
    def value(self):
        return None if self.row is None else self.row.value

    @property
    def text(self):
        return self.metric.format(self.value)

    @property
    def status(self):
        return self.metric.status(self.value)

    @property
    def sample(self):
        return 0 if self.row is None else self.row.sample

    @property
    def records_url(self):
        return "" if self.row is None else self.row.records_url

    @property
    def period(self):
        """What the value covers, in words, when it is not simply the page's day."""
        if self.row is None:
            return ""
        earlier = " (no data since)" if self.day and self.row.day != self.day else ""
        if self.metric.rollup_days > 1:
            return f"The {self.metric.rollup_days} days to {self.row.day:%d %b}{earlier}"
        return f"On {self.row.day:%d %b}{earlier}" if earlier else ""


def tiles(metric_keys, dimension, member, day) -> list[Tile]:
    """One tile per metric for one member of a rollup dimension on `day` (the
    latest rolled up, usually today, still going); a metric with no data on
    it shows its latest value of the week before, saying which day (early in
    the day most flows have not happened yet; a store counts every few days)."""
    if not day:
        return [Tile(metrics.get(key), None) for key in metric_keys]
    # The day and the week before in one read, latest first.
    recent = {}
    for row in KpiDay.objects.filter(metric__in=metric_keys, dimension=dimension, member=member,
                                     day__gte=day - timedelta(days=LOOK_BACK_DAYS), day__lte=day).order_by("-day"):
        recent.setdefault(row.metric, []).append(row)
    chosen = []
    for key in metric_keys:
        rows = recent.get(key, [])
        row = rows[0] if rows and rows[0].day == day else None
        if row is None or row.value is None:
            row = next((earlier for earlier in rows if earlier.value is not None), row)
        chosen.append(Tile(metrics.get(key), row, day))
    return chosen


def trend_figure(metric, lines, *, marks=(), targets=(), title=""):
    """A Plotly figure (as JSON) of daily values.

    lines: [(name, [KpiDay, ...])]; marks: [(date, label)] vertical markers
    (a go-live); targets: [(value, label)] horizontal lines (the metric's
    target, a gate's exit criterion). Days with no data are gaps, never 0.

    Written as Plotly's figure schema directly: plotly.graph_objects
    validates every property (about 0.1 s a figure), and a dashboard draws
    dozens. tests/controltower/test_dashboards.py loads the result into
    plotly.graph_objects.Figure, so the schema is still checked.
    """
    known = [float(row.value) for _, rows in lines for row in rows if row.value is not None]
    known += [float(value) for value, _ in targets]
    axis_title, divisor = _axis(metric, max(known, default=0))
    data, shapes, annotations = [], [], []
    for n, (name, rows) in enumerate(lines):
        data.append({
            "type": "scatter", "name": name, "mode": "lines+markers", "connectgaps": False,
            "x": [row.day.isoformat() for row in rows],
            "y": [None if row.value is None else float(row.value) / divisor for row in rows],
            "line": {"dash": DASHES[n % len(DASHES)], "color": LINE_COLOURS[n % len(LINE_COLOURS)], "width": 2},
            "marker": {"symbol": SYMBOLS[n % len(SYMBOLS)], "size": 6},
            "hovertemplate": "%{x}: %{y}<extra>" + name + "</extra>",
        })
        last = next((row for row in reversed(rows) if row.value is not None), None)
        if last is not None and len(lines) > 1:
            annotations.append({"x": last.day.isoformat(), "y": float(last.value) / divisor, "text": name,
                                "showarrow": False, "xanchor": "left", "xshift": 6,
                                "font": {"size": 11, "color": INK}})
    # Targets are dashed lines named in the legend under the plot: a label
    # inside the plot lands on the data wherever the data sits at the target.
    days = [row.day.isoformat() for _, rows in lines[:1] for row in rows]
    for value, label in targets:
        y = float(value) / divisor
        data.append({"type": "scatter", "name": label, "mode": "lines", "x": [days[0], days[-1]] if days else [],
                     "y": [y, y] if days else [], "line": {"dash": "dash", "color": INK, "width": 1},
                     "hoverinfo": "skip"})
    # The go-live's label above the plot area, clear of the data.
    for day, label in marks:
        shapes.append({"type": "line", "xref": "x", "x0": day.isoformat(), "x1": day.isoformat(),
                       "yref": "paper", "y0": 0, "y1": 1, "line": {"dash": "dot", "color": MUTED, "width": 1}})
        annotations.append({"x": day.isoformat(), "y": 1, "yref": "paper", "yanchor": "bottom", "xanchor": "left",
                            "text": label, "showarrow": False, "font": {"size": 11, "color": MUTED}})
    layout = {
        "height": 280, "margin": {"l": 60, "r": 90, "t": 50 if title else 30, "b": 40},
        "showlegend": len(lines) > 1 or bool(targets), "legend": {"orientation": "h", "y": -0.2},
        "yaxis": {"title": {"text": axis_title}, "rangemode": "tozero", "color": MUTED},
        "xaxis": {"type": "date", "color": MUTED}, "plot_bgcolor": "white", "paper_bgcolor": "white",
        "font": {"color": INK}, "shapes": shapes, "annotations": annotations,
    }
    if title:
        layout["title"] = {"text": title + _each_day(metric), "font": {"size": 14}}
    return json.dumps({"data": data, "layout": layout}, separators=(",", ":"))


def _each_day(metric):
    """What a trailing metric's daily point covers, for a figure's title and summary."""
    return f" (each day: the {metric.rollup_days} days to it)" if metric.rollup_days > 1 else ""


def _axis(metric, largest):
    """The y axis' title and the divisor of the values: durations in the unit
    a person reads them in (as Metric.format does), the rest as they are."""
    if metric.unit == metrics.Unit.SECONDS:
        for name, seconds in (("days", 86400), ("hours", 3600), ("minutes", 60)):
            if largest >= 2 * seconds:
                return name, seconds
        return "seconds", 1
    return {metrics.Unit.PERCENT: "%", metrics.Unit.DAYS: "days", metrics.Unit.SCORE: "score",
            metrics.Unit.COUNT: "count", metrics.Unit.VALUE: "value at cost"}.get(metric.unit, ""), 1


def trend_summary(metric, rows):
    """The figure in words (its aria-label): first and last day with data."""
    known = [row for row in rows if row.value is not None]
    if not known:
        return f"{metric.label}: no data in this period."
    first, last = known[0], known[-1]
    return (f"{metric.label}{_each_day(metric)} from {metric.format(first.value)} on {first.day:%d %b} "
            f"to {metric.format(last.value)} on {last.day:%d %b}; target {metric.target_text}.")


class _Echo:
    def write(self, value):
        return value


def csv_response(filename, header, rows):
    """A CSV download of a dashboard table (cells made safe for spreadsheets)."""
    writer = csv.writer(_Echo())
    lines = (writer.writerow(safe_row(row)) for row in [header, *rows])
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
