"""A small demo retailer, generated deterministically (fixed random seed).

`load_demo()` builds 4 regions and 20 locations (18 stores in Berlin, Paris,
London and Madrid time, one DC, one ecommerce node), five source systems
with an API token each, ~300 SKUs with barcodes and case conversions, PO
lines, demo users for every role, ~4000 inventory events over the last
seven days, and a WMS and an ERP snapshot. Every event goes through `inventory.ledger.ingest_events`, in
batches timed the way each source pushes them, so positions, transfers,
count anchors, latency and rejections are exactly what the API would have
produced.

What is demo is labelled demo: region names, the banner, source names,
user e-mails and every transaction id (`demo-...`). Times are relative to
the moment of the first load so the demo looks current.

Running it again is safe (idempotent):
- master data, PO lines and users are upserted: a missing row is topped up,
  an existing one is kept, demo passwords are reset to DEMO_PASSWORD;
- a source already holding an active token gets no new one;
- the events are posted once: if demo events are in the ledger they are
  left as they are (re-posting them would be a conflict, since their times
  are relative to the first load). For fresh times, start from an empty
  database (`make clean demo`).
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from controltower.models import ApiToken, Profile, Role

from .lanes import set_lane
from .ledger import fold_ledger, ingest_events
from .models import (
    SKU,
    Barcode,
    InventoryEvent,
    Location,
    PurchaseOrderLine,
    Region,
    RejectedEvent,
    Snapshot,
    SourceSystem,
    UnitConversion,
)
from .snapshots import ingest_snapshot

DEMO_PASSWORD = "demo-password"
TXN_PREFIX = "demo-"
DAYS = 7
BANNER = "Demo Retail"

REGIONS = [
    ("DE", "Germany (demo)", "Europe/Berlin"),
    ("FR", "France (demo)", "Europe/Paris"),
    ("UK", "United Kingdom (demo)", "Europe/London"),
    ("ES", "Spain (demo)", "Europe/Madrid"),
]
STORES = {
    "DE": ["Berlin Mitte", "Berlin Spandau", "Hamburg Altona", "Munich Schwabing", "Cologne Ehrenfeld"],
    "FR": ["Paris Bastille", "Paris La Defense", "Lyon Part-Dieu", "Lille Centre", "Bordeaux Chartrons"],
    "UK": ["London Camden", "Manchester Piccadilly", "Leeds Trinity", "Bristol Cabot"],
    "ES": ["Madrid Sol", "Barcelona Gracia", "Valencia Ruzafa", "Seville Triana"],
}
DC = "DC01"
WEB = "WEB01"
# Pilot stores went live on the target POS three weeks ago; DE003 is cutting
# over now and is fed by both POS systems (coexistence).
PILOT = ("DE001", "DE002", "FR001")
CUTOVER_STORE = "DE003"

# code, name, kind, generation, push interval (s), expected interval (s), latency target (s)
SOURCES = [
    ("POS-LEGACY-EU", "Legacy POS, Europe (demo)", "pos", "legacy", 900, 3600, 1800),
    ("POS-NEXT", "Target POS (demo)", "pos", "target", 60, 900, 300),
    ("ECOM", "Ecommerce platform (demo)", "ecom", "target", 60, 900, 120),
    ("WMS", "Warehouse management (demo)", "wms", "target", 300, 1800, 600),
    ("ERP", "ERP (demo)", "erp", "target", 3600, 86400, 3600),
]
# What the tills send, in the stores they run in (see _lanes).
TILL_TYPES = ["sale", "return", "disposition", "write_off", "damage", "adjustment", "cycle_count", "transfer_in"]

# category -> (products, sizes, unit cost range, case unit)
CATEGORIES = {
    "Grocery": (["Fusilli", "Basmati rice", "Olive oil", "Tomato passata", "Oat flakes", "Coffee beans"],
                ["250 g", "500 g", "1 kg"], (0.8, 9.0), "CS12"),
    "Beverages": (["Sparkling water", "Orange juice", "Cola", "Iced tea", "Lager"],
                  ["330 ml", "1 l", "1.5 l"], (0.3, 2.5), "CS24"),
    "Household": (["Dish soap", "Laundry liquid", "Kitchen roll", "Bin bags"],
                  ["small", "large", "value pack"], (1.0, 8.0), "CS12"),
    "Personal care": (["Shampoo", "Toothpaste", "Shower gel", "Deodorant"],
                      ["50 ml", "250 ml", "400 ml"], (0.9, 6.0), "CS12"),
    "Apparel": (["T-shirt", "Socks 3-pack", "Hoodie", "Rain jacket"],
                ["S", "M", "L", "XL"], (3.0, 35.0), "CS6"),
    "Electronics": (["USB-C cable", "Earbuds", "Power bank", "LED bulb"],
                    ["basic", "plus", "pro"], (2.0, 40.0), "CS6"),
}

ADJUSTMENT_REASONS = [("SHRINK", -1), ("FOUND", 1), ("ADMIN_CORRECTION", -1), ("ADMIN_CORRECTION", 1),
                      ("SPOILAGE", -1), ("SUPPLIER_SHORT", -1)]
# Store with many more manual adjustments than its peers (an outlier to find).
ADJUSTING_STORE = "UK002"
# Till that was offline and replays its sales late.
OFFLINE_STORE = "ES003"

USERS = [
    # username, role, stores, region, superuser
    ("admin", Role.ADMIN, (), None, True),
    ("manager.berlin", Role.STORE_MANAGER, ("DE001", "DE002"), None, False),
    ("manager.paris", Role.STORE_MANAGER, ("FR001", "FR002", "FR003"), None, False),
    ("ops.germany", Role.REGIONAL_OPS, (), "DE", False),
    ("planner", Role.PLANNER, (), None, False),
    ("finance", Role.FINANCE, (), None, False),
    ("integration", Role.INTEGRATION_ADMIN, (), None, False),
    ("pmo", Role.PMO, (), None, False),
    ("executive", Role.EXECUTIVE, (), None, False),
]


@dataclass(frozen=True)
class DemoSize:
    skus: int
    store_range: int  # SKUs ranged per store
    web_range: int
    sales_per_store_day: int
    orders_per_day: int
    counts: int
    adjustments: int


SIZES = {
    "full": DemoSize(skus=300, store_range=30, web_range=60, sales_per_store_day=14, orders_per_day=20,
                     counts=80, adjustments=40),
    # For tests: the same story with fewer rows.
    "small": DemoSize(skus=40, store_range=6, web_range=10, sales_per_store_day=2, orders_per_day=4,
                      counts=10, adjustments=8),
}


@dataclass
class DemoReport:
    events_loaded: bool
    created: dict = field(default_factory=dict)  # noun -> rows created this run
    totals: dict = field(default_factory=dict)  # noun -> rows in the database
    ingest: dict = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0})
    batches: int = 0
    tokens: dict = field(default_factory=dict)  # source code -> raw key (new tokens only)
    logins: list = field(default_factory=list)  # (username, role, scope)


def load_demo(seed=42, size="full", now=None) -> DemoReport:
    """Build (or top up) the demo retailer; see the module docstring."""
    dims = SIZES[size]
    now = now or timezone.now()
    rng = random.Random(seed)
    report = DemoReport(events_loaded=False)
    # One transaction: a load that fails half way leaves nothing behind.
    with transaction.atomic():
        regions = _regions(report)
        locations = _locations(regions, now, report)
        sources = _sources(locations, report)
        skus = _skus(rng, dims, report)
        report.logins = _users(regions, locations, report)
        for source in sources.values():
            if not ApiToken.objects.filter(source=source, revoked=False).exists():
                report.tokens[source.code] = ApiToken.issue(source=source)[1]
        if not InventoryEvent.objects.filter(transaction_id__startswith=TXN_PREFIX).exists():
            story = _Story(rng, dims, now, locations, skus)
            story.tell()
            _po_lines(story.po_lines, report)
            _post(story.events, sources, report)
            _snapshots(sources, now, report)
            report.events_loaded = True
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
    }
    return report


def _snapshots(sources, now, report):
    """What the WMS and the ERP say they hold, sent as a source sends them
    (`ingest_snapshot`): the ledger's own quantities as of the snapshot time,
    with a few lines off, so snapshot_mismatch and financial_variance find
    real differences. The WMS counts the DC two hours ago; the ERP values
    the pilot stores' available stock at the start of today."""
    cost = {sku.pk: (sku.code, sku.unit_cost) for sku in SKU.objects.all()}

    def lines(codes, as_of):
        ids = dict(Location.objects.filter(code__in=codes).values_list("pk", "code"))
        book = fold_ledger(location_ids=list(ids), as_of=as_of)
        return [
            {"location": ids[loc], "sku": cost[sku][0], "state": state, "quantity": quantity,
             "_cost": cost[sku][1]}
            for (loc, sku, state), quantity in sorted(book.items()) if state == "available" and quantity > 0
        ]

    counted_at = now - timedelta(hours=2)
    wms = lines([DC], counted_at)
    # Three SKUs the WMS holds differently, each beyond the DC's tolerance.
    for line, sign in zip(wms[5::40], (-1, 1, -1)):
        line["quantity"] = max(0, line["quantity"] + sign * (int(150 / line["_cost"]) + 6))
    valued_at = now.replace(hour=0, minute=0, second=0, microsecond=0)
    erp = lines(PILOT, valued_at)
    for line in erp:
        line["value"] = str((line["quantity"] * line["_cost"]).quantize(Decimal("0.01")))
    # Two lines the ERP values at a stale cost.
    for line in erp[3::25][:2]:
        line["value"] = str((Decimal(line["value"]) * Decimal("1.4") + 60).quantize(Decimal("0.01")))
    for source, kind, as_of, snapshot_lines in (
        ("WMS", Snapshot.Kind.ON_HAND, counted_at, wms), ("ERP", Snapshot.Kind.VALUATION, valued_at, erp)
    ):
        for line in snapshot_lines:
            del line["_cost"]
        ingest_snapshot(
            sources[source], as_of.isoformat(), snapshot_lines, received_at=as_of + timedelta(minutes=20), kind=kind
        )
        _count(report, "snapshots", True)


# --------------------------------------------------------------------------
# Master data and users
# --------------------------------------------------------------------------

def _count(report, noun, created):
    report.created[noun] = report.created.get(noun, 0) + int(created)


def _regions(report):
    regions = {}
    for code, name, _tz in REGIONS:
        regions[code], created = Region.objects.get_or_create(code=code, defaults={"name": name})
        _count(report, "regions", created)
    return regions


def _locations(regions, now, report):
    """{code: Location}; stores first, then the DC and the ecommerce node."""
    today = timezone.localdate(now)
    rows = []
    for region_code, _name, tz in REGIONS:
        for n, city in enumerate(STORES[region_code], 1):
            code = f"{region_code}{n:03d}"
            if code in PILOT:
                go_live = today - timedelta(days=21)
            elif code == CUTOVER_STORE:
                go_live = today - timedelta(days=3)
            else:
                go_live = today + timedelta(days=30 if region_code in ("DE", "FR") else 60)
            fmt = "Express" if n % 3 == 0 else "Supermarket"
            rows.append((code, city, Location.Kind.STORE, region_code, tz, fmt, go_live))
    rows.append((DC, "Central DC Kassel", Location.Kind.DC, "DE", "Europe/Berlin", "DC", None))
    rows.append((WEB, "Online fulfilment", Location.Kind.ECOMMERCE, "DE", "Europe/Berlin", "Online", None))
    locations = {}
    for code, name, kind, region_code, tz, fmt, go_live in rows:
        locations[code], created = Location.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "kind": kind, "region": regions[region_code], "timezone": tz,
                "banner": BANNER, "format": fmt, "go_live_date": go_live,
            },
        )
        _count(report, "locations", created)
    return locations


def _sources(locations, report):
    sources = {}
    lanes = _lanes(locations)
    for code, name, kind, generation, _push, interval, latency in SOURCES:
        sources[code], created = SourceSystem.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "kind": kind, "generation": generation,
                "expected_interval_s": interval, "latency_target_s": latency,
            },
        )
        stores, event_types, snapshot_kinds = lanes[code]
        set_lane(sources[code], locations=stores, event_types=event_types, snapshot_kinds=snapshot_kinds)
        _count(report, "source systems", created)
    return sources


def _lanes(locations):
    """{source: (location codes, event types, snapshot kinds)}: what each demo
    source sends. The cutover store is in both POS lanes; the ecommerce
    platform serves click & collect at the pilot stores; the ERP (which
    loads master data and PO lines by its kind) counts opening balances
    everywhere, so its lane has no locations."""
    stores = [code for code, location in locations.items() if location.kind == Location.Kind.STORE]
    return {
        "POS-LEGACY-EU": ([code for code in stores if code not in PILOT], TILL_TYPES, ["on_hand"]),
        "POS-NEXT": ([*PILOT, CUTOVER_STORE], TILL_TYPES, ["on_hand"]),
        "ECOM": (
            [WEB, *PILOT],
            ["reserve", "release", "pick", "pack", "stage", "fulfil", "return", "disposition", "write_off",
             "transfer_in"],
            ["on_hand"],
        ),
        "WMS": ([DC], ["receipt", "transfer_out", "damage", "write_off", "disposition", "cycle_count"], ["on_hand"]),
        "ERP": ([], ["cycle_count", "adjustment", "sales_posting"], ["valuation"]),
    }


def ean13(body12):
    """The 13-digit EAN for a 12-digit body: body plus its check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def _skus(rng, dims, report):
    """[(code, case unit, case factor, id)] after upserting SKUs, barcodes and conversions.

    Barcodes use the 200-299 prefix GS1 reserves for in-store numbering, so
    they can never be a real product's."""
    categories = list(CATEGORIES.items())
    specs = []
    for i in range(dims.skus):
        category, (products, sizes, (low, high), case_unit) = categories[i % len(categories)]
        description = f"{rng.choice(products)} {rng.choice(sizes)}"
        cost = Decimal(str(round(rng.uniform(low, high), 2)))
        code = f"SKU{10001 + i}"
        barcodes = [ean13(f"200{10001 + i:09d}")]
        if i % 5 == 0:  # a second barcode (e.g. a promotional pack)
            barcodes.append(ean13(f"201{10001 + i:09d}"))
        specs.append((code, f"{description} ({category})", category, cost, case_unit, barcodes))

    existing = set(SKU.objects.filter(code__in=[s[0] for s in specs]).values_list("code", flat=True))
    SKU.objects.bulk_create(
        [
            SKU(code=code, description=description, category=category, unit_cost=cost, base_unit="EA")
            for code, description, category, cost, _unit, _barcodes in specs
            if code not in existing
        ]
    )
    _count(report, "SKUs", len(specs) - len(existing))
    ids = dict(SKU.objects.filter(code__in=[s[0] for s in specs]).values_list("code", "id"))

    known_barcodes = set(Barcode.objects.filter(sku_id__in=ids.values()).values_list("code", flat=True))
    new_barcodes = [
        Barcode(code=barcode, sku_id=ids[code])
        for code, *_rest, barcodes in specs
        for barcode in barcodes
        if barcode not in known_barcodes
    ]
    Barcode.objects.bulk_create(new_barcodes)
    _count(report, "barcodes", len(new_barcodes))

    known_units = set(UnitConversion.objects.filter(sku_id__in=ids.values()).values_list("sku_id", "unit"))
    new_units = []
    out = []
    for code, _description, _category, _cost, case_unit, _barcodes in specs:
        factor = int(case_unit[2:])
        out.append((code, case_unit, factor, ids[code]))
        if (ids[code], case_unit) not in known_units:
            new_units.append(UnitConversion(sku_id=ids[code], unit=case_unit, factor=factor))
    UnitConversion.objects.bulk_create(new_units)
    _count(report, "unit conversions", len(new_units))
    return out


def _users(regions, locations, report):
    """Demo users, one per role; returns [(username, role label, scope)]."""
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow on purpose
    logins = []
    for username, role, stores, region_code, superuser in USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.invalid"}
        )
        _count(report, "users", created)
        user.is_superuser = user.is_staff = superuser
        user.password = password
        user.save()
        region = regions[region_code] if region_code else None
        profile, _ = Profile.objects.update_or_create(user=user, defaults={"role": role, "region": region})
        profile.locations.set([locations[code] for code in stores])
        scope = ", ".join(stores) or (f"region {region_code}" if region_code else "all locations")
        logins.append((username, role.label, scope))
    return logins


def _po_lines(po_lines, report):
    created = len(po_lines) - PurchaseOrderLine.objects.filter(
        po_number__in={p.po_number for p in po_lines}
    ).count()
    PurchaseOrderLine.objects.bulk_create(
        po_lines,
        update_conflicts=True,
        unique_fields=["po_number", "line"],
        update_fields=["location", "sku", "quantity_ordered", "status", "expected_at"],
    )
    _count(report, "PO lines", created)


# --------------------------------------------------------------------------
# Posting: each source pushes what happened since its last push
# --------------------------------------------------------------------------

@dataclass
class _Event:
    source: str
    occurred_at: datetime
    raw: dict
    received_at: datetime | None = None  # set for late replays; else the next push


def _post(events, sources, report):
    push = {code: timedelta(seconds=interval) for code, _n, _k, _g, interval, _i, _l in SOURCES}
    epoch = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))
    now = timezone.now()
    batches = defaultdict(list)
    for event in events:
        received_at = event.received_at
        if received_at is None:
            # The first push of this source after the event (plus transit time).
            ticks = (event.occurred_at + timedelta(seconds=5) - epoch) // push[event.source] + 1
            received_at = epoch + ticks * push[event.source]
        batches[(min(received_at, now), event.source)].append(event.raw)
    for (received_at, source_code), raw_events in sorted(batches.items()):
        result = ingest_events(sources[source_code], raw_events, received_at=received_at)
        for status, n in result.counts.items():
            report.ingest[status] += n
        report.batches += 1


# --------------------------------------------------------------------------
# The story of one week
# --------------------------------------------------------------------------

class _Story:
    """Generates the week's events (and the PO lines behind the receipts)."""

    def __init__(self, rng, dims, now, locations, skus):
        self.rng = rng
        self.dims = dims
        self.now = now
        self.start = now - timedelta(days=DAYS)
        self.locations = locations
        self.stores = [code for code, loc in locations.items() if loc.kind == Location.Kind.STORE]
        self.skus = [code for code, _unit, _factor, _id in skus]
        self.case = {code: (unit, factor) for code, unit, factor, _id in skus}
        self.sku_ids = {code: sku_id for code, _unit, _factor, sku_id in skus}
        self.barcode = {code: ean13(f"200{int(code[3:]):09d}") for code in self.skus}
        self.sku_of_barcode = {barcode: code for code, barcode in self.barcode.items()}
        self.events = []
        self.po_lines = []
        self.serial = 0
        # Available quantity changes per (location, sku): [(time, delta)],
        # so a cycle count can state a plausible counted quantity.
        self.moves = defaultdict(list)
        self.ranges = {}

    # -- helpers ---------------------------------------------------------
    def txn(self, kind):
        self.serial += 1
        return f"{TXN_PREFIX}{kind}-{self.serial:06d}"

    def local(self, code, when):
        return when.astimezone(ZoneInfo(self.locations[code].timezone))

    def store_time(self, code, day):
        """A time during opening hours (08:00-21:00 local) on day `day` (0 = today)."""
        tz = ZoneInfo(self.locations[code].timezone)
        date = (self.now - timedelta(days=day)).astimezone(tz).date()
        minute = self.rng.randrange(8 * 60, 21 * 60)
        return datetime(date.year, date.month, date.day, minute // 60, minute % 60,
                        self.rng.randrange(60), tzinfo=tz)

    def in_window(self, when):
        return self.start < when < self.now

    def store_source(self, code, when):
        if code in PILOT:
            return "POS-NEXT"
        if code == CUTOVER_STORE:
            return "POS-NEXT" if when >= self.now - timedelta(days=3) else "POS-LEGACY-EU"
        return "POS-LEGACY-EU"

    def add(self, source, kind, event_type, location, sku, quantity, when, available=0,
            to_location=None, unit=None, received_at=None, **fields):
        """Record one event; `available` is its base-unit effect on available
        stock at `location` (at `to_location` for the arriving leg)."""
        raw = {
            "transaction_id": self.txn(kind),
            "type": event_type,
            "location": location,
            "quantity": quantity,
            "occurred_at": self.local(location, when).isoformat(),
            **fields,
        }
        if source == "POS-NEXT" and event_type in ("sale", "return"):
            raw["barcode"] = self.barcode[sku]  # the target POS sends what it scanned
        else:
            raw["sku"] = sku
        if unit:
            raw["unit"] = unit
        if to_location:
            raw["to_location"] = to_location
        if available:
            self.moves[(location, sku)].append((when, available))
        self.events.append(_Event(source, when, raw, received_at))
        return raw

    def book(self, location, sku, when):
        return sum(delta for at, delta in self.moves[(location, sku)] if at <= when)

    # -- the week ----------------------------------------------------------
    def tell(self):
        rng, dims = self.rng, self.dims
        dc_range = set()
        for code in self.stores:
            self.ranges[code] = rng.sample(self.skus, dims.store_range)
            dc_range.update(self.ranges[code])
        self.ranges[WEB] = rng.sample(self.skus, dims.web_range)
        dc_range.update(self.ranges[WEB])
        self.ranges[DC] = sorted(dc_range)

        self.opening_balances()
        self.negative_pairs = self.sales_beyond_stock()
        self.receipts()
        self.transfers()
        self.sales()
        self.online_orders()
        self.returns()
        self.damage()
        self.adjustments()
        self.late_replays()
        self.erp_sales_postings()
        self.cycle_counts()
        self.bad_events()

    def opening_balances(self):
        """The stock migrated into the tower a week ago: one count per ranged SKU."""
        when = self.start - timedelta(hours=1)
        for code, skus in self.ranges.items():
            low, high = (200, 800) if code == DC else (20, 80)
            for sku in skus:
                quantity = self.rng.randint(low, high)
                self.add("ERP", "open", "cycle_count", code, sku, quantity, when, reason="OPENING_BALANCE")
                self.moves[(code, sku)].append((when, quantity))

    def sales_beyond_stock(self):
        """A few SKUs a store barely holds but keeps selling: available goes negative."""
        pairs = []
        for code in ("DE001", "FR002", "UK001"):
            sku = next(s for s in self.skus if s not in self.ranges[code])
            pairs.append((code, sku))
            self.add("ERP", "open", "cycle_count", code, sku, 2, self.start - timedelta(hours=1),
                     reason="OPENING_BALANCE")
            for day in (2, 1, 1, 0, 0):
                when = self.store_time(code, day)
                if self.in_window(when):
                    self.add(self.store_source(code, when), "sale", "sale", code, sku, 1, when,
                             available=-1)
        return set(pairs)

    def receipts(self):
        """Supplier deliveries into the DC against PO lines, in cases; a few
        are held for inspection, two arrive with no PO reference."""
        rng = self.rng
        skus = self.ranges[DC]
        n = max(len(skus) // 4, 6)
        for i in range(n):
            sku = rng.choice(skus)
            unit, factor = self.case[sku]
            cases = rng.randint(5, 20)
            when = self.start + timedelta(hours=rng.uniform(2, DAYS * 24 - 2))
            po_number = f"PO-DEMO-{4500000 + i}"
            self.po_lines.append(PurchaseOrderLine(
                po_number=po_number, line=1, location=self.locations[DC],
                sku_id=self.sku_ids[sku], quantity_ordered=cases * factor,
                expected_at=when - timedelta(hours=2),
            ))
            inspect = i % 9 == 4
            self.add("WMS", "rcpt", "receipt", DC, sku, cases, when, unit=unit, reference=po_number,
                     to_state="pending_inspection" if inspect else "available",
                     available=0 if inspect else cases * factor)
            if inspect and i % 2 == 0:  # inspected and released; the others still wait
                released = when + timedelta(hours=6)
                if self.in_window(released):
                    self.add("WMS", "disp", "disposition", DC, sku, cases * factor, released,
                             from_state="pending_inspection", to_state="available",
                             available=cases * factor)
        for _ in range(2):
            sku = rng.choice(skus)
            when = self.start + timedelta(hours=rng.uniform(2, DAYS * 24 - 2))
            quantity = rng.randint(6, 24)
            self.add("WMS", "rcpt", "receipt", DC, sku, quantity, when, available=quantity)

    def transfers(self):
        """Replenishment DC -> stores and the ecommerce node. Stores receive a
        day or two later; recent ones are still in transit, a few older ones
        never arrived and one arrived short."""
        rng = self.rng
        destinations = self.stores + [WEB]
        n = 0
        for day in range(DAYS - 1, -1, -1):
            for code in rng.sample(destinations, max(len(destinations) // 3, 2)):
                n += 1
                reference = f"TR-DEMO-{n:05d}"
                shipped = self.start + timedelta(days=DAYS - day, hours=-rng.uniform(4, 20))
                if not self.in_window(shipped):
                    continue
                lost = n % 17 == 5
                short = n == 3
                arrives = shipped + timedelta(hours=rng.uniform(18, 40))
                for sku in rng.sample(self.ranges[code], min(3, len(self.ranges[code]))):
                    unit, factor = self.case[sku]
                    cases = rng.randint(1, 3)
                    self.add("WMS", "xfer", "transfer_out", DC, sku, cases, shipped, unit=unit,
                             to_location=code, reference=reference, available=-cases * factor)
                    if lost or not self.in_window(arrives):
                        continue
                    received = cases * factor - (2 if short else 0)
                    source = "ECOM" if code == WEB else self.store_source(code, arrives)
                    self.add(source, "xfer", "transfer_in", code, sku, received, arrives,
                             reference=reference)
                    self.moves[(code, sku)].append((arrives, received))

    def sales(self):
        rng = self.rng
        for code in self.stores:
            for day in range(DAYS, -1, -1):
                for _ in range(self.dims.sales_per_store_day):
                    when = self.store_time(code, day)
                    if not self.in_window(when):
                        continue
                    sku = rng.choice(self.ranges[code])
                    quantity = rng.choice((1, 1, 1, 1, 2, 2, 3))
                    self.add(self.store_source(code, when), "sale", "sale", code, sku, quantity, when,
                             available=-quantity)

    def online_orders(self):
        """Orders through reserve -> pick -> pack -> stage -> fulfil at the
        ecommerce node, and click & collect at the pilot stores. Some are
        cancelled (release); the newest are still on their way."""
        rng = self.rng
        steps = [("pick", "reserved", "picked", 1), ("pack", "picked", "packed", 0.5),
                 ("stage", "packed", "staged", 0.5), ("fulfil", "staged", None, 3)]
        n = 0
        for day in range(DAYS, -1, -1):
            for _ in range(self.dims.orders_per_day):
                n += 1
                code = WEB if n % 5 else PILOT[n % len(PILOT)]
                when = self.store_time(code, day)
                if not self.in_window(when):
                    continue
                sku = rng.choice(self.ranges[code])
                quantity = rng.choice((1, 1, 2))
                order = f"ORD-DEMO-{n:06d}"
                self.add("ECOM", "ord", "reserve", code, sku, quantity, when, reference=order,
                         available=-quantity)
                if n % 13 == 0:
                    cancelled = when + timedelta(hours=2)
                    if self.in_window(cancelled):
                        self.add("ECOM", "ord", "release", code, sku, quantity, cancelled, reference=order,
                                 reason="CUSTOMER_CANCEL", available=quantity)
                    continue
                for event_type, from_state, to_state, hours in steps:
                    when = when + timedelta(hours=hours * rng.uniform(0.5, 2))
                    if not self.in_window(when):
                        break
                    fields = {"from_state": from_state}
                    if to_state:
                        fields["to_state"] = to_state
                    self.add("ECOM", "ord", event_type, code, sku, quantity, when, reference=order, **fields)

    def returns(self):
        """Customer returns land in `returned`; most are dispositioned within a
        day (back to stock, damaged, quarantined or written off), some wait."""
        rng = self.rng
        outcomes = ["available"] * 6 + ["damaged"] * 2 + ["quarantined", "written_off"]
        places = self.stores + [WEB] * 3
        for n in range(len(self.stores) * DAYS // 2):
            code = rng.choice(places)
            when = self.store_time(code, rng.randint(0, DAYS - 1))
            if not self.in_window(when):
                continue
            source = "ECOM" if code == WEB else self.store_source(code, when)
            sku = rng.choice(self.ranges[code])
            self.add(source, "ret", "return", code, sku, 1, when, reference=f"RMA-DEMO-{n + 1:05d}")
            decided = when + timedelta(hours=rng.uniform(2, 30))
            if n % 6 == 5 or not self.in_window(decided):
                continue
            outcome = rng.choice(outcomes)
            self.add(source, "disp", "disposition", code, sku, 1, decided, from_state="returned",
                     to_state=outcome, available=1 if outcome == "available" else 0)
            if outcome in ("damaged", "quarantined"):
                self.write_off(source, code, sku, 1, decided, outcome)

    def damage(self):
        rng = self.rng
        for _ in range(len(self.stores) + 4):
            code = rng.choice(self.stores + [DC] * 4)
            when = self.store_time(code, rng.randint(0, DAYS - 1))
            if not self.in_window(when):
                continue
            source = "WMS" if code == DC else self.store_source(code, when)
            sku = rng.choice(self.ranges[code])
            quantity = rng.randint(1, 4)
            self.add(source, "dmg", "damage", code, sku, quantity, when, reason="BROKEN_IN_STORE",
                     available=-quantity)
            if rng.random() < 0.6:
                self.write_off(source, code, sku, quantity, when, "damaged")

    def write_off(self, source, code, sku, quantity, after, state):
        when = after + timedelta(hours=self.rng.uniform(12, 36))
        if self.in_window(when):
            self.add(source, "wo", "write_off", code, sku, quantity, when, from_state=state,
                     reason="DESTROYED")

    def adjustments(self):
        """Manual adjustments with reason codes; one store adjusts far more than the rest."""
        rng = self.rng
        for i in range(self.dims.adjustments):
            code = ADJUSTING_STORE if i % 3 == 0 else rng.choice(self.stores)
            when = self.store_time(code, rng.randint(0, DAYS - 1))
            if not self.in_window(when):
                continue
            reason, sign = rng.choice(ADJUSTMENT_REASONS)
            quantity = sign * rng.randint(1, 6)
            sku = rng.choice(self.ranges[code])
            source = self.store_source(code, when) if i % 4 else "ERP"
            self.add(source, "adj", "adjustment", code, sku, quantity, when, reason=reason,
                     available=quantity)

    def late_replays(self):
        """A till at OFFLINE_STORE was offline for a day: its sales arrive now."""
        rng = self.rng
        self.replayed_sku = self.ranges[OFFLINE_STORE][0]
        for i in range(8):
            when = self.now - timedelta(hours=rng.uniform(30, 40))
            sku = self.replayed_sku if i < 2 else rng.choice(self.ranges[OFFLINE_STORE])
            self.add("POS-LEGACY-EU", "sale", "sale", OFFLINE_STORE, sku, 1, when, available=-1,
                     received_at=self.now - timedelta(minutes=rng.uniform(5, 20)))

    def erp_sales_postings(self):
        """The ERP posts the pilot stores' till sales per SKU and store day,
        the night after. One posting interface run dropped a line: that store
        day's POS sales and ERP postings differ (a sales posting gap)."""
        totals = defaultdict(int)
        for event in self.events:
            code = event.raw["location"]
            if event.raw["type"] == "sale" and code in PILOT:
                day = self.local(code, event.occurred_at).date()
                totals[(code, day, event.raw.get("sku") or self.sku_of_barcode[event.raw["barcode"]])] += (
                    event.raw["quantity"])
        lines = sorted(key for key in totals if key[1] < self.local(key[0], self.now).date())
        dropped = lines[len(lines) // 2] if lines else None
        for code, day, sku in lines:
            if (code, day, sku) == dropped:
                continue
            tz = ZoneInfo(self.locations[code].timezone)
            business_day = datetime(day.year, day.month, day.day, 23, 30, tzinfo=tz)
            posted = business_day + timedelta(hours=3)
            self.add("ERP", "post", "sales_posting", code, sku, totals[(code, day, sku)], business_day,
                     received_at=min(posted, self.now), reference=f"SALES-{code}-{day:%Y%m%d}")

    def cycle_counts(self):
        """Counts a few days in. The counted quantity is the book at the count
        time give or take a small variance; the offline store's count already
        holds the sales its till replays only later."""
        rng = self.rng
        pairs = [(OFFLINE_STORE, self.replayed_sku)]
        candidates = [(c, s) for c in self.stores + [DC] for s in self.ranges[c]]
        pairs += rng.sample(candidates, min(self.dims.counts, len(candidates)) - 1)
        for code, sku in pairs:
            if (code, sku) in self.negative_pairs:
                continue
            if code == OFFLINE_STORE and sku == self.replayed_sku:
                when = self.now - timedelta(hours=20)
            else:
                when = self.start + timedelta(hours=rng.uniform(24, DAYS * 24 - 1))
            variance = rng.choice((0, 0, 0, 0, -1, -1, -2, 1, -4))
            counted = max(self.book(code, sku, when) + variance, 0)
            source = "WMS" if code == DC else self.store_source(code, when)
            self.add(source, "cnt", "cycle_count", code, sku, counted, when, reason="CYCLE_COUNT")

    def bad_events(self):
        """What integrations really send: unknown SKUs and stores, a unit the
        SKU does not have, missing timestamps; plus one re-send of a sale
        (a duplicate) and one re-used transaction id (a conflict)."""
        when = self.now - timedelta(hours=3)
        code = "FR004"
        sku = self.ranges[code][0]
        for bad in (
            {"sku": "SKU99901"}, {"sku": "SKU99902"}, {"location": "XX999"},
            {"unit": "PAL"}, {"occurred_at": None}, {"occurred_at": None},
        ):
            raw = self.add("POS-LEGACY-EU", "bad", "sale", code, sku, 1, when)
            raw.update(bad)
            if raw["occurred_at"] is None:
                del raw["occurred_at"]
        sale = next(e for e in self.events if e.source == "POS-LEGACY-EU" and e.raw["type"] == "sale"
                    and e.occurred_at < self.now - timedelta(days=1) and e.received_at is None)
        resend = _Event("POS-LEGACY-EU", self.now - timedelta(hours=2), dict(sale.raw))
        conflict = _Event("POS-LEGACY-EU", self.now - timedelta(hours=2), {**sale.raw, "quantity": 7})
        self.events += [resend, conflict]
