"""The metric registry: every measured number of the tower is defined once.

A metric has a key, a label, a plain-language definition (shown wherever the
metric appears), a unit, the direction that is good, a target (green) and an
amber limit (beyond it: red), the parts of a scope it honours (locations,
sources, channels: the KPI rollups measure it per member of the dimensions
built on those parts, controltower.rollups), and a function that
measures it over a scope (a set of locations and/or sources) and a window
(from `since`, None for no start, up to `until`). The function returns a
Reading: the value (None when there is nothing to measure: "no data", never
0% or 100%), the sample size it rests on, and where the records behind it
are listed. Nothing else computes a metric: gates, boards and dashboards call
`measure()`.

One way to add a metric: write its rule in the app's metrics module (a
function of one Scope, or of many scopes at once) and declare it with
`register()` in that module's `register_metrics()`, which the app's
AppConfig.ready() calls, as it registers its screens
(controltower.navigation); the kernel knows no app's metrics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Callable
from urllib.parse import quote_plus, urlencode

from django.utils import timezone


class Unit:
    PERCENT = "percent"  # 0..100
    SECONDS = "seconds"
    COUNT = "count"
    DAYS = "days"
    SCORE = "score"  # 0..100, e.g. training proficiency
    VALUE = "value"  # money at cost, in the item master's currency


HIGHER, LOWER = "higher", "lower"  # which direction is good


SCOPE_PARTS = ("locations", "sources", "channels")


@dataclass(frozen=True)
class Scope:
    """What a metric is measured over. `locations` / `sources`: primary keys,
    `channels`: channel codes; None for no restriction (the whole estate,
    every source, every channel)."""

    locations: frozenset | None = None
    sources: frozenset | None = None
    channels: frozenset | None = None

    @classmethod
    def of(cls, locations=None, sources=None, channels=None):
        return cls(*(None if part is None else frozenset(part) for part in (locations, sources, channels)))


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


class Status:
    """A value against its metric's target, in words (never in colour alone)."""

    GREEN, AMBER, RED, NO_DATA, NO_TARGET = "green", "amber", "red", "no data", "no target"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    definition: str
    unit: str
    better: str
    compute: Callable[[Scope, Window], Reading]
    target: Decimal | None = None  # at or beyond it (in the good direction): green
    amber: Decimal | None = None  # between target and amber: amber; beyond amber: red
    scopes: frozenset = frozenset()  # the Scope parts the function honours
    # Optional: the readings of many scopes over one window at once (the KPI
    # rollups measure every member of a dimension), for a metric whose rule
    # is cheaper read once for all; `compute` is then this for one scope.
    compute_many: Callable[[list, Window], list] | None = None
    # The days each daily rollup value covers, ending with its day: 1 for a
    # day's own value; more for a measure of events too few in a day to read
    # (a wave's transfers received, its cases resolved).
    rollup_days: int = 1
    # A count of the state now (the cases open, their age): screens measure it
    # when drawn, so a tile agrees with the list under it; its rollups feed
    # only the trends (controltower.dashboards.tiles).
    live: bool = False
    # A readiness measure the gates hold (item master, cutover backlog), not
    # a KPI tile of the dashboards.
    gate_only: bool = False

    def measure_many(self, scopes, window) -> list[Reading]:
        """The readings of `scopes`, in their order."""
        if self.compute_many is not None:
            return self.compute_many(list(scopes), window)
        return [self.compute(scope, window) for scope in scopes]

    def status(self, value, target=None):
        """Green, amber or red for `value` against the target (`target`: one
        replacing the metric's, such as a wave's gate criterion: short of it is
        red); no data for None."""
        if value is None:
            return Status.NO_DATA
        amber = self.amber if target is None else None
        target = self.target if target is None else Decimal(target)
        if target is None:
            return Status.NO_TARGET
        value = Decimal(value)
        sign = 1 if self.better == HIGHER else -1
        if sign * (value - target) >= 0:
            return Status.GREEN
        if amber is not None and sign * (value - amber) >= 0:
            return Status.AMBER
        return Status.RED

    @property
    def target_text(self):
        return self.target_text_of(None)

    def target_text_of(self, target):
        """The target in words: the metric's, or `target` when given."""
        target = self.target if target is None else target
        if target is None:
            return "no target"
        return ("at least " if self.better == HIGHER else "at most ") + self.format(target)

    def format(self, value):
        """`value` in this metric's unit, in words: "no data" for None."""
        if value is None:
            return "no data"
        value = Decimal(value)
        if self.unit == Unit.PERCENT:
            return f"{value.quantize(Decimal('0.1'))}%"
        if self.unit == Unit.SECONDS:
            return seconds_text(value)
        if self.unit == Unit.DAYS:
            return f"{value.quantize(Decimal('0.1'))} days"
        if self.unit == Unit.SCORE:
            return f"{value.quantize(Decimal('0.1'))}"
        if self.unit == Unit.VALUE:
            return f"{value.quantize(Decimal('0.01')):,}"
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


def seconds_text(seconds):
    """A duration in the unit a person reads it in: s, min, h, then days."""
    seconds = Decimal(seconds)
    if abs(seconds) < 120:
        return f"{seconds.quantize(Decimal('1'))} s"
    if abs(seconds) < 7200:
        return f"{(seconds / 60).quantize(Decimal('1'))} min"
    if abs(seconds) < 172800:
        return f"{(seconds / 3600).quantize(Decimal('0.1'))} h"
    return f"{(seconds / 86400).quantize(Decimal('0.1'))} days"


def share(part, whole):
    """`part` of `whole` in percent; None (no data) when `whole` is 0, never 0% or 100%."""
    return None if not whole else Decimal(part * 100) / whole


_metrics: dict[str, Metric] = {}


def register(key, label, *, definition, unit, better, compute=None, target, amber=None,
             scopes=("locations", "sources"), compute_many=None, rollup_days=1, live=False, gate_only=False):
    """Add a metric (called from an app's AppConfig.ready()). A key is defined
    once. `target`: the value that is good enough (None only for a count with
    no sensible target); `amber`: where red begins (None: short of the target
    is red); `scopes`: the Scope parts `compute` honours. `compute_many`
    (scopes, window) -> [Reading]: the batched rule; given alone, `compute`
    is it for one scope (one rule, never two). `rollup_days`: the trailing
    days a daily rollup value covers (Metric.rollup_days); `live`: a count
    of the state now, read when a screen is drawn (Metric.live); `gate_only`:
    a readiness measure for the gates, no dashboard tile (Metric.gate_only)."""
    if (compute is None) == (compute_many is None):
        raise ValueError(f"Metric {key}: one rule, compute or compute_many (not both).")
    if compute is None:
        compute = one_scope(compute_many)
    if better not in (HIGHER, LOWER):
        raise ValueError(f"Metric {key}: better must be '{HIGHER}' or '{LOWER}'.")
    unknown = set(scopes) - set(SCOPE_PARTS)
    if unknown:
        raise ValueError(f"Metric {key}: unknown scope parts {sorted(unknown)}; one of {SCOPE_PARTS}.")
    if not isinstance(rollup_days, int) or rollup_days < 1:
        raise ValueError(f"Metric {key}: rollup_days must be a whole number of days, at least 1.")
    target = None if target is None else Decimal(target)
    amber = None if amber is None else Decimal(amber)
    if target is not None and amber is not None and (amber - target) * (1 if better == LOWER else -1) < 0:
        raise ValueError(f"Metric {key}: amber must lie beyond the target, on the bad side.")
    existing = _metrics.get(key)
    if existing is not None and getattr(existing.compute, "batched", existing.compute) is not getattr(
            compute, "batched", compute):
        raise ValueError(f"Metric {key} is already registered.")
    _metrics[key] = Metric(key, label, definition, unit, better, compute, target, amber, frozenset(scopes),
                           compute_many, rollup_days, live, gate_only)


# Metrics one query reads together (the percentiles of one distribution): each is still
# registered alone with its own rule; `read(keys, scopes, window) -> {key: [Reading]}` gives
# several of them at once, for a screen that shows them over the same scopes.
_read_together: dict[str, tuple[frozenset, Callable]] = {}


def read_together(keys, read):
    """Declare that `read` measures any of the metrics `keys` together (called from an app's
    AppConfig.ready(), after registering them)."""
    keys = frozenset(keys)
    for key in keys:
        get(key)
        _read_together[key] = (keys, read)


def measure_together(keys, scopes, window) -> dict:
    """{key: [Reading]} of the metrics `keys` over the same `scopes`, in their order: the
    metrics read together are read in one go."""
    found = {}
    for key in keys:
        if key in found:
            continue
        family, read = _read_together.get(key, (frozenset([key]), None))
        wanted = [k for k in keys if k in family]
        if read is None or len(wanted) == 1:
            found[key] = get(key).measure_many(scopes, window)
        else:
            found.update(read(wanted, list(scopes), window))
    return found


def one_scope(compute_many):
    """The one-scope function of a batched rule."""
    def compute(scope, window):
        return compute_many([scope], window)[0]
    compute.batched = compute_many
    return compute


def get(key) -> Metric:
    try:
        return _metrics[key]
    except KeyError:
        raise ValueError(f"Unknown metric '{key}'; one of {', '.join(sorted(_metrics))}.") from None


def metrics() -> list[Metric]:
    """Every registered metric, by key."""
    return [_metrics[key] for key in sorted(_metrics)]


# A wave's 360 store codes are in each of its pages' dozens of case links: quoted once.
_quoted = lru_cache(maxsize=64)(quote_plus)


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
    return f"{path}?{urlencode(query, quote_via=_quoted)}" if query else path


def measure(key, scope: Scope, window: Window) -> Measurement:
    """Measure one metric over a scope and a window."""
    metric = get(key)
    reading = metric.compute(scope, window)
    return Measurement(metric, scope, window, reading, timezone.now())
