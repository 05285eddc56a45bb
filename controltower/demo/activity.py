"""The demo retailer's activity: five weeks of events told as a story (`Week`),
posted through the ledger in the batches each source would push
(`post_events`), and the WMS and ERP snapshots sent on top (`send_snapshots`).

Every event goes through `inventory.ledger.ingest_events` and every snapshot
through `inventory.snapshots.ingest_snapshot`, so positions, transfers,
count anchors, latency and rejections are what the API would have produced.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from inventory.counts import count_tolerance, within_tolerance
from inventory.ledger import fold_ledger, ingest_events
from inventory.models import SKU, Location, PurchaseOrderLine, Snapshot
from inventory.snapshots import ingest_snapshot

from .masterdata import CUTOVER_STORE, DC, PILOT, PILOT_LIVE_DAYS, SOURCES, WEB, ean13

TXN_PREFIX = "demo-"
# Five weeks: a week before the pilot's cutover and four since, so the
# trends since go-live have weeks of points.
DAYS = 35

# When the demo replays the tower's nightly reconciliation over its history
# (UTC; after the last store in Europe closes).
NIGHTLY_RUN = time(22, 30)

ADJUSTMENT_REASONS = [("SHRINK", -1), ("FOUND", 1), ("ADMIN_CORRECTION", -1), ("ADMIN_CORRECTION", 1),
                      ("SPOILAGE", -1), ("SUPPLIER_SHORT", -1)]

# The value at cost of the launch transfer that gets stuck (over the
# severity-1 threshold, RECONCILIATION["severity_by_value"]).
LAUNCH_VALUE = Decimal("6000")

# Store with many more manual adjustments than its peers (an outlier to find).
ADJUSTING_STORE = "UK002"
# Till that was offline and replays its sales late.
OFFLINE_STORE = "ES003"

# The share of cycle counts that match the record exactly. Published store
# studies find 60-65% of records right (DOMAIN.md); the pilot stores climb
# from there after their cutover (scanning on the new tills, counts in the
# new system) towards, not yet to, the 95% their hypercare exit asks; the DC
# is better than a store to start with.
EXACT_BEFORE = 0.62
EXACT_PILOT_NOW = 0.75
EXACT_DC = 0.8
# What a count finds when it does not match: mostly less than the record (shrink).
COUNT_VARIANCES = (-1, -1, -1, -2, -2, -3, -5, -8, 1, 2)


# --------------------------------------------------------------------------
# Posting: each source pushes what happened since its last push, and the
# WMS and the ERP send their snapshots
# --------------------------------------------------------------------------

@dataclass
class SourceEvent:
    """One event as a source system sends it: its raw JSON and when it happened."""

    source: str
    occurred_at: datetime
    raw: dict
    received_at: datetime | None = None  # set for late replays; else the next push


def post_events(events, sources, now, report, nightly=None):
    """Post the events through the ledger, each source's in the batches it
    would push (every push interval, see SOURCES), oldest batch first, none
    after `now`; the answers are counted on the report. `nightly(moment)`,
    when given, runs at NIGHTLY_RUN (UTC) of every day the batches cross,
    between the batches received before it and after it: the tower's runs
    over the history."""
    push = {code: timedelta(seconds=interval) for code, _n, _k, _g, interval, _i, _l in SOURCES}
    epoch = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))
    batches = defaultdict(list)
    for event in events:
        received_at = event.received_at
        if received_at is None:
            # The first push of this source after the event (plus transit time).
            ticks = (event.occurred_at + timedelta(seconds=5) - epoch) // push[event.source] + 1
            received_at = epoch + ticks * push[event.source]
        batches[(min(received_at, now), event.source)].append(event.raw)
    night = None
    for (received_at, source_code), raw_events in sorted(batches.items()):
        if nightly is not None:
            night = night or _night_after(received_at)
            while night <= received_at:
                nightly(night)
                night += timedelta(days=1)
        result = ingest_events(sources[source_code], raw_events, received_at=received_at)
        for status, n in result.counts.items():
            report.ingest[status] += n
        report.batches += 1


def _night_after(moment):
    """The first NIGHTLY_RUN after `moment`."""
    night = datetime.combine(moment.astimezone(dt_timezone.utc).date(), NIGHTLY_RUN, tzinfo=dt_timezone.utc)
    return night if night > moment else night + timedelta(days=1)


def send_snapshots(sources, now, report):
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
            sources[source], as_of.isoformat(), snapshot_lines, kind=kind,
            received_at=min(as_of + timedelta(minutes=20), now),  # loaded at 00:10 UTC: received now
        )
        report.count("snapshots", True)


# --------------------------------------------------------------------------
# The story of five weeks
# --------------------------------------------------------------------------

class Week:
    """Generates the five weeks' events (and the PO lines behind the receipts):
    `tell()` fills `events` (SourceEvent, in story order) and `po_lines`."""

    def __init__(self, rng, dims, now, locations, skus):
        self.rng = rng
        self.dims = dims
        self.now = now
        self.start = now - timedelta(days=DAYS)
        self.pilot_cutover = now - timedelta(days=PILOT_LIVE_DAYS)
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
            return "POS-NEXT" if when >= self.pilot_cutover else "POS-LEGACY-EU"
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
        self.events.append(SourceEvent(source, when, raw, received_at))
        return raw

    def book(self, location, sku, when):
        return sum(delta for at, delta in self.moves[(location, sku)] if at <= when)

    # -- the five weeks ----------------------------------------------------
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
        self.stuck_launch_transfer()

    def opening_balances(self):
        """The stock migrated into the tower five weeks ago: one count per ranged SKU."""
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
        n = max(len(skus) * DAYS // 28, 6)
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
        never arrived and one arrived short. One the WMS shipped never
        reached the tower (its transfer_out was lost): the store's
        transfer_in is all there is of it."""
        rng = self.rng
        destinations = self.stores + [WEB]
        n = 0
        shipment_lost = False
        for day in range(DAYS - 1, -1, -1):
            for code in rng.sample(destinations, max(len(destinations) // 3, 2)):
                n += 1
                reference = f"TR-DEMO-{n:05d}"
                shipped = self.start + timedelta(days=DAYS - day, hours=-rng.uniform(4, 20))
                if not self.in_window(shipped):
                    continue
                lost = n % 53 == 5
                short = n == 3
                arrives = shipped + timedelta(hours=rng.uniform(18, 40))
                # Lost well before now: past the grace the sender's feed is given.
                lose_shipment = not (shipment_lost or lost or short) and arrives < self.now - timedelta(hours=12)
                shipment_lost = shipment_lost or lose_shipment
                for sku in rng.sample(self.ranges[code], min(3, len(self.ranges[code]))):
                    unit, factor = self.case[sku]
                    cases = rng.randint(1, 3)
                    if not lose_shipment:
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
        cancelled (release); the newest are still on their way. Two days ago
        one web order's picker scanned a whole case for it: the pick is of
        more than was reserved."""
        rng = self.rng
        steps = [("pick", "reserved", "picked", 1), ("pack", "picked", "packed", 0.5),
                 ("stage", "packed", "staged", 0.5), ("fulfil", "staged", None, 3)]
        n = 0
        overpicked = False
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
                    if event_type == "pick" and code == WEB and day == 2 and not overpicked:
                        overpicked = True
                        fields["unit"] = self.case[sku][0]  # one case of the SKU, not `quantity` each
                        self.add("ECOM", "ord", event_type, code, sku, 1, when, reference=order, **fields)
                        continue
                    self.add("ECOM", "ord", event_type, code, sku, quantity, when, reference=order, **fields)
        # A click & collect order nobody picked or cancelled: held beyond the
        # BOPIS channel's 72 h (a reservation_not_released case).
        code, when = PILOT[0], self.now - timedelta(days=4)
        self.add("ECOM", "ord", "reserve", code, self.ranges[code][0], 1, when, reference="ORD-DEMO-BOPIS-1",
                 reason="bopis", available=-1)

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
            # The last days' returns wait at times; the older ones were all decided.
            waits = n % 6 == 5 and when > self.now - timedelta(days=4)
            if waits or not self.in_window(decided):
                continue
            outcome = rng.choice(outcomes)
            self.add(source, "disp", "disposition", code, sku, 1, decided, from_state="returned",
                     to_state=outcome, available=1 if outcome == "available" else 0)
            if outcome in ("damaged", "quarantined"):
                self.write_off(source, code, sku, 1, decided, outcome)

    def damage(self):
        rng = self.rng
        for _ in range((len(self.stores) + 4) * DAYS // 7):
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
        for i in range(self.dims.adjustments * DAYS // 7):
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
        """The new ERP posts the pilot stores' till sales per SKU at the close
        of each store day from their go-live day, and its interface sends them
        within minutes (so the pilot's sync latency drops at go-live). One
        posting run a few days ago dropped a line: that store day's POS
        sales and ERP postings differ (a sales posting gap)."""
        totals = defaultdict(int)
        for event in self.events:
            code = event.raw["location"]
            if (event.raw["type"] == "sale" and code in PILOT
                    and self.local(code, event.occurred_at).date() >= self.locations[code].go_live_date):
                day = self.local(code, event.occurred_at).date()
                totals[(code, day, event.raw.get("sku") or self.sku_of_barcode[event.raw["barcode"]])] += (
                    event.raw["quantity"])
        lines = sorted(key for key in totals if key[1] < self.local(key[0], self.now).date())
        recent = [key for key in lines if key[1] >= self.local(key[0], self.now).date() - timedelta(days=3)]
        dropped = recent[len(recent) // 2] if recent else None
        for code, day, sku in lines:
            if (code, day, sku) == dropped:
                continue
            tz = ZoneInfo(self.locations[code].timezone)
            business_day = datetime(day.year, day.month, day.day, 23, 30, tzinfo=tz)
            posted = business_day + timedelta(minutes=4)
            self.add("ERP", "post", "sales_posting", code, sku, totals[(code, day, sku)], business_day,
                     received_at=min(posted, self.now), reference=f"SALES-{code}-{day:%Y%m%d}")

    def cycle_counts(self):
        """Counts every day, `dims.counts` location x SKU pairs a day. A
        count finds the book at its time or, as often as real stores do, a
        little off it (EXACT_*); the pilot stores grow more accurate after
        their cutover. Each count resets the book, so the next count of the
        pair is judged against it, as the ledger judges it. The offline
        store's count already holds the sales its till replays only later."""
        rng = self.rng
        candidates = [(c, s) for c in self.stores + [DC] for s in self.ranges[c]
                      if (c, s) not in self.negative_pairs]
        counts = [(OFFLINE_STORE, self.replayed_sku, self.now - timedelta(hours=20))]
        for day in range(DAYS - 1, -1, -1):
            # A location counts the day's pairs in one walk, half a minute apart.
            walks = defaultdict(list)
            for code, sku in rng.sample(candidates, min(self.dims.counts, len(candidates))):
                walks[code].append(sku)
            for code, skus in sorted(walks.items()):
                start = self.store_time(code, day)
                for i, sku in enumerate(skus):
                    when = start + timedelta(seconds=30 * i)
                    if self.in_window(when) and (code, sku) != counts[0][:2]:
                        counts.append((code, sku, when))
        # The exact share is kept per group of locations (the pilot, the other
        # stores, the DC) by a running balance, not by chance: even the small
        # demo's few counts miss as often as the share says.
        balance = defaultdict(lambda: 0.5)
        # In time order, with the recounts the pilot's hypercare team does a
        # day after each variance beyond tolerance (one that opens a case):
        # they find the new record (the count set it), which closes the case
        # the night after. A miss within tolerance opens no case and stays a
        # miss, so the pilot's accuracy stays short of its hypercare exit
        # at any hour the demo is loaded (not only when a case happens to
        # wait for its recount).
        store_tolerance = count_tolerance(Location.Kind.STORE)
        queue = [(when, code, sku, False) for code, sku, when in counts]
        heapq.heapify(queue)
        while queue:
            when, code, sku, recount = heapq.heappop(queue)
            book = self.book(code, sku, when)
            source = "WMS" if code == DC else self.store_source(code, when)
            if recount:
                self.add(source, "cnt", "cycle_count", code, sku, book, when, reason="RECOUNT")
                continue
            group = "DC" if code == DC else "pilot" if code in PILOT else "stores"
            balance[group] += self.exact_share(code, when)
            exact = balance[group] >= 1
            if exact:
                balance[group] -= 1
            counted = max(book + (0 if exact else rng.choice(COUNT_VARIANCES)), 0)
            self.add(source, "cnt", "cycle_count", code, sku, counted, when, reason="CYCLE_COUNT")
            self.moves[(code, sku)].append((when, counted - book))
            recount_at = when + timedelta(days=1)
            if (counted != book and code in PILOT and when >= self.pilot_cutover and self.in_window(recount_at)
                    and not within_tolerance(counted - book, book, store_tolerance)):
                heapq.heappush(queue, (recount_at, code, sku, True))

    def exact_share(self, code, when):
        """How likely a count at `code` at `when` matches the record (see EXACT_BEFORE)."""
        if code == DC:
            return EXACT_DC
        if code in PILOT and when >= self.pilot_cutover:
            live = (when - self.pilot_cutover) / (self.now - self.pilot_cutover)
            return EXACT_BEFORE + (EXACT_PILOT_NOW - EXACT_BEFORE) * live
        return EXACT_BEFORE

    def stuck_launch_transfer(self):
        """Hypercare's severity-1: a week after the pilot's cutover the DC
        ships a new range's launch stock (over LAUNCH_VALUE at cost) to the
        first pilot store, and the store books it in only four days later,
        past the transfer SLA: the nightly reconciliation opens a severity-1
        case and clears it once the receipt is in."""
        code = PILOT[0]
        shipped = self.pilot_cutover + timedelta(days=7, hours=6)
        arrives = shipped + timedelta(days=4, hours=3)
        if not self.in_window(arrives):
            return
        new_range = [sku for sku in self.ranges[DC] if sku not in self.ranges[code]]
        cost = dict(SKU.objects.filter(code__in=new_range).values_list("code", "unit_cost"))
        sku = max(new_range, key=lambda s: (cost[s] * self.book(DC, s, shipped), s))
        quantity = min(self.book(DC, sku, shipped), int(LAUNCH_VALUE / cost[sku]) + 1)
        reference = "TR-DEMO-LAUNCH"
        self.add("WMS", "xfer", "transfer_out", DC, sku, quantity, shipped, to_location=code,
                 reference=reference, available=-quantity)
        self.add(self.store_source(code, arrives), "xfer", "transfer_in", code, sku, quantity, arrives,
                 reference=reference)
        self.moves[(code, sku)].append((arrives, quantity))

    def bad_events(self):
        """What integrations really send: unknown SKUs and stores, a unit the
        SKU does not have, missing timestamps; plus one re-send of a sale
        (a duplicate), one re-used transaction id (a conflict) and one sale
        sent again under a new transaction id (a suspected duplicate)."""
        # A recent sale sent again under a new transaction id after its till's
        # push (every 15 min) took it: a suspected duplicate (a replay with a new key).
        recent = next(e for e in reversed(self.events) if e.source == "POS-LEGACY-EU" and e.raw["type"] == "sale"
                      and self.now - timedelta(hours=20) < e.occurred_at < self.now - timedelta(hours=1)
                      and e.received_at is None)
        replay = SourceEvent("POS-LEGACY-EU", recent.occurred_at,
                             {**recent.raw, "transaction_id": recent.raw["transaction_id"] + "-R"},
                             received_at=recent.occurred_at + timedelta(minutes=20))
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
        resend = SourceEvent("POS-LEGACY-EU", self.now - timedelta(hours=2), dict(sale.raw))
        conflict = SourceEvent("POS-LEGACY-EU", self.now - timedelta(hours=2), {**sale.raw, "quantity": 7})
        self.events += [resend, conflict, replay]

