"""What the simulated sources send, and when the tower hears it: every
message waits on the wire until its received time, then goes through the
tower's public ingest services in the batches each source pushes, with the
tower's scheduled runs in between at their own simulated times.

The tills' stream goes through `send_till_batch` only: their sale and
return lines as one ARTS POSLog document (inventory.adapters.poslog, what a
till's log would send), the rest of what a till sends (counts,
dispositions, write-offs, transfers received) in the tower's JSON events.
A POSLog line's key is the adapter's (store/workstation/sequence/day/line):
`key_of` says which key the tower will hold for a message.
"""
from __future__ import annotations

import heapq
from collections import Counter
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from xml.sax.saxutils import escape, quoteattr

import orjson
from django.conf import settings

from exceptions.detectors import DETECTORS
from exceptions.reconciliation import run_reconciliation
from inventory.adapters import registry
from inventory.journeys import ingest_steps
from inventory.ledger import IngestReport
from inventory.purchase_orders import import_po_lines
from inventory.snapshots import ingest_snapshot

EPOCH = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)
# The runs a beat would make: every kind nightly (after the snapshots are
# in), stale_feed through the day as beat runs it every few minutes.
NIGHTLY_HOUR = 2
STALE_EVERY = timedelta(hours=2)
# A silent feed's backlog comes in this long after its silent day.
SILENT_UNTIL = timedelta(hours=6)


POSLOG_NAMESPACE = "http://www.nrf-arts.org/IXRetail/namespace/"
TILL_LINES = ("sale", "return")
WORKSTATION = "1"


def send_till_batch(source, events, received_at):
    """The one way the tills' stream enters the tower (see the module
    docstring); returns the tower's answers, one per event, as an IngestReport."""
    lines = [event for event in events if event["type"] in TILL_LINES]
    others = [event for event in events if event["type"] not in TILL_LINES]
    results = []
    if lines:
        report = registry.get("poslog").receive(source, poslog(lines), received_at=received_at)
        results.extend(report.results)
    if others:
        body = orjson.dumps({"events": others})
        results.extend(registry.get("events").receive(source, body, received_at=received_at).results)
    return IngestReport(results)


def poslog(lines):
    """A POSLog document of till lines, one retail transaction each: the
    simulator's transaction id is the till's sequence number."""
    transactions = []
    for line in lines:
        at = datetime.fromisoformat(line["occurred_at"])
        quantity = line["quantity"]
        unit = f" UnitOfMeasureCode={quoteattr(line['unit'])}" if line.get("unit") not in (None, "EA") else ""
        kind = "Sale" if line["type"] == "sale" else "Return"
        transactions.append(
            f"<Transaction><RetailStoreID>{escape(line['location'])}</RetailStoreID>"
            f"<WorkstationID>{WORKSTATION}</WorkstationID>"
            f"<SequenceNumber>{escape(line['transaction_id'])}</SequenceNumber>"
            f"<BusinessDayDate>{at.date().isoformat()}</BusinessDayDate>"
            f"<EndDateTime>{at.isoformat()}</EndDateTime>"
            f"<OperatorID>{escape(line.get('cashier', ''))}</OperatorID><CurrencyCode>EUR</CurrencyCode>"
            f"<RetailTransaction><LineItem><SequenceNumber>1</SequenceNumber>"
            f"<{kind} ItemType=\"Stock\"><ItemID>{escape(line['sku'])}</ItemID>"
            f"<Quantity{unit}>{quantity}</Quantity></{kind}></LineItem></RetailTransaction></Transaction>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><POSLog xmlns="{POSLOG_NAMESPACE}">'
            + "".join(transactions) + "</POSLog>").encode()


def key_of(feed, raw):
    """The key the tower holds for a message: a till line's POSLog key, else its transaction id."""
    if feed == "till" and raw.get("type") in TILL_LINES:
        day = datetime.fromisoformat(raw["occurred_at"]).date().isoformat()
        return f"{raw['location']}/{WORKSTATION}/{raw['transaction_id']}/{day}/1"
    return raw["transaction_id"]


def pushed_at(occurred_at, push_s):
    """The first push of a source pushing every `push_s` seconds after `occurred_at` (plus transit)."""
    ticks = (occurred_at + timedelta(seconds=5) - EPOCH) // timedelta(seconds=push_s) + 1
    return EPOCH + ticks * timedelta(seconds=push_s)


class Wire:
    """Messages by received time; `deliver(until)` posts what arrived before it."""

    def __init__(self, sources):
        self.sources = sources
        self.queue = []
        self.seq = 0
        self.answers = Counter()  # ingest answers: accepted, duplicate, conflict, rejected
        self.counts = Counter()  # what was sent: events, till events, journey steps, snapshots, PO lines
        self.runs = 0
        self.next_nightly = None
        self.next_stale = None
        self.keyed_answers = {}  # (source, transaction id) -> answer, for the keys asked about
        self.watched = set()
        self.silent = {}  # source -> (from, until): it sends nothing then, its backlog afterwards

    def put(self, received_at, source, feed, payload):
        """feed: till | events | steps (payload one raw item), snapshot, po (payload a whole message)."""
        # By time, then source and feed: what one source pushes at once is one batch.
        heapq.heappush(self.queue, (received_at, source, feed, self.seq, payload))
        self.seq += 1

    def watch(self, source, transaction_id):
        """Keep the tower's answer to this key (a fault's resend)."""
        self.watched.add((source, transaction_id))

    def start(self, moment):
        """Beat starts at noon of the first day, once every feed has had its
        chance to send; the first nightly run is the night after."""
        self.next_stale = moment + timedelta(hours=12)
        day = self.next_stale.replace(hour=NIGHTLY_HOUR, minute=0, second=0, microsecond=0)
        self.next_nightly = day if day > self.next_stale else day + timedelta(days=1)

    def deliver(self, until):
        """Post every message received before `until`, in order and batched
        per (time, source, feed), with the tower's runs due in between."""
        while self.queue and self.queue[0][0] < until:
            received_at, source, feed, seq, payload = heapq.heappop(self.queue)
            silent = self.silent.get(source)
            if silent and silent[0] <= received_at < silent[1]:
                heapq.heappush(self.queue, (silent[1] + SILENT_UNTIL, source, feed, seq, payload))
                continue
            self._runs_before(received_at)
            batch = [payload]
            # One request a push, at most as many events as the API takes in one.
            while (self.queue and self.queue[0][:3] == (received_at, source, feed)
                   and feed in ("till", "events", "steps") and len(batch) < settings.INGEST_MAX_EVENTS):
                batch.append(heapq.heappop(self.queue)[4])
            self._post(received_at, source, feed, batch)
        self._runs_before(until)

    def _post(self, received_at, source_code, feed, batch):
        source = self.sources[source_code]
        if feed == "till":
            report = send_till_batch(source, batch, received_at)
        elif feed == "events":
            report = registry.get("events").receive(source, orjson.dumps({"events": batch}), received_at=received_at)
        elif feed == "steps":
            report = ingest_steps(source, batch, received_at=received_at)
        elif feed == "snapshot":
            (message,) = batch
            ingest_snapshot(source, message["as_of"], message["lines"], received_at=received_at,
                            kind=message["kind"])
            self.counts["snapshots"] += 1
            self.counts["snapshot lines"] += len(message["lines"])
            return
        else:  # po
            (rows,) = batch
            import_po_lines(rows, source=source, received_at=received_at)
            self.counts["PO lines"] += len(rows)
            return
        self.counts["journey steps" if feed == "steps" else "events"] += len(batch)
        self.answers.update(report.counts)
        if self.watched:
            for result in report.results:
                if (source_code, result.transaction_id) in self.watched:
                    self.keyed_answers[(source_code, result.transaction_id)] = result.status

    def _runs_before(self, moment):
        while True:
            due = min(self.next_nightly, self.next_stale)
            if due > moment:
                return
            if due == self.next_nightly:
                for kind in DETECTORS:
                    run_reconciliation(kind, now=due)
                self.next_nightly += timedelta(days=1)
            else:
                run_reconciliation("stale_feed", now=due)
                self.next_stale += STALE_EVERY
            self.runs += 1


def run_every_kind(now):
    """Every registered detector and reconciliation kind, as the tower would run it at `now`."""
    for kind in DETECTORS:
        run_reconciliation(kind, now=now)
