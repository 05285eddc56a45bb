"""The second half of the story (rollout.simulator.story): stock on its way
and online orders. The DC ships cases to the stores and the web node every
night (transfers), buys from suppliers against PO lines and receives them,
the WMS and the ERP send their snapshots, and online orders (click and
collect, ship from store, web) go through every journey step with their
ledger movements.

A mixin of Story: it uses the story's shelf, book, wire and ground truth.
"""
from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from .world import DC, ECOM, ERP, WEB, WMS

DC_COVER_DAYS = 21
SUPPLIER_LEAD = timedelta(days=2)
CANCELLED = 0.08
# channel, share of the orders, where it is fulfilled
CHANNELS = (("bopis", 0.6), ("ship_from_store", 0.25), ("web", 0.15))


class Logistics:
    # ------------------------------------------------------------ transfers

    def replenish(self, day, last_days):
        """Tonight's transfers: every location under its reorder point gets
        cases to a week of cover; the DC orders from its supplier."""
        when = self._clock
        for location in [*self.estate.stores, WEB]:
            for item in self.estate.items:
                daily = self.demand(item, day) * self._base_per_line(item)
                if self.book[(location, item.code)] >= daily * 3:
                    continue
                cases = math.ceil((daily * 7 - self.book[(location, item.code)]) / item.case_factor)
                if cases > 0 and self.shelf[(DC, item.code)] >= cases * item.case_factor:
                    self.ship(location, item, cases, when, last_days)
        for item in self.estate.items:
            need = self.demand(item, day) * self._base_per_line(item) * (len(self.estate.stores) + 1)
            if self.book[(DC, item.code)] < need * 7 and item.code not in self.on_order:
                self.purchase(item, math.ceil(need * DC_COVER_DAYS / item.case_factor), when, last_days)

    def ship(self, location, item, cases, when, last_days):
        reference = f"TR-{self.n + 1}"
        quantity = cases * item.case_factor
        self.move(DC, item.code, -quantity)
        self.send(WMS, "events", {"transaction_id": self.txn("tout"), "type": "transfer_out", "location": DC,
                                  "to_location": location, "sku": item.code, "quantity": cases,
                                  "unit": item.case_unit, "reference": reference,
                                  "occurred_at": when.isoformat()}, when)
        if not last_days and self.truth.roll("transfer_never_received"):
            self.truth.record("transfer_never_received", when, location=location, sku=item.code,
                              reference=reference, source=WMS)
            return  # lost on the way: it never arrives
        self.at(when + timedelta(hours=11), self.receive_transfer, location, item, cases, reference)

    def receive_transfer(self, location, item, cases, reference):
        when = self._clock
        source = ECOM if location == WEB else self.till(location, when)
        raw = {"transaction_id": self.txn("tin"), "type": "transfer_in", "location": location, "sku": item.code,
               "quantity": cases, "unit": item.case_unit, "reference": reference, "occurred_at": when.isoformat()}
        if self.truth.roll("case_as_each"):
            raw["unit"] = "G" if item.weighed else "EA"
            self.truth.record("case_as_each", when, location=location, sku=item.code, source=source,
                              reference=reference, sent=cases, meant=cases * item.case_factor)
        self.move(location, item.code, cases * item.case_factor)
        self.send(source, "till" if source != ECOM else "events", raw, when)

    def purchase(self, item, cases, when, last_days):
        """A PO line the ERP loads tonight, received by the WMS two days later."""
        po = self.txn("po").replace("sim-po-", "PO-")
        rows = [{"po_number": po, "line": 1, "location": DC, "sku": item.code,
                 "quantity": cases * item.case_factor, "expected_at": (when + SUPPLIER_LEAD).isoformat()}]
        self.wire.put(when + timedelta(minutes=30), ERP, "po", rows)
        self.on_order.add(item.code)
        self.at(when + SUPPLIER_LEAD - timedelta(hours=11), self.receive_po, item, cases, po)

    def receive_po(self, item, cases, po):
        when = self._clock
        raw = {"transaction_id": self.txn("rcpt"), "type": "receipt", "location": DC, "sku": item.code,
               "quantity": cases, "unit": item.case_unit, "reference": po, "occurred_at": when.isoformat()}
        if self.truth.roll("case_as_each"):
            raw["unit"] = "G" if item.weighed else "EA"
            self.truth.record("case_as_each", when, location=DC, sku=item.code, source=WMS, reference=po,
                              sent=cases, meant=cases * item.case_factor)
        self.move(DC, item.code, cases * item.case_factor)
        self.on_order.discard(item.code)
        self.send(WMS, "events", raw, when)

    # ------------------------------------------------------------ orders

    def online_order(self, last_days):
        when = self._clock
        roll = self.rng.random()
        channel = "web"
        for name, share in CHANNELS:
            if roll < share:
                channel = name
                break
            roll -= share
        location = WEB if channel == "web" else self.rng.choice(self.estate.stores)
        code = self.rng.choices(self.codes, self.weights)[0]
        item = self.items[code]
        if item.weighed:
            return
        quantity = self.rng.choice((1, 1, 2))
        if self.shelf[(location, code)] < quantity:
            return
        order = f"WEB-{self.n + 1}"
        self.move(location, code, -quantity)
        self.step(order, "placed", when, channel=channel)
        # A web order is held as long as the tower's default (the web channel's hold is a cart's).
        self.ledger("reserve", location, code, quantity, order, when, **({} if channel == "web" else {"reason": channel}))
        self.step(order, "reserved", when + timedelta(minutes=1), channel=channel)
        if self.rng.random() < CANCELLED:
            self.at(when + timedelta(hours=3), self.cancel, order, location, code, quantity, last_days)
            return
        self.at(when + timedelta(hours=2), self.pick_to_stage, order, location, code, quantity, channel)

    def cancel(self, order, location, code, quantity, last_days):
        when = self._clock
        self.step(order, "cancelled", when)
        self.move(location, code, quantity)  # back on the shelf, and in the store's own books
        if not last_days and self.truth.roll("reservation_never_released"):
            self.truth.record("reservation_never_released", when, location=location, sku=code, reference=order,
                              source=ECOM)
            return
        self.ledger("release", location, code, quantity, order, when)

    def pick_to_stage(self, order, location, code, quantity, channel):
        when = self._clock
        for minutes, kind in ((0, "pick"), (10, "pack"), (20, "stage")):
            self.ledger(kind, location, code, quantity, order, when + timedelta(minutes=minutes))
        self.step(order, "picked", when, location=location)
        if channel == "bopis":
            self.step(order, "ready_for_pickup", when + timedelta(minutes=25), location=location)
            self.at(when + timedelta(hours=self.rng.randint(4, 40)), self.hand_over, order, location, code,
                    quantity, "collected")
        else:
            self.at(when + timedelta(hours=2), self.hand_over, order, location, code, quantity, "shipped")

    def hand_over(self, order, location, code, quantity, step):
        when = self._clock
        self.ledger("fulfil", location, code, quantity, order, when)
        self.step(order, step, when, location=location)

    def step(self, order, name, when, **extra):
        self.send(ECOM, "steps", {"transaction_id": self.txn("ostep"), "journey": "order_to_fulfilment", "business_id": order,
                                  "step": name, "occurred_at": when.isoformat(), **extra}, when)

    def ledger(self, kind, location, code, quantity, order, when, **extra):
        self.send(ECOM, "events", {"transaction_id": self.txn(kind), "type": kind, "location": location,
                                   "sku": code, "quantity": quantity, "reference": order,
                                   "occurred_at": when.isoformat(), **extra}, when)

    # ------------------------------------------------------------ snapshots

    def wms_snapshot(self, day):
        """What the WMS books at the DC, every night."""
        when = self._clock
        lines = [{"location": DC, "sku": item.code, "state": "available",
                  "quantity": max(0, self.book[(DC, item.code)])} for item in self.estate.items]
        self.wire.put(when + timedelta(minutes=30), WMS, "snapshot",
                      {"as_of": when.isoformat(), "lines": lines, "kind": "on_hand"})

    def erp_valuation(self, day):
        """The ERP's stock and value at its own cost, every Sunday night and at the end."""
        when = self._clock
        lines = []
        for location in [*self.estate.stores, WEB, DC]:
            for item in self.estate.items:
                quantity = max(0, self.book[(location, item.code)])
                value = (Decimal(quantity) * self.erp_cost[item.code]).quantize(Decimal("0.01"))
                lines.append({"location": location, "sku": item.code, "state": "available", "quantity": quantity,
                              "value": str(value)})
        self.wire.put(when + timedelta(minutes=30), ERP, "snapshot",
                      {"as_of": when.isoformat(), "lines": lines, "kind": "valuation"})
