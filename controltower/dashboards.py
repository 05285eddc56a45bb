"""What every dashboard is made of, read from the KPI rollups (never raw events):
KPI tiles (value, target, status in words, definition, a link to the records),
trend figures built on the server with Plotly (drawn by static/js/figures.js
from plotly.js in static/), and CSV exports of the tables.

Charts are readable without colour: each line has its own dash and marker
and its name at its last point; targets are labelled lines; every figure
has a text summary for screen readers, and the numbers are in a table.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.utils import timezone

from . import metrics, rollups, when

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross")
INK, MUTED = "#1f2933", "#52606d"
LINE_COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0f766e")


@dataclass
class Tile:
    """One measured number as a screen shows it: the value, when it was
    measured, what it covers, the target it is read against, the records
    behind it. From a rollup row (`of_row`) or measured now (`live`)."""

    metric: metrics.Metric
    value: object = None  # None: no data
    sample: int = 0
    records_url: str = ""
    measured_at: object = None  # when the value was measured (a rollup's computed_at, or now)
    covers: object = None  # the rollup day the value is of; None for a live value
    day: object = None  # the day the page shows (the row may be from before: see tiles())
    target: object = None  # a target other than the metric's (a wave's gate criterion), else None
    detail: dict = field(default_factory=dict)
    scope: str = ""  # what it measures, as "dimension:member" (the tiles' data-scope, for tests and scripts)

    @classmethod
    def of_row(cls, metric, row, day=None, target=None):
        if row is None:
            return cls(metric, day=day, target=target)
        return cls(metric, row.value, row.sample, row.records_url, row.computed_at, row.day, day, target,
                   row.detail or {})

    @classmethod
    def live(cls, metric, reading, measured_at, target=None):
        return cls(metric, reading.value, reading.sample, reading.records_url, measured_at, None, None, target,
                   reading.detail)

    @property
    def text(self):
        return self.metric.format(self.value)

    @property
    def status(self):
        return self.metric.status(self.value, self.target)

    @property
    def target_text(self):
        return self.metric.target_text_of(self.target)

    @property
    def period(self):
        """What the value covers, in words, when it is not simply the page's day or now."""
        if self.value is None or self.covers is None:
            return ""
        earlier = " (no data since)" if self.day and self.covers != self.day else ""
        if self.metric.rollup_days > 1:
            return f"The {self.metric.rollup_days} days to {when.day(self.covers)}{earlier}"
        return f"On {when.day(self.covers)}{earlier}" if earlier else ""

    @property
    def as_of(self):
        """When the value was measured, in words: "now (06 Dec 2026 05:47 UTC)" or "as of ..."."""
        if self.measured_at is None:
            return ""
        if self.covers is None:
            return f"Live: counted {when.when(self.measured_at)}"
        return f"As of {when.when(self.measured_at)}"


def live_tiles(metric_keys, groups, targets=None, now=None) -> dict:
    """{(metric key, dimension, member): Tile} of the live metrics among `metric_keys` (Metric.live:
    a count of the state now, such as the open cases) for the members of several rollup dimensions,
    `groups` [(dimension, members)]: each measured once for all of them (a wave's tile and its
    360 stores' ranking read the same cases in one pass), as of `now`."""
    targets = targets or {}
    now = now or timezone.now()
    live = [key for key in metric_keys if metrics.get(key).live]
    scoped = []
    for name, members in groups if live else ():
        scopes = rollups.dimension(name).members()
        scoped += [(name, member, scopes[member]) for member in members if member in scopes]
    found = {}
    window = metrics.Window(since=None, until=now)
    measured = metrics.measure_together(live, [scope for _name, _member, scope in scoped], window) if scoped else {}
    for key, readings in measured.items():
        metric = metrics.get(key)
        for (name, member, _scope), reading in zip(scoped, readings, strict=True):
            found[(key, name, member)] = Tile.live(metric, reading, now, targets.get(key))
    return found


def measured(metric_keys, dimension, members, day, targets=None, now=None, live=None) -> dict:
    """{(metric key, member): Tile} for members of a rollup dimension: the one
    read of a measured number for every tile, table cell and ranking.

    A live metric (Metric.live: a count of the state now, such as the open
    cases) is measured when the page is drawn, so it agrees with the lists of
    the same page (`live`: the page's `live_tiles`, when it measured them for
    this dimension already); the others read their rollup of `day` (the latest
    rolled up), or their latest value of the week before, saying which day
    (rollups.latest). `targets`: {metric key: target} replacing the metrics'
    own (a wave's gate criteria)."""
    targets = targets or {}
    members = list(members)
    if live is None:
        live = live_tiles(metric_keys, [(dimension, members)], targets, now)
    rolled = [key for key in metric_keys if not metrics.get(key).live]
    rows = rollups.latest(rolled, dimension, members, day) if day and rolled and members else {}
    found = {}
    for key in metric_keys:
        metric = metrics.get(key)
        for member in members:
            tile = live.get((key, dimension, member)) or Tile.of_row(metric, rows.get((key, member)), day,
                                                                    targets.get(key))
            tile.scope = f"{dimension}:{member}"
            found[(key, member)] = tile
    return found


def tiles(metric_keys, dimension, member, day, targets=None, now=None, live=None) -> list[Tile]:
    """One tile per metric for one member of a rollup dimension (see `measured`)."""
    found = measured(metric_keys, dimension, [member], day, targets, now, live)
    return [found[(key, member)] for key in metric_keys]


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


def trend_summary(metric, rows, target=None):
    """The figure in words (its aria-label): first and last day with data, and the target (`target`:
    one replacing the metric's, such as a wave's gate criterion)."""
    known = [row for row in rows if row.value is not None]
    if not known:
        return f"{metric.label}: no data in this period."
    first, last = known[0], known[-1]
    return (f"{metric.label}{_each_day(metric)} from {metric.format(first.value)} on {when.day(first.day)} "
            f"to {metric.format(last.value)} on {when.day(last.day)}; target {metric.target_text_of(target)}.")
