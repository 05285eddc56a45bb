"""KPI rollups: every registered metric (controltower.metrics), measured for
each UTC day and each member of each rollup dimension, written to KpiDay.
Dashboards read these rows, never the raw records.

A dimension is a way to cut the estate: the estate itself (built in), and
what the apps register from their AppConfig.ready() (inventory: location,
region, source; rollout: wave; journeys: channel). Each dimension names the
Scope part its members use; a metric is rolled up along the dimensions whose
part it honours (Metric.scopes), and always for the estate.

Incremental: each app registers a function telling which days received new
data since a time (late events included); the rollup recomputes those days,
today, and yesterday once after midnight, then moves its watermark to when
it started (what arrived while it ran is rolled next time). A day is always
recomputed whole (with the later days whose trailing metrics cover it,
Metric.rollup_days): its rows are replaced in one transaction, so a rerun, two
workers at once or a run killed halfway leave the same rows as a
from-scratch computation (`rollup_kpis --since DATE`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Callable, Iterable

from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.db.models import Window as OverWindow
from django.db.models.functions import RowNumber
from django.utils import timezone

from . import metrics
from .locks import hold_until_commit
from .metrics import Scope, Window
from .models import KpiDay, RollupState

ESTATE = "estate"
BEGINNING = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)  # the first incremental run looks back this far
VALUE_PLACES = Decimal("0.0001")  # KpiDay.value's decimal places


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    part: str | None  # the Scope part its members use; None for the estate
    members: Callable[[], dict[str, Scope]]  # member code -> its scope


_dimensions: dict[str, Dimension] = {ESTATE: Dimension(ESTATE, "Estate", None, lambda: {"": Scope()})}
_changes: list[Callable[[datetime], Iterable[date]]] = []


def register_dimension(name, label, *, part, members):
    if part not in metrics.SCOPE_PARTS:
        raise ValueError(f"Dimension {name}: part must be one of {metrics.SCOPE_PARTS}.")
    _dimensions[name] = Dimension(name, label, part, members)


def dimension(name) -> Dimension:
    try:
        return _dimensions[name]
    except KeyError:
        raise ValueError(f"Unknown dimension '{name}'; one of {', '.join(sorted(_dimensions))}.") from None


def register_changes(days_changed_since):
    """`days_changed_since(moment)`: the UTC days whose metrics may differ
    because of what was received or changed from `moment` on."""
    _changes.append(days_changed_since)


def day_window(day, days=1) -> Window:
    """The UTC day `day`, or the `days` days ending with it."""
    start = datetime.combine(day, time(), dt_timezone.utc)
    return Window(since=start - timedelta(days=days - 1), until=start + timedelta(days=1))


def utc_today(now=None):
    return (now or timezone.now()).astimezone(dt_timezone.utc).date()


def measure_day(day, computed_at, keys=None) -> list[KpiDay]:
    """Every metric (those of `keys` when given) along every dimension it
    honours, for one day (not saved)."""
    members = {d.name: d.members() for d in _dimensions.values()}
    rows = []
    for metric in metrics.metrics():
        if keys is not None and metric.key not in keys:
            continue
        window = day_window(day, metric.rollup_days)
        # Every member of every dimension the metric honours, measured at once
        # (a metric with a batched rule reads its records once for all).
        targets = [(dim.name, member, scope) for dim in _dimensions.values()
                   if dim.part is None or dim.part in metric.scopes
                   for member, scope in members[dim.name].items()]
        readings = metric.measure_many([scope for _dim, _member, scope in targets], window)
        for (dim_name, member, _scope), reading in zip(targets, readings, strict=True):
            value = None if reading.value is None else Decimal(reading.value).quantize(VALUE_PLACES)
            rows.append(KpiDay(
                metric=metric.key, day=day, dimension=dim_name, member=member, value=value,
                sample=reading.sample, records_url=reading.records_url,
                detail=_json(reading.detail), computed_at=computed_at,
            ))
    return rows


def _json(detail):
    """A reading's detail as JSON can hold it: Decimals as text, nested dicts too."""
    return {key: str(value) if isinstance(value, Decimal) else _json(value) if isinstance(value, dict) else value
            for key, value in detail.items()}


def roll_day(day, now=None, keys=None) -> int:
    """Recompute one day (its metrics of `keys` when given): measured first,
    then its rows replaced in one short transaction."""
    rows = measure_day(day, now or timezone.now(), keys)
    with transaction.atomic():
        hold_until_commit(f"kpi-rollup:{day.isoformat()}")
        replaced = KpiDay.objects.filter(day=day)
        if keys is not None:
            replaced = replaced.filter(metric__in=keys)
        replaced.delete()
        KpiDay.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def roll_days(days, now=None) -> dict:
    """Recompute `days`, and the days after them (to today) whose trailing
    metrics (Metric.rollup_days) cover them."""
    now = now or timezone.now()
    written = sum(roll_day(day, now) for day in sorted(days))
    covering = _covering_days(days, utc_today(now))
    for day in sorted(covering):
        written += roll_day(day, now, keys=covering[day])
    return {"days": len(days), "rows": written}


def _covering_days(days, today) -> dict:
    """{later day not in `days`: the keys of the trailing metrics whose value there covers one of `days`}."""
    covering = {}
    for metric in metrics.metrics():
        for day in days:
            for n in range(1, metric.rollup_days):
                later = day + timedelta(days=n)
                if later <= today and later not in days:
                    covering.setdefault(later, set()).add(metric.key)
    return covering


def days_to_roll(since, now) -> set[date]:
    """The days the incremental rollup recomputes (see the module docstring);
    `since` None (no run yet): every day that has data."""
    today = utc_today(now)
    days = {today}
    if since is None or utc_today(since) < today:
        days.add(today - timedelta(days=1))
    for changed in _changes:
        days.update(day for day in changed(since or BEGINNING) if day <= today)
    return days


def roll_up(now=None) -> dict:
    """The incremental rollup (the beat task): the days that received data
    since the last run, today, and yesterday once after midnight."""
    now = now or timezone.now()
    state = RollupState.objects.filter(name="kpi").first()
    days = days_to_roll(state.rolled_from if state else None, now)
    result = roll_days(days, now)
    RollupState.objects.update_or_create(name="kpi", defaults={"rolled_from": now})
    return result


def roll_up_since(first_day, now=None) -> dict:
    """Recompute every day from `first_day` to today (manage.py rollup_kpis --since)."""
    now = now or timezone.now()
    today = utc_today(now)
    if first_day > today:
        raise ValueError(f"since: {first_day.isoformat()} is after today ({today.isoformat()}).")
    days = {first_day + timedelta(days=n) for n in range((today - first_day).days + 1)}
    result = roll_days(days, now)
    RollupState.objects.update_or_create(name="kpi", defaults={"rolled_from": now})
    return result


# ---------------------------------------------------------------- reading

def series(metric_key, dimension_name, member, first_day, last_day):
    """The metric's daily rows for one member from `first_day` to
    `last_day`, oldest first; a day never rolled up stands as no data (an
    unsaved row with no value), so a figure spans the whole period and a
    missing day is a gap, never a zoomed axis."""
    return series_of([metric_key], dimension_name, member, first_day, last_day)[metric_key]


def series_of(metric_keys, dimension_name, member, first_day, last_day) -> dict:
    """{metric key: its `series`} for several metrics of one member, in one query."""
    found = {(row.metric, row.day): row for row in KpiDay.objects.filter(
        metric__in=metric_keys, dimension=dimension_name, member=member, day__gte=first_day, day__lte=last_day)}
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    return {key: [found.get((key, day)) or KpiDay(metric=key, dimension=dimension_name, member=member, day=day,
                                                  value=None, sample=0) for day in days]
            for key in metric_keys}


# How far back a KPI's latest value is looked for when its day has none.
LOOK_BACK_DAYS = 7


@dataclass(frozen=True)
class Rolled:
    """A KpiDay row as latest() reads it, with what a tile shows of it: not a model instance
    (a wave's stores have thousands of rows, and building a KpiDay for each cost more than
    reading them)."""

    metric: str
    member: str
    day: date
    value: Decimal | None
    sample: int
    records_url: str
    detail: dict
    computed_at: datetime


def latest(metric_keys, dimension_name, members, day) -> dict:
    """{(metric, member): Rolled}: each metric's row of `day` for each member
    (`members` None: every member), or, when that day has no value (early in
    the day most flows have not happened yet; a store counts every few
    days), its latest row with a value in the LOOK_BACK_DAYS before. Every
    screen reads rolled-up values through this, so a tile, a table and a
    ranking of the same metric and member show the same value."""
    rows = KpiDay.objects.filter(metric__in=metric_keys, dimension=dimension_name,
                                 day__gte=day - timedelta(days=LOOK_BACK_DAYS), day__lte=day)
    if members is not None:
        rows = rows.filter(member__in=members)
    # One row per metric and member, chosen in the database (a wave of 360
    # stores has thousands of rows in the look-back): rows with a value, the
    # latest first; the day's own row without a value only when no row has one.
    no_value = ExpressionWrapper(Q(value__isnull=True), output_field=BooleanField())
    rows = (rows.filter(Q(value__isnull=False) | Q(day=day))
            .annotate(pick=OverWindow(RowNumber(), partition_by=[F("metric"), F("member")],
                                  order_by=[no_value.asc(), F("day").desc()]))
            .filter(pick=1).values_list(*Rolled.__dataclass_fields__))
    return {(row.metric, row.member): row for row in (Rolled(*values) for values in rows)}


# The worst members of each metric, ranked in the database among the values latest() reads
# (a member's latest value of the look-back), ties by member code as Python orders text
# (PostgreSQL's "C" collation, SQLite's own): only the members shown come back.
WORST = """
SELECT metric, member FROM (
    SELECT metric, member,
           ROW_NUMBER() OVER (PARTITION BY metric
                              ORDER BY CASE WHEN metric IN ({lowest}) THEN value ELSE -value END, member{collate}) AS place
    FROM (
        SELECT metric, member, value,
               ROW_NUMBER() OVER (PARTITION BY metric, member ORDER BY day DESC) AS pick
        FROM {table}
        WHERE dimension = %s AND metric IN ({keys}) AND member IN ({members})
          AND day >= %s AND day <= %s AND value IS NOT NULL
    ) latest_values
    WHERE pick = 1
) ranked
WHERE place <= %s
"""


def worst(metric_keys, dimension_name, members, day, lowest_worst, limit) -> dict:
    """{metric key: {member, ...}}: per metric, the `limit` members whose value (as `latest`
    reads it) is the worst, the same value by member code; members with no value are not in it.
    `lowest_worst`: the keys whose worst value is the lowest (higher is better), the others'
    is the highest. Ranked in the database: a wave's 360 stores have thousands of rows in the
    look-back, and a page reads whole only the few it shows (with `latest`)."""
    metric_keys, members = list(metric_keys), list(members)
    if not metric_keys or not members or day is None:
        return {}
    lowest = [key for key in metric_keys if key in lowest_worst]
    sql = WORST.format(table=KpiDay._meta.db_table, lowest=", ".join(["%s"] * len(lowest)) or "NULL",
                       keys=", ".join(["%s"] * len(metric_keys)), members=", ".join(["%s"] * len(members)),
                       collate=' COLLATE "C"' if connection.vendor == "postgresql" else "")
    adapt = connection.ops.adapt_datefield_value
    params = [*lowest, dimension_name, *metric_keys, *members, adapt(day - timedelta(days=LOOK_BACK_DAYS)),
              adapt(day), limit]
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, member in cursor.fetchall():
            found.setdefault(key, set()).add(member)
    return found


def last_day():
    """The latest day rolled up, None before the first rollup."""
    return KpiDay.objects.order_by("-day").values_list("day", flat=True).first()
