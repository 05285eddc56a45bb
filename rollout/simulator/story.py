"""The simulated retailer through time: what happens in its stores, DC and
online, day by day, with the faults injected where they happen.

A discrete-event story: each day puts its actions on an agenda (by the time
they happen); each action moves the stock the retailer really has
(`shelf`, the physical truth) and what its own systems book (`book`, what
the tower's ledger should hold when nothing goes wrong between systems),
and puts what the sources send on the wire (rollout.simulator.wire), which
the tower hears at its received time. Quantities are the `available` state
in base units. A fault changes what is sent (or the shelf), never the book:
so at a pair without faults the tower's position equals the book.
"""
from __future__ import annotations

import heapq
import math
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from .faults import GroundTruth
from .logistics import Logistics
from .wire import key_of, pushed_at
from .world import DC, ECOM, ERP, POUND, POUNDS_REGION, SOURCES, WEB, WMS

PUSH = {code: push for code, _k, _g, push, _i, _l in SOURCES}
SALES_PER_STORE_DAY = 40
# Monday first: weekends sell more.
WEEKLY = (0.8, 0.85, 0.9, 1.0, 1.25, 1.45, 0.75)
PROMOTION_CATEGORY = "Beverages"
PROMOTION_LIFT = 1.8
RETURNS_PER_STORE_DAY = 2
COUNTS_PER_STORE_DAY = 4
DAYS_OF_COVER = 7
LATE_BY_HOURS = (6, 40)  # how late an offline till's sales come in
SLA_MARGIN = timedelta(days=4)  # a fault of a timed kind is injected only this long before the end
SHRINK_ITEMS = 20
# Phantom stock strikes a fast mover (one that sells at least this many
# lines a day at a store, on average) that has sold for at least
# PHANTOM_HISTORY, and at least PHANTOM_NOTICE before the end: a shelf
# emptied in the last hours of the run has had no time to be missed.
FAST_MOVER_LINES_A_DAY = 1.0
PHANTOM_HISTORY = timedelta(days=14)
PHANTOM_NOTICE = timedelta(days=7)
FRAUD_REFUNDS_PER_DAY = 4


class Story(Logistics):
    def __init__(self, estate, wire, truth: GroundTruth, rng, start, days):
        self.estate, self.wire, self.truth, self.rng = estate, wire, truth, rng
        self.fault_rng = truth.rng
        self.start, self.days = start, days
        self.end = start + timedelta(days=days)
        self.items = {item.code: item for item in estate.items}
        self.codes = [item.code for item in estate.items]
        self.weights = [item.velocity for item in estate.items]
        self.shelf = defaultdict(int)
        self.book = defaultdict(int)
        self.erp_cost = {item.code: item.cost for item in estate.items}
        self.agenda = []
        self.seq = 0
        self.n = 0  # a counter for transaction ids
        self.late = {}  # store -> (from, until, received_at): a till offline
        self.late_skus = defaultdict(list)  # store -> SKUs its offline till sold
        self.offline_fault = {}  # store -> the late_replay fault of its latest offline window
        self.shrinking = {}  # store -> its shrinking items
        self.fraud = {}  # store -> cashier
        self.on_order = set()
        self.sold_pairs = set()
        self.sales = 0
        promo_saturday = start + timedelta(days=(5 - start.weekday()) % 7 + 7 * ((days // 7) // 2))
        self.promotion_days = {promo_saturday.date(), (promo_saturday + timedelta(days=1)).date()}
        self._clock = start

    # ------------------------------------------------------------ plumbing

    def at(self, when, action, *args):
        heapq.heappush(self.agenda, (when, self.seq, action, args))
        self.seq += 1

    def txn(self, prefix):
        self.n += 1
        return f"sim-{prefix}-{self.n}"

    def send(self, source, feed, raw, occurred_at, resend_ok=True):
        """Put `raw` on the wire at the source's next push, or later: an
        offline till's replay (the wire holds a silent feed's day). Faults of
        a message: the same key sent twice, the same content under a new key."""
        received_at = pushed_at(occurred_at, PUSH[source])
        store = raw.get("location")
        late = self.late.get(store) if feed == "till" else None
        if late and late[0] <= occurred_at < late[1]:
            received_at = max(received_at, late[2])
            if raw.get("type") == "sale":
                self.late_skus[store].append(raw["sku"])
            self._offline_line(store, source, raw, occurred_at, received_at)
        self.wire.put(received_at, source, feed, raw)
        if not resend_ok or feed == "steps":
            return
        resent_at = received_at + timedelta(seconds=PUSH[source])
        if self.truth.roll("same_key_duplicate"):
            self.wire.put(resent_at, source, feed, dict(raw))
            self.wire.watch(source, key_of(feed, raw))
            self.truth.record("same_key_duplicate", occurred_at, location=raw.get("location", ""),
                              sku=raw.get("sku", ""), source=source, reference=key_of(feed, raw))
        if self.truth.roll("new_key_replay"):
            again = {**raw, "transaction_id": raw["transaction_id"] + "-resent"}
            self.wire.put(resent_at, source, feed, again)
            self.truth.record("new_key_replay", occurred_at, location=raw.get("location", ""),
                              sku=raw.get("sku", ""), source=source, reference=key_of(feed, again),
                              business_reference=raw.get("reference", ""),
                              format="poslog" if key_of(feed, again) != again["transaction_id"] else "events")

    def _offline_line(self, store, source, raw, occurred_at, received_at):
        """One fault per offline window (the store-day the rate is per), recorded with its first
        line: the pairs its lines touched, which the tower must end up holding as the books do."""
        fault = self.offline_fault.get(store)
        if fault is None or fault.details["until"] != self.late[store][1].isoformat():
            fault = self.truth.record(
                "late_replay", occurred_at, location=store, source=source,
                reference=f"offline-{store}-{self.late[store][0]:%Y%m%d%H}", skus=[], lines=0,
                until=self.late[store][1].isoformat(), received_at=received_at.isoformat())
            self.offline_fault[store] = fault
        fault.details["lines"] += 1
        if raw.get("sku") and raw["sku"] not in fault.details["skus"]:
            fault.details["skus"].append(raw["sku"])

    def till(self, store, occurred_at):
        """The till source of a sale at `store`: the coexistence store has both."""
        if store == self.estate.coexisting:
            return self.estate.till_of[store] if self.rng.random() < 0.5 else "SIM-POS-LEGACY"
        return self.estate.till_of[store]

    def move(self, location, sku, delta, shelf=True):
        self.book[(location, sku)] += delta
        if shelf:
            self.shelf[(location, sku)] += delta

    def demand(self, item, day):
        """Expected sale lines a day of `item` at one store."""
        return SALES_PER_STORE_DAY * item.velocity * WEEKLY[day.weekday()]

    def unit_quantity(self, item, store):
        """(quantity as sent, its unit, base units) of one sale line: the
        West region's tills weigh in pounds (a decimal factor, rounded to the
        nearest gram, halves up, as the ledger rounds a measure)."""
        quantity = self.rng.choice(item.sale_quantities)
        if item.weighed and store.startswith(POUNDS_REGION):
            grams = (Decimal(quantity) * POUND).to_integral_value(rounding=ROUND_HALF_UP)
            return str(quantity), "LBR", int(grams)
        if item.weighed:
            return str(quantity), "KG", int(Decimal(quantity) * 1000)
        return quantity, "EA", quantity

    # ------------------------------------------------------------ the run

    def opening(self):
        """Opening balances the ERP counts an hour before the story starts:
        a week of cover and a case at every store, the web node and the DC."""
        at = self.start - timedelta(hours=1)
        for location in [*self.estate.stores, WEB, DC]:
            for item in self.estate.items:
                cover = self.demand(item, self.start) * DAYS_OF_COVER * self._base_per_line(item) + item.case_factor
                quantity = math.ceil(cover) * (len(self.estate.stores) + 1 if location == DC else 1)
                self.shelf[(location, item.code)] = self.book[(location, item.code)] = quantity
                self.send(ERP, "events", {"transaction_id": self.txn("open"), "type": "cycle_count",
                                          "location": location, "sku": item.code, "quantity": quantity,
                                          "occurred_at": at.isoformat()}, at, resend_ok=False)
        self._roll_standing_faults()

    def _base_per_line(self, item):
        if item.weighed:
            return sum(int(Decimal(q) * 1000) for q in item.sale_quantities) / len(item.sale_quantities)
        return sum(item.sale_quantities) / len(item.sale_quantities)

    def _roll_standing_faults(self):
        """The faults that belong to a store, a pair or a SKU for the whole run."""
        top = sorted(self.estate.items, key=lambda item: -item.velocity)
        fast = self.fast_movers()
        for store in self.estate.stores:
            if self.truth.roll("shrink_store"):
                self.shrinking[store] = [item.code for item in top[:SHRINK_ITEMS] if not item.weighed]
                self.truth.record("shrink_store", self.start, location=store)
            if self.truth.roll("refund_cashier"):
                cashier = self.estate.cashiers[store][0]
                self.fraud[store] = cashier
                self.truth.record("refund_cashier", self.start + timedelta(days=self.days // 3), location=store,
                                  reference=cashier, cashier=cashier)
            for item in fast:
                if self.truth.roll("phantom_stock"):
                    day = self.fault_rng.randint(PHANTOM_HISTORY.days, self.days - PHANTOM_NOTICE.days)
                    self.at(self.start + timedelta(days=day, hours=3), self.empty_shelf, store, item.code)
        for item in self.estate.items:
            if self.truth.roll("missed_cost_change"):
                day = self.start + timedelta(days=self.fault_rng.randint(0, max(0, self.days - 2)))
                self.at(day + timedelta(hours=5), self.change_cost, item.code)

    def fast_movers(self):
        """The SKUs that sell steadily at every store, when the run is long
        enough for phantom stock to strike one after its history and be
        missed before the end (none otherwise)."""
        if timedelta(days=self.days) < PHANTOM_HISTORY + PHANTOM_NOTICE:
            return []
        return [item for item in self.estate.items if SALES_PER_STORE_DAY * item.velocity >= FAST_MOVER_LINES_A_DAY]

    def plan_day(self, d, day):
        last_days = day + SLA_MARGIN >= self.end
        for source in dict.fromkeys((*self.estate.till_of.values(), ECOM, WMS)):
            if source not in self.wire.silent and self.truth.roll("silent_feed") and not last_days:
                self.wire.silent[source] = (day, day + timedelta(days=1))
                self.truth.record("silent_feed", day, source=source)
        for store in self.estate.stores:
            self.at(day + timedelta(hours=6), self.count, store, day)
            if self.truth.roll("late_replay") and not last_days:
                offline = day + timedelta(hours=self.fault_rng.randint(9, 14))
                back = offline + timedelta(hours=self.fault_rng.randint(*LATE_BY_HOURS))
                self.late[store] = (offline, offline + timedelta(hours=3), back)
                # Half of them are counted the morning after, before the replay comes in.
                if self.fault_rng.random() < 0.5:
                    self.at(day + timedelta(days=1, hours=5), self.count_offline_sales, store)
            lines = self._poisson(SALES_PER_STORE_DAY * WEEKLY[day.weekday()])
            for _ in range(lines):
                code = self.rng.choices(self.codes, self.weights)[0]
                when = day + timedelta(hours=8, seconds=self.rng.randrange(12 * 3600))
                self.at(when, self.sell, store, code)
            if day.date() in self.promotion_days:
                for item in self.estate.items:
                    if item.category == PROMOTION_CATEGORY:
                        for _ in range(self._poisson(self.demand(item, day) * (PROMOTION_LIFT - 1))):
                            when = day + timedelta(hours=8, seconds=self.rng.randrange(12 * 3600))
                            self.at(when, self.sell, store, item.code)
            for _ in range(self._poisson(RETURNS_PER_STORE_DAY)):
                when = day + timedelta(hours=9, seconds=self.rng.randrange(10 * 3600))
                self.at(when, self.customer_return, store, last_days)
            if store in self.fraud and d >= self.days // 3:
                for _ in range(FRAUD_REFUNDS_PER_DAY):
                    when = day + timedelta(hours=10, seconds=self.rng.randrange(8 * 3600))
                    self.at(when, self.refund_without_goods, store, self.fraud[store])
            if store in self.shrinking:
                self.at(day + timedelta(hours=19), self.shrink, store)
        for hour in range(6, 23, 2):
            self.at(day + timedelta(hours=hour), self.count_dc)
        for _ in range(self._poisson(max(6, len(self.estate.stores) // 2))):
            when = day + timedelta(hours=8, seconds=self.rng.randrange(14 * 3600))
            self.at(when, self.online_order, last_days)
        self.at(day + timedelta(hours=15), self.unknown_skus, day)
        self.at(day + timedelta(hours=21), self.replenish, day, last_days)
        self.at(day + timedelta(hours=23, minutes=45), self.wms_snapshot, day)
        if day.weekday() == 6 or d == self.days - 1:
            self.at(day + timedelta(hours=23, minutes=50), self.erp_valuation, day)
        if day.date() == max(self.promotion_days):
            self.at(day + timedelta(days=3, hours=10), self.settle_promotion, day)

    def _poisson(self, mean):
        """A Poisson draw (Knuth's for small means, a rounded normal above)."""
        if mean > 30:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    # ------------------------------------------------------------ the stores

    def sell(self, store, code):
        when = self._clock
        item = self.items[code]
        quantity, unit, base = self.unit_quantity(item, store)
        if self.shelf[(store, code)] < base:
            return  # a lost sale: nothing on the shelf
        self.move(store, code, -base)
        self.sales += 1
        self.sold_pairs.add((store, code))
        cashier = self.rng.choice(self.estate.cashiers[store])
        receipt = f"R-{store}-{self.n + 1}"
        source = self.till(store, when)
        self.send(source, "till", {"transaction_id": self.txn("sale"), "type": "sale", "location": store,
                                   "sku": code, "quantity": quantity, "unit": unit, "reference": receipt,
                                   "cashier": cashier, "occurred_at": when.isoformat()}, when)
        if when.date() in self.promotion_days and item.category == PROMOTION_CATEGORY:
            self.send(source, "steps", {
                "transaction_id": self.txn("promo"), "journey": "promotion_to_settlement", "business_id": "PROMO-WEEKEND",
                "step": "promotion_sale", "location": store, "cashier": cashier, "quantity": base,
                "occurred_at": when.isoformat()}, when)

    def count(self, store, day):
        """The morning's cycle counts: the fast movers more often."""
        self._count(store, self.rng.choices(self.codes, self.weights, k=COUNTS_PER_STORE_DAY))

    def count_offline_sales(self, store):
        """Counting what the offline till sold, before its replay comes in."""
        self._count(store, self.late_skus.pop(store, []))

    def _count(self, store, codes):
        when = self._clock
        for code in dict.fromkeys(codes):
            quantity = self.shelf[(store, code)]
            self.book[(store, code)] = quantity
            self.send(self.till(store, when), "till", {
                "transaction_id": self.txn("count"), "type": "cycle_count", "location": store, "sku": code,
                "quantity": quantity, "occurred_at": when.isoformat()}, when, resend_ok=False)

    def count_dc(self):
        """The DC counts a location every two hours, a fast mover more often."""
        when = self._clock
        code = self.rng.choices(self.codes, self.weights)[0]
        self.book[(DC, code)] = self.shelf[(DC, code)]
        self.send(WMS, "events", {"transaction_id": self.txn("count"), "type": "cycle_count", "location": DC,
                                  "sku": code, "quantity": self.shelf[(DC, code)], "occurred_at": when.isoformat()},
                  when, resend_ok=False)

    def shrink(self, store):
        """Stock that walks out of the shrinking store, recorded by nobody."""
        for code in self.rng.sample(self.shrinking[store], min(5, len(self.shrinking[store]))):
            if self.shelf[(store, code)] > 0:
                self.shelf[(store, code)] -= 1

    def empty_shelf(self, store, code):
        if self.shelf[(store, code)] <= 0:
            return
        self.shelf[(store, code)] = 0
        self.truth.record("phantom_stock", self._clock, location=store, sku=code, book=self.book[(store, code)])

    def change_cost(self, code):
        self.erp_cost[code] = (self.erp_cost[code] * Decimal("1.25")).quantize(Decimal("0.0001"))
        self.truth.record("missed_cost_change", self._clock, sku=code, cost=str(self.erp_cost[code]))

    def customer_return(self, store, last_days):
        when = self._clock
        code = self.rng.choices(self.codes, self.weights)[0]
        item = self.items[code]
        if item.weighed:
            return  # fresh produce is not taken back
        cashier = self.rng.choice(self.estate.cashiers[store][1:] or self.estate.cashiers[store])
        reference = f"RET-{store}-{self.n + 1}"
        source = self.till(store, when)
        self.send(source, "till", {"transaction_id": self.txn("return"), "type": "return", "location": store,
                                   "sku": code, "quantity": 1, "reference": reference, "cashier": cashier,
                                   "occurred_at": when.isoformat()}, when)
        self._refund_steps(source, store, reference, cashier, when, Decimal(item.cost * 2).quantize(Decimal("0.01")))
        if not last_days and self.truth.roll("return_never_dispositioned"):
            self.truth.record("return_never_dispositioned", when, location=store, sku=code, reference=reference)
            return
        self.at(when + timedelta(hours=20), self.disposition, source, store, code, reference)

    def disposition(self, source, store, code, reference):
        when = self._clock
        damaged = self.rng.random() < 0.2
        self.send(source, "till", {"transaction_id": self.txn("disp"), "type": "disposition", "location": store,
                                   "sku": code, "quantity": 1, "to_state": "damaged" if damaged else "available",
                                   "reference": reference, "occurred_at": when.isoformat()}, when)
        if damaged:
            self.at(when + timedelta(days=2), self.write_off, source, store, code, reference)
        else:
            self.move(store, code, 1)

    def write_off(self, source, store, code, reference):
        when = self._clock
        self.send(source, "till", {"transaction_id": self.txn("woff"), "type": "write_off", "location": store,
                                   "sku": code, "quantity": 1, "reference": reference,
                                   "occurred_at": when.isoformat()}, when)

    def _refund_steps(self, source, store, reference, cashier, when, amount):
        for hours, step in ((0, "received"), (1, "inspected"), (2, "refunded"), (50, "settled")):
            at = when + timedelta(hours=hours)
            raw = {"transaction_id": self.txn("rstep"), "journey": "return_to_refund", "business_id": reference,
                   "step": step, "occurred_at": at.isoformat()}
            if step == "received":
                raw["location"] = store
            if step == "refunded":
                raw.update(cashier=cashier, amount=str(amount))
            self.send(source, "steps", raw, at)

    def refund_without_goods(self, store, cashier):
        """The abnormal cashier's refunds: a journey to the refund, no goods back."""
        when = self._clock
        code = self.rng.choices(self.codes, self.weights)[0]
        amount = (self.items[code].cost * 3).quantize(Decimal("0.01"))
        self._refund_steps(self.till(store, when), store, f"RET-{store}-{self.n + 1}", cashier, when, amount)

    def unknown_skus(self, day):
        """A till sending a burst of SKUs the tower has never heard of."""
        if not self.truth.roll("unknown_sku_burst"):
            return
        store = self.fault_rng.choice(self.estate.stores)
        source = self.estate.till_of[store]
        when = self._clock
        for n in range(20):
            self.send(source, "till", {"transaction_id": self.txn("unknown"), "type": "sale", "location": store,
                                       "sku": f"NEW-{day:%m%d}-{n}", "quantity": 1,
                                       "reference": f"R-{store}-{self.n + 1}", "occurred_at": when.isoformat()},
                      when, resend_ok=False)
        self.truth.record("unknown_sku_burst", when, location=store, source=source)

    def settle_promotion(self, day):
        when = self._clock
        self.send(ECOM, "steps", {"transaction_id": self.txn("promo"), "journey": "promotion_to_settlement",
                                  "business_id": "PROMO-WEEKEND", "step": "settled",
                                  "occurred_at": when.isoformat()}, when)

    def run(self, progress=None, until=None):
        """Day by day: plan it, play its actions in time order, deliver what
        the tower heard before midnight (its runs in between). The clock
        stops at `until` when given (the demo's load time): nothing after
        it happens."""
        stop = until or self.end + timedelta(hours=1)
        self.opening()
        self.wire.start(self.start - timedelta(hours=1))
        for d in range(self.days):
            day = self.start + timedelta(days=d)
            self.plan_day(d, day)
            horizon = min(day + timedelta(days=1), stop)
            while self.agenda and self.agenda[0][0] < horizon:
                when, _seq, action, args = heapq.heappop(self.agenda)
                self._clock = when
                action(*args)
            self.wire.deliver(horizon)
            self.truth.flush()
            if progress:
                progress(d + 1)
        self.wire.deliver(min(self.end + timedelta(hours=1), stop))
        self.truth.flush()
