"""The metric registry: every measured number of the tower is defined once.

A metric has a key, a label, a plain-language definition (shown wherever the
metric appears), a unit, the direction that is good, and a function that
measures it over a scope (a set of locations and/or sources) and a window
(from `since`, None for no start, up to `until`). The function returns a
Reading: the value (None when there is nothing to measure: "no data", never
0% or 100%), the sample size it rests on, and where the records behind it
are listed. Nothing else computes a metric: gates, boards and dashboards call
`measure()`.

Each app registers its own metrics from its AppConfig.ready(), as it does its
screens (controltower.navigation); the kernel knows no app's metrics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Callable
from urllib.parse import urlencode

from django.utils import timezone


class Unit:
    PERCENT = "percent"  # 0..100
    SECONDS = "seconds"
    COUNT = "count"
    DAYS = "days"
    SCORE = "score"  # 0..100, e.g. training proficiency


HIGHER, LOWER = "higher", "lower"  # which direction is good


@dataclass(frozen=True)
class Scope:
    """What a metric is measured over. `locations` / `sources`: primary keys,
    None for no restriction (the whole estate, every source)."""

    locations: frozenset | None = None
    sources: frozenset | None = None

    @classmethod
    def of(cls, locations=None, sources=None):
        return cls(
            frozenset(locations) if locations is not None else None,
            frozenset(sources) if sources is not None else None,
        )


@dataclass(frozen=True)
class Window:
    """From `since` (None: from the first record) up to `until` (as of)."""

    since: datetime | None
    until: datetime


@dataclass
class Reading:
    """What a metric's function returns."""

    value: Decimal | None  # None: no data
    sample: int  # the records the value rests on (counted pairs, events, cases...)
    records_url: str = ""  # where those records are listed (a screen or API list, filtered)
    detail: dict = field(default_factory=dict)  # numerator, denominator, other figures


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    definition: str
    unit: str
    better: str
    compute: Callable[[Scope, Window], Reading]

    def format(self, value):
        """`value` in this metric's unit, in words: "no data" for None."""
        if value is None:
            return "no data"
        value = Decimal(value)
        if self.unit == Unit.PERCENT:
            return f"{value.quantize(Decimal('0.1'))}%"
        if self.unit == Unit.SECONDS:
            return f"{value.quantize(Decimal('1'))} s"
        if self.unit == Unit.DAYS:
            return f"{value.quantize(Decimal('0.1'))} days"
        if self.unit == Unit.SCORE:
            return f"{value.quantize(Decimal('0.1'))}"
        return f"{value.quantize(Decimal('1'))}"


@dataclass
class Measurement:
    """A metric measured: its Reading, the metric, the scope, window and time."""

    metric: Metric
    scope: Scope
    window: Window
    reading: Reading
    measured_at: datetime

    @property
    def value(self):
        return self.reading.value

    @property
    def no_data(self):
        return self.reading.value is None

    @property
    def text(self):
        return self.metric.format(self.reading.value)


def share(part, whole):
    """`part` of `whole` in percent; None (no data) when `whole` is 0, never 0% or 100%."""
    return None if not whole else Decimal(part * 100) / whole


_metrics: dict[str, Metric] = {}


def register(key, label, *, definition, unit, better, compute):
    """Add a metric (called from an app's AppConfig.ready()). A key is defined once."""
    if better not in (HIGHER, LOWER):
        raise ValueError(f"Metric {key}: better must be '{HIGHER}' or '{LOWER}'.")
    existing = _metrics.get(key)
    if existing is not None and existing.compute is not compute:
        raise ValueError(f"Metric {key} is already registered.")
    _metrics[key] = Metric(key, label, definition, unit, better, compute)


def get(key) -> Metric:
    try:
        return _metrics[key]
    except KeyError:
        raise ValueError(f"Unknown metric '{key}'; one of {', '.join(sorted(_metrics))}.") from None


def metrics() -> list[Metric]:
    """Every registered metric, by key."""
    return [_metrics[key] for key in sorted(_metrics)]


def records_url(path, **filters):
    """`path` with `filters` as its query string, for Reading.records_url:
    None left out, a collection of codes comma-separated (sorted), a time in
    ISO 8601."""
    query = {}
    for name, value in filters.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, (set, frozenset, list, tuple)):
            value = ",".join(sorted(value))
        query[name] = value
    return f"{path}?{urlencode(query)}" if query else path


def measure(key, scope: Scope, window: Window) -> Measurement:
    """Measure one metric over a scope and a window."""
    metric = get(key)
    reading = metric.compute(scope, window)
    return Measurement(metric, scope, window, reading, timezone.now())
