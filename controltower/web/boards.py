"""The region board and the store page, composed from the apps: cases
(exceptions), positions, counts and feeds (inventory), and the KPI rollups
(controltower.rollups) for every measured number. The views only call these.

Numbers are read for the latest rolled-up day (rollups.last_day); trends
cover the TREND_DAYS days up to it. Nothing rolled up is no data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from controltower import dashboards, metrics, rollups
from controltower.scoping import visible_locations
from exceptions.services.queries import active_cases_at, escalated_to_regional_ops, location_case_figures
from exceptions.services.sla import sla_state
from inventory.lanes import feeds_serving
from inventory.models import Region
from inventory.sources import is_stale
from inventory.trading import Calendar

TREND_DAYS = 30
ACCURACY = ("inventory_accuracy_exact", "inventory_accuracy_tolerance")
LATENCY = "sync_latency_p95"
REGION_KPIS = (*ACCURACY, LATENCY, "open_sev1_cases", "open_sev2_cases", "sla_attainment", "case_aging_p90")
STORE_KPIS = (*REGION_KPIS, "days_since_last_sev1")
STORE_COLUMNS = (*ACCURACY, LATENCY)
# Short names for the lines of the accuracy figure (each is labelled at its end)
# and for the store table's columns (the tiles above carry the full label and definition).
LINE_NAMES = {"inventory_accuracy_exact": "Exact", "inventory_accuracy_tolerance": "Within tolerance"}
COLUMN_LABELS = {"inventory_accuracy_exact": "Accuracy (exact)",
                 "inventory_accuracy_tolerance": "Accuracy (within tolerance)", LATENCY: "Sync latency p95"}


# ---------------------------------------------------------------- trends

@dataclass
class Trend:
    title: str
    figure: str  # Plotly JSON (controltower.dashboards.trend_figure); "" when no day has data
    summary: str


def trends(dimension, member, last_day) -> list[Trend]:
    """Accuracy (exact and within tolerance) and sync latency of one member
    over the TREND_DAYS days up to `last_day`."""
    if last_day is None:
        return []
    first_day = last_day - timedelta(days=TREND_DAYS - 1)
    found = []
    for title, keys in (("Inventory record accuracy", ACCURACY), ("Sync latency (p95)", (LATENCY,))):
        lines = [(LINE_NAMES.get(key, metrics.get(key).label),
                  rollups.series(key, dimension, member, first_day, last_day)) for key in keys]
        main = metrics.get(keys[0])
        summary = " ".join(dashboards.trend_summary(metrics.get(key), rows) for key, (_, rows) in zip(keys, lines))
        if not any(row.value is not None for _, rows in lines for row in rows):
            found.append(Trend(title=title, figure="", summary=summary))  # no empty axes: no data said in words
            continue
        targets = [(main.target, f"Target {main.format(main.target)}")] if main.target is not None else []
        found.append(Trend(
            title=title,
            figure=dashboards.trend_figure(main, lines, targets=targets), summary=summary,
        ))
    return found


# ---------------------------------------------------------------- region board

def regions_for(user):
    """The regions `user` sees a board of: those with a location in scope
    (a regional ops lead: their own; the estate roles: every region)."""
    return Region.objects.filter(locations__in=visible_locations(user)).distinct().order_by("code")


@dataclass
class StoreRow:
    location: object
    open: int
    breached: int
    kpis: dict  # metric key -> dashboards.Tile

    def value(self, column):
        if column == "store":
            return self.location.code
        if column in ("open", "breached"):
            return getattr(self, column)
        return self.kpis[column].value


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    worst_first_descending: bool  # the worst store first when sorted by it


def store_columns():
    """The store table's columns, each sorted worst first: the store, its
    active cases, then the rolled-up KPIs."""
    columns = {
        "store": Column("store", "Store", False),
        "open": Column("open", "Open cases", True),
        "breached": Column("breached", "Breached", True),
    }
    for key in STORE_COLUMNS:
        metric = metrics.get(key)
        # Worse is higher for a lower-is-better metric (latency), lower for accuracy.
        columns[key] = Column(key, COLUMN_LABELS[key], metric.better == metrics.LOWER)
    return columns


DEFAULT_SORT = "breached"


def sort_rows(rows, column, reverse=False):
    """Rows by `column`, worst first (`reverse`: best first); no data always
    last; ties by breached, then open cases, then store code."""
    columns = store_columns()
    if column not in columns:
        raise ValueError(f"sort: unknown column '{column}'; one of {', '.join(columns)}.")
    descending = columns[column].worst_first_descending != reverse
    rows = sorted(rows, key=lambda row: (-row.breached, -row.open, row.location.code))
    known = [row for row in rows if row.value(column) is not None]
    unknown = [row for row in rows if row.value(column) is None]
    return sorted(known, key=lambda row: row.value(column), reverse=descending) + unknown


@dataclass
class RegionBoard:
    region: Region
    day: object  # the latest rolled-up day, None before the first rollup
    tiles: list
    rows: list
    trends: list
    escalated: object  # queryset of cases
    columns: dict = field(default_factory=store_columns)


def region_board(region, sort=DEFAULT_SORT, reverse=False) -> RegionBoard:
    day = rollups.last_day()
    locations = list(region.locations.filter(active=True).order_by("code"))
    cases = location_case_figures([location.pk for location in locations])
    found = dashboards.measured(STORE_COLUMNS, "location", [location.code for location in locations], day)
    rows = [
        StoreRow(
            location=location,
            open=cases.get(location.pk, {}).get("open", 0),
            breached=cases.get(location.pk, {}).get("breached", 0),
            kpis={key: found[(key, location.code)] for key in STORE_COLUMNS},
        )
        for location in locations
    ]
    return RegionBoard(
        region=region, day=day,
        tiles=dashboards.tiles(REGION_KPIS, "region", region.code, day),
        rows=sort_rows(rows, sort, reverse),
        trends=trends("region", region.code, day),
        escalated=escalated_to_regional_ops(region),
    )


def store_table(board):
    """The store table as CSV (header, rows), in the order shown; the
    columns named as the case export names its own, the KPIs by metric key."""
    header = ["location", "name", "open_cases", "breached"]
    for key in STORE_COLUMNS:
        header += [key, f"{key}_status"]
    rows = []
    for row in board.rows:
        line = [row.location.code, row.location.name, row.open, row.breached]
        for key in STORE_COLUMNS:
            line += [row.kpis[key].text, row.kpis[key].status]
        rows.append(line)
    return header, rows


def escalated_table(cases, now=None):
    now = now or timezone.now()
    header = ["id", "kind", "severity", "location", "status", "breached", "resolution_due_at", "owner", "summary"]
    rows = [
        [case.pk, case.kind, case.severity, case.location.code, case.status, "yes" if sla_state(case, now).state == "breached" else "no",
         case.resolution_due_at.isoformat() if case.resolution_due_at else "", str(case.owner or ""), case.summary]
        for case in cases
    ]
    return header, rows


# ---------------------------------------------------------------- store page

@dataclass
class Feed:
    source: object
    latency: dashboards.Tile
    stale: bool
    names_store: bool  # its lane names this store (else it has no lane and sent here)


@dataclass
class StorePage:
    location: object
    day: object
    tiles: list
    trends: list
    cases: object  # queryset, most urgent first
    feeds: list


def store_page(location, now=None) -> StorePage:
    now = now or timezone.now()
    day = rollups.last_day()
    sources = list(feeds_serving(location, since=now - timedelta(days=TREND_DAYS)))
    lane_named = set(location.lane_sources.values_list("pk", flat=True)) if sources else set()
    latency = dashboards.measured([LATENCY], "source", [source.code for source in sources], day, now=now)
    calendar = Calendar()
    feeds = [
        Feed(source=source, latency=latency[(LATENCY, source.code)],
             stale=is_stale(source, source.last_event_at, now, calendar), names_store=source.pk in lane_named)
        for source in sources
    ]
    return StorePage(
        location=location, day=day,
        tiles=dashboards.tiles(STORE_KPIS, "location", location.code, day, now=now),
        trends=trends("location", location.code, day),
        cases=active_cases_at(location),
        feeds=feeds,
    )
