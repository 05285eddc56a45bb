"""Root causes, so the next wave learns: the resolved cases at some stores
counted by root cause, by kind or by category, largest first with the
cumulative share (a Pareto), and week by week.

The cases counted are those resolved (or closed) with a root cause: a
person chose one from RootCause when resolving it (the system's own
resolutions, a condition cleared, name none). Each count links to the case
list showing exactly those cases (status=done, root_cause, resolved_until
the time the counts are as of), so the page and the list agree.

The category is a reported issue's (exceptions.services.reported), read
from the case's details when it has one; the other kinds have none and are
left out of that Pareto only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.urls import reverse

from controltower.metrics import records_url, share

from .detectors import kind_choices
from .models import Case, RootCause
from .services.reported import KIND as REPORTED

ANY_ROOT_CAUSE = "any"  # the case list's root_cause filter: any recorded root cause
TREND_WEEKS = 8
BAR_COLOUR, LINE_COLOUR, INK, MUTED = "#1d4ed8", "#b45309", "#1f2937", "#4b5563"


@dataclass(frozen=True)
class Dimension:
    name: str  # as in a URL: root_cause, kind, category
    label: str  # "Root cause"
    field: str  # the case's field it is read from
    list_filter: str  # the case list's filter naming one of its values

    def labels(self):
        """{value: words}; a category is kept in words already."""
        if self.name == "root_cause":
            return dict(RootCause.choices)
        if self.name == "kind":
            return dict(kind_choices())
        return {}


DIMENSIONS = {
    "root_cause": Dimension("root_cause", "Root cause", "root_cause", "root_cause"),
    "kind": Dimension("kind", "Kind", "kind", "kind"),
    "category": Dimension("category", "Category", "details__category", "category"),
}


def with_root_cause(cases):
    """The resolved or closed cases of `cases` whose resolution named a root cause."""
    return cases.filter(status__in=Case.DONE).exclude(root_cause="")


@dataclass
class Bar:
    value: str
    label: str
    count: int
    share: object  # Decimal percent of the Pareto's total
    cumulative: object  # Decimal percent, this bar and the larger ones
    records_url: str


@dataclass
class Pareto:
    dimension: Dimension
    as_of: datetime
    bars: list[Bar] = field(default_factory=list)

    @property
    def total(self):
        return sum(bar.count for bar in self.bars)

    @property
    def summary(self):
        """The figure in words (its aria-label)."""
        if not self.bars:
            return f"Resolved cases by {self.dimension.label.lower()}: no data."
        top = self.bars[0]
        return (f"{self.total} resolved cases by {self.dimension.label.lower()}; the largest, {top.label}, "
                f"{top.count} ({top.share:.1f}%).")

    @property
    def figure(self):
        """Plotly's figure schema (as JSON, drawn by static/js/figures.js): the bars largest first,
        the cumulative share as a line on a second axis."""
        labels = [bar.label for bar in self.bars]
        data = [
            {"type": "bar", "name": "Resolved cases", "x": labels, "y": [bar.count for bar in self.bars],
             "marker": {"color": BAR_COLOUR}, "customdata": [bar.records_url for bar in self.bars],
             "hovertemplate": "%{x}: %{y}<extra></extra>"},
            {"type": "scatter", "name": "Cumulative share", "mode": "lines+markers", "x": labels,
             "y": [float(bar.cumulative) for bar in self.bars], "yaxis": "y2",
             "line": {"color": LINE_COLOUR, "width": 2, "dash": "dash"}, "marker": {"symbol": "diamond", "size": 7},
             "hovertemplate": "%{x}: %{y}%<extra>cumulative</extra>"},
        ]
        layout = {
            "height": 340, "margin": {"l": 50, "r": 50, "t": 90, "b": 20},
            # The title at the top of the figure, the legend under it (two lines on a phone).
            "title": {"text": f"Resolved cases by {self.dimension.label.lower()}", "font": {"size": 14},
                      "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}},
            # The legend above the plot: under it, the category names (turned when long) ran into it.
            "showlegend": True, "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "xaxis": {"type": "category", "color": MUTED, "automargin": True},
            # Whole cases: a tick per case up to 5 (Plotly's own ticks would say 0.5 cases), its own above.
            "yaxis": {"title": {"text": "cases"}, "rangemode": "tozero", "color": MUTED, "automargin": True,
                      **({"dtick": 1} if self.bars and self.bars[0].count <= 5 else {})},
            "yaxis2": {"title": {"text": "cumulative %"}, "overlaying": "y", "side": "right", "range": [0, 105],
                       "tickvals": [0, 25, 50, 75, 100], "color": MUTED, "automargin": True},
            "plot_bgcolor": "white", "paper_bgcolor": "white", "font": {"color": INK},
        }
        return json.dumps({"data": data, "layout": layout}, separators=(",", ":"))


def cases_link(location_codes, as_of, **filters):
    """The case list of the resolved cases with a root cause at the stores, resolved before `as_of`."""
    filters.setdefault("root_cause", ANY_ROOT_CAUSE)
    return records_url(reverse("cases"), status="done", locations=location_codes, resolved_until=as_of, **filters)


def pareto(cases, dimension, location_codes, as_of):
    """`cases` (already narrowed to the person's scope and the stores) with a root cause, resolved
    before `as_of`, counted by `dimension` (a key of DIMENSIONS), largest first."""
    dimension = DIMENSIONS[dimension]
    counted = with_root_cause(cases).filter(resolved_at__lt=as_of)
    if dimension.name == "category":  # only a reported issue has one
        counted = counted.filter(kind=REPORTED, details__has_key="category")
    counts = sorted(counted.values(dimension.field).annotate(n=Count("pk")).order_by()
                    .values_list(dimension.field, "n"), key=lambda pair: (-pair[1], str(pair[0])))
    total, running = sum(n for _, n in counts), 0
    labels = dimension.labels()
    found = Pareto(dimension, as_of)
    for value, count in counts:
        running += count
        found.bars.append(Bar(value, labels.get(value, value), count, share(count, total), share(running, total),
                              cases_link(location_codes, as_of, **{dimension.list_filter: value})))
    return found


def week_start(moment):
    """The Monday 00:00 UTC starting the week of `moment`."""
    day = moment.astimezone(dt_timezone.utc).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(), tzinfo=dt_timezone.utc)


def weeks(as_of, count=TREND_WEEKS):
    """The last `count` weeks to `as_of`, oldest first: [(start, end)], the last one ending at `as_of`."""
    current = week_start(as_of)
    starts = [current - timedelta(weeks=n) for n in range(count - 1, -1, -1)]
    return [(start, min(start + timedelta(weeks=1), as_of)) for start in starts]


def by_week(cases, as_of, count=TREND_WEEKS):
    """{(week start, root cause): cases resolved that week with that root cause} over `weeks`."""
    periods = weeks(as_of, count)
    counted = with_root_cause(cases).filter(resolved_at__gte=periods[0][0], resolved_at__lt=as_of)
    found = {
        (week, root_cause): n for week, root_cause, n in
        counted.annotate(week=TruncWeek("resolved_at", tzinfo=dt_timezone.utc)).values("week", "root_cause")
        .annotate(n=Count("pk")).order_by().values_list("week", "root_cause", "n")
    }
    return periods, found
