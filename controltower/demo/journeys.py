"""The demo's cross-channel journeys: 35 days of them, posted as the sources
would post their steps (`inventory.journeys.ingest_steps`).

- Orders: web orders shipped from the online node, ship-from-store orders,
  and click & collect (bopis) orders made ready at a store and collected,
  with a few percent falling out (by reason), a few substituted or short,
  and a few ready but never collected (stuck past the 72 h SLA: cases).
- Returns: initiated online, received at a store, inspected, refunded and
  settled in finance, a few received and never refunded.
- Promotions: a weekly promotion per store, its till lines and the prices
  cashiers overrode (one cashier a store more often than the others),
  settled the week after.
- Replenishment: recommended, ordered from a supplier or transferred from
  the DC, received days later; a few never received.

Deterministic (its own seeded random), times relative to the first load;
loaded once: when demo journey steps exist, nothing is posted again.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

from inventory.journeys import ingest_steps
from inventory.models import JourneyStep, Location, SourceSystem

from .activity import TXN_PREFIX

DAYS = 35
PREFIX = f"{TXN_PREFIX}j-"
FALLOUT_REASONS = (("out_of_stock", 5), ("damaged", 2), ("not_found", 2), ("payment_declined", 1))
OVERRIDE_REASONS = ("price_match", "damaged_pack", "ticket_error", "manager_discretion")

PER_DAY = (8, 2, 1, 1)  # orders, returns, promotion lines a store, replenishments
STORES = 6  # the first stores by code have journeys


def load_journeys(seed, now, report):
    """Post the demo journeys once; returns the steps accepted."""
    if JourneyStep.objects.filter(transaction_id__startswith=PREFIX).exists():
        return 0
    story = Story(random.Random(f"journeys-{seed}"), now)
    story.tell()
    accepted = story.post()
    report.count("journey steps", accepted)
    return accepted


class Story:
    def __init__(self, rng, now):
        self.rng, self.now = rng, now
        self.orders, self.returns, self.promotion_lines, self.replenishments = PER_DAY
        self.stores = list(Location.objects.filter(kind=Location.Kind.STORE, active=True).order_by("code")[:STORES])
        self.live = {store.code for store in self.stores if store.go_live_date and store.go_live_date <= now.date()}
        self.web = Location.objects.filter(kind=Location.Kind.ECOMMERCE).order_by("code").first()
        self.steps = []  # (source code, payload)
        self.count = 0

    def add(self, source, journey, business_id, step, at, **extra):
        if at > self.now:  # not happened yet
            return False
        self.count += 1
        self.steps.append((source, {
            "transaction_id": f"{PREFIX}{self.count:06d}", "journey": journey, "business_id": business_id,
            "step": step, "occurred_at": at.isoformat(), **extra,
        }))
        return True

    def till(self, store):
        return "POS-NEXT" if store.code in self.live else "POS-LEGACY-EU"

    def tell(self):
        start = self.now - timedelta(days=DAYS)
        for day in range(DAYS):
            opening = start + timedelta(days=day)
            for n in range(self.orders):
                self.order(f"ORD-{day:02d}{n:03d}", opening + timedelta(minutes=self.rng.randint(8 * 60, 20 * 60)))
            for n in range(self.returns):
                self.return_(f"RET-{day:02d}{n:03d}", opening + timedelta(minutes=self.rng.randint(8 * 60, 22 * 60)))
            for n in range(self.replenishments):
                self.replenishment(f"REP-{day:02d}{n:03d}", opening + timedelta(hours=self.rng.randint(6, 18)))
            for store in self.stores:
                self.promotion_day(store, day, opening)

    def order(self, order_id, placed):
        rng, kind = self.rng, "order_to_fulfilment"
        channel = rng.choices(("bopis", "web", "ship_from_store"), weights=(5, 3, 2))[0]
        store = self.web if channel == "web" else rng.choice(self.stores)
        quantity = rng.randint(1, 6)
        self.add("ECOM", kind, order_id, "placed", placed, channel=channel, quantity=quantity)
        self.add("ECOM", kind, order_id, "reserved", placed + timedelta(minutes=rng.randint(1, 10)))
        picked = placed + timedelta(minutes=rng.randint(30, 180) if rng.random() > 0.1 else rng.randint(300, 900))
        if rng.random() < 0.035:
            reason = rng.choices([r for r, _ in FALLOUT_REASONS], weights=[w for _, w in FALLOUT_REASONS])[0]
            self.add("ECOM", kind, order_id, "fallout", picked, location=store.code, reason=reason)
            return
        self.add("ECOM", kind, order_id, "picked", picked, location=store.code, quantity=quantity)
        if channel != "bopis":
            self.add("ECOM", kind, order_id, "shipped", picked + timedelta(hours=rng.randint(2, 20)),
                     location=store.code, quantity=quantity)
            return
        if rng.random() < 0.04:
            self.add("ECOM", kind, order_id, "substituted", picked + timedelta(minutes=5), location=store.code)
        ready = picked + timedelta(minutes=rng.randint(10, 60))
        self.add("ECOM", kind, order_id, "ready_for_pickup", ready, location=store.code)
        if rng.random() < 0.03:  # never collected: stuck once past the SLA
            return
        delivered = quantity - 1 if quantity > 1 and rng.random() < 0.02 else quantity
        self.add(self.till(store), kind, order_id, "collected", ready + timedelta(hours=rng.randint(1, 60)),
                 location=store.code, quantity=delivered)

    def return_(self, return_id, initiated):
        rng, kind = self.rng, "return_to_refund"
        store = rng.choice(self.stores)
        self.add("ECOM", kind, return_id, "initiated", initiated, channel="web")
        received = initiated + timedelta(hours=rng.randint(20, 96))
        self.add(self.till(store), kind, return_id, "received", received, location=store.code, quantity=1)
        self.add(self.till(store), kind, return_id, "inspected", received + timedelta(hours=rng.randint(1, 8)),
                 location=store.code)
        if rng.random() < 0.02:  # never refunded: stuck past five days
            return
        refunded = received + timedelta(hours=rng.randint(4, 100))
        amount = f"{rng.randint(5, 120)}.{rng.randint(0, 99):02d}"
        self.add("ERP", kind, return_id, "refunded", refunded, amount=amount)
        self.add("ERP", kind, return_id, "settled", refunded + timedelta(hours=rng.randint(30, 230)), amount=amount)

    def promotion_day(self, store, day, opening):
        rng, kind = self.rng, "promotion_to_settlement"
        week = day // 7
        promotion_id = f"PROMO-W{week}:{store.code}"
        cashiers = [f"{store.code}-C{n}" for n in range(1, 4)]
        for n in range(self.promotion_lines):
            sold = opening + timedelta(minutes=rng.randint(9 * 60, 20 * 60))
            self.add(self.till(store), kind, promotion_id, "promotion_sale", sold, location=store.code,
                     channel="store", quantity=1, amount=f"{rng.randint(1, 9)}.99")
            if rng.random() < 0.05:
                cashier = rng.choices(cashiers, weights=(6, 2, 1))[0]
                self.add(self.till(store), kind, promotion_id, "price_override", sold + timedelta(seconds=30),
                         location=store.code, channel="store", reason=rng.choice(OVERRIDE_REASONS), cashier=cashier,
                         amount="-1.00")
        if day % 7 == 6:
            self.add("ERP", kind, promotion_id, "settled", opening + timedelta(days=3, hours=6))

    def replenishment(self, replenishment_id, recommended):
        rng, kind = self.rng, "inventory_to_replenishment"
        store = rng.choice(self.stores)
        self.add("ERP", kind, replenishment_id, "recommended", recommended, location=store.code,
                 quantity=rng.randint(6, 48))
        if rng.random() < 0.4:
            self.add("WMS", kind, replenishment_id, "transferred", recommended + timedelta(hours=rng.randint(4, 20)),
                     reference=f"TR-{replenishment_id}")
            arrival = timedelta(hours=rng.randint(20, 60))
        else:
            self.add("ERP", kind, replenishment_id, "ordered", recommended + timedelta(hours=rng.randint(1, 12)),
                     reference=f"PO-{replenishment_id}")
            arrival = timedelta(days=rng.randint(2, 8))
        if rng.random() < 0.04:  # never received: stuck past 14 days
            return
        self.add(self.till(store), kind, replenishment_id, "received", recommended + timedelta(days=1) + arrival,
                 location=store.code)

    def post(self):
        """Each source's steps in a batch a week (received a quarter of an
        hour after its last step), oldest first: few batches keep the load
        fast, and the journeys come out the same in any batching. Returns
        the steps accepted."""
        sources = {source.code: source for source in SourceSystem.objects.all()}
        start = self.now - timedelta(days=DAYS)
        batches = defaultdict(list)
        for source, payload in self.steps:
            week = (datetime.fromisoformat(payload["occurred_at"]) - start).days // 7
            batches[(week, source)].append(payload)
        accepted = 0
        for (_, source), payloads in sorted(batches.items()):
            latest = max(payload["occurred_at"] for payload in payloads)
            received_at = min(self.now, datetime.fromisoformat(latest) + timedelta(minutes=15))
            accepted += ingest_steps(sources[source], payloads, received_at=received_at).counts["accepted"]
        return accepted
