"""The demo retailer, in two sizes, both deterministic (fixed random seed):

- `full` (`make demo`): the simulator's retailer (controltower.demo.simulated):
  18 stores in three simulated regions, a DC, an online node, 200 SKUs, five
  weeks posted through the tower's ingest services up to the moment of the
  first load, with faults injected so every role's screens have cases.
- `small` (the tests): a hand-written story of 4 regions and 20 locations
  (18 stores in Berlin, Paris, London and Madrid time, one DC, one
  ecommerce node), five source systems with an API token each, SKUs with
  barcodes and case conversions, PO lines, ~1,000 inventory events over
  the last 35 days (a week before the pilot's cutover, four since), a WMS
  and an ERP snapshot, and a rollout program (a live pilot and two waves in
  preparation, with training records: `rollout`). Every event goes through
  `inventory.ledger.ingest_events`, in batches timed the way each source
  pushes them, so positions, transfers, count anchors, latency and
  rejections are exactly what the API would have produced.

Both have the demo logins for every role (`people`), scoped to their stores,
and `roll_up_kpis` then writes the KPI rollups of the history
(`manage.py load_demo` calls it). Times are relative to the moment of the
first load so the demo looks current; `now` is passed in, so tests never
read the wall clock.

Running it again is safe (idempotent):
- master data, PO lines and users are upserted: a missing row is topped up,
  an existing one is kept, demo passwords are reset to DEMO_PASSWORD;
- a source already holding an active token gets no new one;
- the events are posted once: if demo events (or a simulation) are in the
  database they are left as they are (their times are relative to the first
  load). For fresh times, start from an empty database (`make clean demo`).

The small size composes its parts, each in its module: `masterdata`
(regions, locations, sources and lanes, SKUs, PO lines), `people` (logins
per role, source tokens), `activity` (the five weeks' story, posting it, the
snapshots), `rollout` and `journeys`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from datetime import timedelta
from datetime import timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from controltower.rollups import roll_up, roll_up_since
from exceptions.detectors import DETECTORS
from exceptions.reconciliation import run_reconciliation

from inventory.models import (
    SKU,
    Barcode,
    InventoryEvent,
    Location,
    PurchaseOrderLine,
    Region,
    RejectedEvent,
    Snapshot,
    SourceSystem,
)
from rollout.models import TrainingRecord, Wave

from .activity import DAYS, TXN_PREFIX, Week, post_events, send_snapshots
from .journeys import load_journeys
from .masterdata import set_lanes, upsert_locations, upsert_po_lines, upsert_regions, upsert_skus, upsert_sources
from .people import DEMO_PASSWORD, issue_tokens, upsert_users
from .rollout import load_rollout
from .simulated import load_simulated

__all__ = ["DEMO_PASSWORD", "SIZES", "TXN_PREFIX", "DemoReport", "DemoSize", "first_day", "load_demo", "roll_up_kpis"]


@dataclass(frozen=True)
class DemoSize:
    skus: int
    store_range: int  # SKUs ranged per store
    web_range: int
    sales_per_store_day: int
    orders_per_day: int
    counts: int  # cycle counts a day
    adjustments: int  # manual adjustments a week


# The hand-written story's size; "full" is the simulator's (simulated.py).
SMALL = DemoSize(skus=40, store_range=6, web_range=10, sales_per_store_day=2, orders_per_day=2,
                 counts=16, adjustments=8)
SIZES = ("full", "small")


@dataclass
class DemoReport:
    events_loaded: bool
    created: dict = field(default_factory=dict)  # noun -> rows created this run
    totals: dict = field(default_factory=dict)  # noun -> rows in the database
    ingest: dict = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0})
    batches: int = 0
    tokens: dict = field(default_factory=dict)  # source code -> raw key (new tokens only)
    logins: list = field(default_factory=list)  # (username, role, scope)

    first_day: object = None  # the UTC day of the first demo event, when this run posted them

    def count(self, noun, created):
        """Add to the rows made this run: `created` is a bool or a number."""
        self.created[noun] = self.created.get(noun, 0) + int(created)


def load_demo(seed=42, size="full", now=None) -> DemoReport:
    """Build (or top up) the demo retailer; see the module docstring."""
    now = now or timezone.now()
    report = DemoReport(events_loaded=False)
    if size == "full":
        load_simulated(seed, now, report)
    else:
        _load_small(seed, now, report)
    report.totals = {
        "regions": Region.objects.count(),
        "locations": Location.objects.count(),
        "source systems": SourceSystem.objects.count(),
        "SKUs": SKU.objects.count(),
        "barcodes": Barcode.objects.count(),
        "PO lines": PurchaseOrderLine.objects.count(),
        "ledger events": InventoryEvent.objects.count(),
        "rejections": RejectedEvent.objects.count(),
        "snapshots": Snapshot.objects.count(),
        "rollout waves": Wave.objects.count(),
        "training records": TrainingRecord.objects.count(),
    }
    return report


def _load_small(seed, now, report):
    """The hand-written story (see the module docstring)."""
    dims = SMALL
    rng = random.Random(seed)
    # One transaction: a load that fails half way leaves nothing behind.
    with transaction.atomic():
        regions = upsert_regions(report)
        locations = upsert_locations(regions, now, report)
        sources = upsert_sources(locations, report)
        skus = upsert_skus(rng, dims, report)
        report.logins = upsert_users(regions, locations, report)
        issue_tokens(sources, report)
        if not InventoryEvent.objects.filter(transaction_id__startswith=TXN_PREFIX).exists():
            week = Week(rng, dims, now, locations, skus)
            week.tell()
            upsert_po_lines(week.po_lines, report)
            # The history is posted with the lanes of its time (the legacy POS
            # fed the pilot stores until their cutover), then today's are set.
            set_lanes(sources, locations, before_pilot_cutover=True)
            post_events(week.events, sources, now, report, nightly=reconcile_all)
            set_lanes(sources, locations)
            send_snapshots(sources, now, report)
            report.events_loaded = True
            report.first_day = first_day(now)
        load_rollout(locations, now, report)
        load_journeys(seed, now, report)


def reconcile_all(moment):
    """Every reconciliation kind as the tower's run at `moment` would have
    found it: the cases of the history open, refresh and clear as they did."""
    for kind in DETECTORS:
        run_reconciliation(kind, now=moment)


def first_day(now):
    """The UTC day of the demo's first event (the opening balances, an hour
    before the story starts)."""
    return (now - timedelta(days=DAYS, hours=1)).astimezone(dt_timezone.utc).date()


def roll_up_kpis(report, now=None):
    """The KPI rollups after a load: every day of the history when this run
    posted it, else (a second load posts nothing) what changed since the
    last rollup (controltower.rollups)."""
    if report.events_loaded:
        return roll_up_since(report.first_day, now)
    return roll_up(now)
