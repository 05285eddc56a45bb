"""Cross-channel journeys: steps in, each journey's state and step times derived.

Four journeys, each keyed by a business id (DOMAIN.md, "Journeys and KPIs"):
an order to its fulfilment, a return to its refund, a promotion at a store to
its settlement, a replenishment to its receipt. Sources post the steps
(`ingest_steps`: POST /api/v1/journeys, the demo, the replay of rejections)
with the rules of inventory events (inventory.ledger.posting): (source,
transaction_id) is the idempotency key, the same content is a duplicate and
other content a conflict, a bad step is rejected with errors per field and
kept (RejectedEvent, feed "journeys") for replay, the batch goes on.

A journey's state is that of its highest step in the journey's order, ties
broken by occurred time: never by arrival order, so steps arriving late or
twice leave the same journey. Step times are each step's earliest
occurrence. They are recomputed from all the journey's steps, under its row
lock (controltower.locks), whenever one arrives: two requests posting steps
of one journey at once queue instead of losing a step.

The step SLAs (`SLAS`) are defined here, once: a journey whose state has
run past its SLA is stuck (Journey.due_at in the past) and has a case
(exceptions.reconciliation.journeys).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from controltower.db import select_rows
from controltower.locks import lock_rows

from . import fields
from .ledger.posting import CONFLICT_ERRORS, EventResult, IngestError, IngestReport
from .models import Channel, Journey, JourneyKind, JourneyStep, RejectedEvent

ORDER, RETURN, PROMOTION, REPLENISHMENT = (
    JourneyKind.ORDER, JourneyKind.RETURN, JourneyKind.PROMOTION, JourneyKind.REPLENISHMENT,
)


@dataclass(frozen=True)
class Step:
    """A step of a journey: its place in the journey's order, the state it
    sets (None: a mark on the journey, such as a substitution) and what it
    must carry."""

    rank: int
    state: str | None
    needs_location: bool = False
    needs_reason: bool = False
    needs_cashier: bool = False


STEPS = {
    ORDER: {
        "placed": Step(10, "placed"),
        "reserved": Step(20, "reserved"),
        "picked": Step(30, "picked", needs_location=True),
        "substituted": Step(35, None),
        "ready_for_pickup": Step(40, "ready_for_pickup", needs_location=True),
        "collected": Step(50, "collected", needs_location=True),
        "shipped": Step(50, "shipped"),
        "cancelled": Step(60, "cancelled"),
        "fallout": Step(60, "fallout", needs_reason=True),
    },
    RETURN: {
        "initiated": Step(10, "initiated"),
        "received": Step(20, "received", needs_location=True),
        "inspected": Step(30, "inspected"),
        "refunded": Step(40, "refunded"),
        "settled": Step(50, "settled"),
    },
    PROMOTION: {
        # A promotion runs at a store: its till lines sold at the promotion
        # price, and the prices a cashier overrode at the till, with a reason.
        "price_override": Step(10, "selling", needs_location=True, needs_reason=True, needs_cashier=True),
        "promotion_sale": Step(10, "selling", needs_location=True),
        "settled": Step(30, "settled"),
    },
    REPLENISHMENT: {
        "recommended": Step(10, "recommended"),
        "ordered": Step(20, "ordered"),
        "transferred": Step(20, "transferred"),
        "received": Step(30, "received", needs_location=True),
    },
}

# Journey.business_id's length: a stuck journey's case names it in its reference.
BUSINESS_ID_LENGTH = 100

STEP_NAMES = sorted({name for steps in STEPS.values() for name in steps})


@dataclass(frozen=True)
class StepSla:
    """While a journey of `kind` is in one of `states`, it must move on
    within `hours` of the earliest of the steps `since` (else of its start)."""

    kind: str
    states: tuple
    since: tuple
    hours: int
    words: str  # what is wrong, after the business id: "ready for pickup but not collected"
    customer_impact: str

    @property
    def limit(self):
        return timedelta(hours=self.hours)


SLAS = (
    StepSla(ORDER, ("placed", "reserved", "picked"), ("placed",), 24,
            "placed but neither ready for pickup nor shipped", "A customer is waiting for the order."),
    StepSla(ORDER, ("ready_for_pickup",), ("ready_for_pickup",), 72, "ready for pickup but not collected",
            "The order's stock is held at the store and cannot be sold; the customer may have given up."),
    StepSla(RETURN, ("received", "inspected"), ("received",), 5 * 24, "received but not refunded",
            "A customer is waiting for a refund."),
    StepSla(RETURN, ("refunded",), ("refunded",), 10 * 24, "refunded but not settled",
            "The refund is not yet in the books."),
    StepSla(REPLENISHMENT, ("ordered", "transferred"), ("ordered", "transferred"), 14 * 24,
            "ordered but not received", "The location may run out of what was ordered."),
)


def sla_for(kind, state) -> StepSla | None:
    return next((sla for sla in SLAS if sla.kind == kind and state in sla.states), None)


# ---------------------------------------------------------------- validation

@dataclass
class StepLine:
    """A validated step, ready to be stored."""

    index: int
    transaction_id: str
    kind: str
    business_id: str
    step: str
    occurred_at: datetime
    location_id: int | None
    channel: str
    reason: str
    cashier: str
    quantity: int | None
    amount: object
    reference: str
    content_hash: str = ""

    @property
    def key(self):
        return (self.kind, self.business_id)


class Lookups:
    """The locations and channels a batch names: one query each."""

    def __init__(self, raw_steps):
        codes = {fields.code(raw.get("location"), max_length=32) for raw in raw_steps if isinstance(raw, dict)}
        codes.discard(None)
        self.locations = dict(select_rows("SELECT code, id FROM inventory_location WHERE active AND code {}", codes))
        self.channels = set(Channel.objects.values_list("code", flat=True))


def _content_hash(line):
    key = "|".join(str(v) for v in (
        line.kind, line.business_id, line.step, line.occurred_at.timestamp(), line.location_id, line.channel,
        line.reason, line.cashier, line.quantity, line.amount, line.reference,
    ))
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def validate_step(raw, index, lookups, now):
    """(StepLine, {}) or (None, {field: [messages]}) for one raw step."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each step must be a JSON object."]}
    errors = {}
    transaction_id = fields.text(raw, "transaction_id", errors, required=True)
    kind = raw.get("journey")
    if kind is None or kind == "":
        errors["journey"] = ["This field is required: one of " + ", ".join(JourneyKind.values) + "."]
        kind = None
    elif not isinstance(kind, str) or kind not in STEPS:
        errors["journey"] = [f"Unknown journey {fields.shown(kind)}; one of " + ", ".join(JourneyKind.values) + "."]
        kind = None
    business_id = fields.text(raw, "business_id", errors, required=True, max_length=BUSINESS_ID_LENGTH)
    step_name = raw.get("step")
    step = None
    if step_name is None or step_name == "":
        errors["step"] = ["This field is required."]
    elif kind is not None:
        step = STEPS[kind].get(step_name) if isinstance(step_name, str) else None
        if step is None:
            errors["step"] = [f"{fields.shown(step_name)} is not a step of {kind}; one of "
                              + ", ".join(STEPS[kind]) + "."]
    occurred_at = fields.time(raw, "occurred_at", errors, now)

    location_code = fields.text(raw, "location", errors, max_length=32)
    location_id = None
    if location_code:
        location_id = lookups.locations.get(location_code)
        if location_id is None:
            errors.setdefault("location", []).append(f"Unknown location {fields.shown(location_code)}.")
    elif step is not None and step.needs_location and "location" not in errors:
        errors["location"] = [f"A {step_name} step names its location."]
    channel = fields.text(raw, "channel", errors, max_length=32)
    if channel and channel not in lookups.channels:
        errors.setdefault("channel", []).append(
            f"Unknown channel {fields.shown(channel)}; one of {', '.join(sorted(lookups.channels))}.")
    reason = fields.text(raw, "reason", errors, max_length=64)
    if step is not None and step.needs_reason and not reason and "reason" not in errors:
        errors["reason"] = [f"A {step_name} step needs a reason code."]
    cashier = fields.text(raw, "cashier", errors, max_length=64)
    if step is not None and step.needs_cashier and not cashier and "cashier" not in errors:
        errors["cashier"] = [f"A {step_name} step names the cashier."]
    quantity = fields.whole(raw, "quantity", errors, minimum=0, maximum=fields.MAX_QUANTITY, required=False)
    amount = fields.number(raw, "amount", errors, maximum=fields.MAX_VALUE, places=2, required=False)
    reference = fields.text(raw, "reference", errors)
    if errors:
        return None, errors
    line = StepLine(
        index=index, transaction_id=transaction_id, kind=kind, business_id=business_id, step=step_name,
        occurred_at=occurred_at, location_id=location_id, channel=channel, reason=reason, cashier=cashier,
        quantity=quantity, amount=amount, reference=reference,
    )
    line.content_hash = _content_hash(line)
    return line, {}


# ---------------------------------------------------------------- ingest

def ingest_steps(source, raw_steps, received_at=None, keep_rejections=True) -> IngestReport:
    """Validate and store a batch of journey steps from `source`; one result
    per step, in order. Never raises for a bad step; IngestError when the
    batch itself is unusable. Rejections are kept for replay unless
    `keep_rejections` is off (the replay updates the rows it has)."""
    if not isinstance(raw_steps, list):
        raise IngestError("'steps' must be a list of step objects.")
    if len(raw_steps) > settings.INGEST_MAX_EVENTS:
        raise IngestError(f"At most {settings.INGEST_MAX_EVENTS} steps per request; got {len(raw_steps)}.")
    received_at = received_at or timezone.now()
    lookups = Lookups(raw_steps)
    results = [None] * len(raw_steps)
    lines, rejections = [], []
    for index, raw in enumerate(raw_steps):
        line, errors = validate_step(raw, index, lookups, received_at)
        if line is None:
            txn = fields.code(raw.get("transaction_id"), max_length=128) if isinstance(raw, dict) else None
            results[index] = EventResult(txn or "", "rejected", errors)
            if keep_rejections:
                rejections.append(_rejection(source, txn or "", raw, errors, received_at))
        else:
            lines.append(line)

    with transaction.atomic():
        statuses = _store(source, lines, received_at)
        conflicts = [
            _rejection(source, line.transaction_id, _payload(line, lookups), CONFLICT_ERRORS, received_at,
                       kind=RejectedEvent.Kind.CONFLICT)
            for line in lines if statuses[line.index] == "conflict"
        ]
        if rejections or conflicts:
            RejectedEvent.objects.bulk_create(rejections + conflicts)
    for line in lines:
        status = statuses[line.index]
        results[line.index] = EventResult(line.transaction_id, status, CONFLICT_ERRORS if status == "conflict" else {})
    if raw_steps and keep_rejections:  # the source is alive, as when it posts events (not a replay)
        source.heard_from(received_at)
    return IngestReport(results)


def _rejection(source, transaction_id, raw, errors, received_at, kind=RejectedEvent.Kind.REJECTED):
    payload = raw if isinstance(raw, dict) else {"value": raw}
    return RejectedEvent(
        source=source, transaction_id=transaction_id, kind=kind, feed=RejectedEvent.Feed.JOURNEYS,
        payload=fields.storable(payload), errors=fields.storable(errors), cause=next(iter(errors), "unknown"),
        received_at=received_at,
    )


def _payload(line, lookups):
    """A conflicting step as it was sent, in the API's words (kept with its conflict)."""
    codes = {pk: code for code, pk in lookups.locations.items()}
    payload = {
        "transaction_id": line.transaction_id, "journey": line.kind, "business_id": line.business_id,
        "step": line.step, "occurred_at": line.occurred_at.isoformat(), "location": codes.get(line.location_id),
        "channel": line.channel, "reason": line.reason, "cashier": line.cashier, "quantity": line.quantity,
        "amount": None if line.amount is None else str(line.amount), "reference": line.reference,
        "location_id": line.location_id,
    }
    return {name: value for name, value in payload.items() if value not in (None, "")}


def _recorded(source, transaction_ids):
    """{transaction_id: content_hash} of the steps `source` already sent under these ids."""
    return dict(
        JourneyStep.objects.filter(source=source, transaction_id__in=transaction_ids)
        .values_list("transaction_id", "content_hash")
    )


def _recorded_all(source, lines):
    recorded = {}
    for chunk in _chunks(sorted({line.transaction_id for line in lines})):
        recorded.update(_recorded(source, chunk))
    return recorded


def _classify(line, recorded_hash):
    return "duplicate" if recorded_hash == line.content_hash else "conflict"


def _store(source, lines, received_at):
    """Inside the batch's transaction: classify against what is stored, lock
    the journeys of the new steps, store them and recompute those journeys.
    Returns {index: status}."""
    statuses = {}
    recorded = _recorded_all(source, lines)
    new_lines = []
    for line in lines:
        if line.transaction_id in recorded:
            statuses[line.index] = _classify(line, recorded[line.transaction_id])
        else:
            recorded[line.transaction_id] = line.content_hash
            statuses[line.index] = "accepted"
            new_lines.append(line)
    if not new_lines:
        return statuses
    journeys = lock_journeys({line.key for line in new_lines})
    # Under the locks, a concurrent batch of the same journeys has committed:
    # what it stored under our keys is seen now.
    theirs = _recorded_all(source, new_lines)
    if theirs:
        for line in new_lines:
            if line.transaction_id in theirs:
                statuses[line.index] = _classify(line, theirs[line.transaction_id])
        new_lines = [line for line in new_lines if line.transaction_id not in theirs]
    JourneyStep.objects.bulk_create(
        [
            JourneyStep(
                journey_id=journeys[line.key], source=source, transaction_id=line.transaction_id, step=line.step,
                occurred_at=line.occurred_at, received_at=received_at, location_id=line.location_id,
                channel=line.channel, reason=line.reason, cashier=line.cashier, quantity=line.quantity,
                amount=line.amount, reference=line.reference, content_hash=line.content_hash,
            )
            for line in new_lines
        ],
        ignore_conflicts=True,  # a concurrent request may have stored one of these keys since we read
        batch_size=1000,
    )
    stored = _recorded_all(source, new_lines)
    for line in new_lines:
        if stored[line.transaction_id] != line.content_hash:  # raced (another journey's batch): theirs stands
            statuses[line.index] = "conflict"
    recompute(set(journeys.values()))
    return statuses


def _chunks(values, size=900):  # SQLite's bound on query parameters
    for start in range(0, len(values), size):
        yield values[start:start + size]


def lock_journeys(keys):
    """{(kind, business_id): journey id} for `keys`, the journeys created
    when new and locked for this transaction in primary key order: two
    batches touching one journey queue, and never deadlock."""
    keys = sorted(keys)
    Journey.objects.bulk_create(
        [Journey(kind=kind, business_id=business_id) for kind, business_id in keys],
        ignore_conflicts=True, batch_size=1000,
    )
    found = {}
    # One query per kind on PostgreSQL (kinds in one order), so every batch
    # takes its locks in one order; SQLite's write lock already excludes others.
    size = 900 if connection.vendor == "sqlite" else len(keys)
    for kind in sorted({kind for kind, _ in keys}):
        ids = sorted(business_id for k, business_id in keys if k == kind)
        for chunk in _chunks(ids, size):
            rows = lock_rows(Journey.objects.filter(kind=kind, business_id__in=chunk))
            found.update({(kind, business_id): pk for pk, business_id in rows.values_list("pk", "business_id")})
    return found


# ---------------------------------------------------------------- derivation

def derive(kind, steps):
    """The journey's derived fields from all its steps (JourneySteps, or
    anything with their attributes and a pk): see the module docstring."""
    catalogue = STEPS[kind]
    ordered = sorted(steps, key=lambda s: (catalogue[s.step].rank, s.occurred_at, s.pk))
    by_time = sorted(steps, key=lambda s: (s.occurred_at, s.pk))
    first = {}
    for step in by_time:
        first.setdefault(step.step, step)
    setting = [s for s in ordered if catalogue[s.step].state]
    last = setting[-1] if setting else None
    located = [s for s in ordered if s.location_id]
    channels = [s.channel for s in by_time if s.channel]

    def at(name):
        return first[name].occurred_at if name in first else None

    placed, delivered = first.get("placed"), first.get("collected") or first.get("shipped")
    derived = {
        "state": catalogue[last.step].state if last else "",
        "state_at": last.occurred_at if last else None,
        "location_id": located[-1].location_id if located else None,
        "channel": channels[0] if channels else "",
        "started_at": by_time[0].occurred_at if by_time else None,
        "step_times": {name: step.occurred_at.isoformat() for name, step in first.items()},
        "placed_at": at("placed"),
        "ready_at": at("ready_for_pickup"),
        "collected_at": at("collected"),
        "fallout_at": at("fallout"),
        "fallout_reason": first["fallout"].reason if "fallout" in first else "",
        "substituted": "substituted" in first,
        "short": bool(
            placed and delivered and placed.quantity is not None and delivered.quantity is not None
            and delivered.quantity < placed.quantity
        ),
        "goods_received_at": at("received"),
        "refunded_at": at("refunded"),
        "settled_at": at("settled"),
    }
    derived["ready_s"] = _seconds(derived["placed_at"], derived["ready_at"])
    derived["refund_s"] = _seconds(derived["goods_received_at"], derived["refunded_at"])
    derived["settle_s"] = _seconds(derived["refunded_at"], derived["settled_at"])
    sla = sla_for(kind, derived["state"])
    derived["due_at"] = None
    if sla is not None:
        clocks = [at(name) for name in sla.since if name in first] or [derived["started_at"]]
        derived["due_at"] = min(clocks) + sla.limit
    return derived


def _seconds(start, end):
    """Seconds from `start` to `end`, when both happened (a leg never runs backwards: at least 0)."""
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


DERIVED_FIELDS = (
    "state", "state_at", "location_id", "channel", "started_at", "step_times", "placed_at", "ready_at",
    "collected_at", "fallout_at", "fallout_reason", "substituted", "short", "goods_received_at", "refunded_at",
    "settled_at", "ready_s", "refund_s", "settle_s", "due_at", "updated_at",
)


def recompute(journey_ids):
    """Derive the given journeys again from all their steps. The caller holds
    their locks (lock_journeys) or is the only writer."""
    now = timezone.now()
    journeys = list(Journey.objects.filter(pk__in=journey_ids).only("id", "kind"))
    steps = {}
    for step in JourneyStep.objects.filter(journey_id__in=journey_ids).only(
        "id", "journey_id", "step", "occurred_at", "location_id", "channel", "reason", "quantity",
    ):
        steps.setdefault(step.journey_id, []).append(step)
    # One plain UPDATE per journey, its values prepared by the model's fields:
    # bulk_update's CASE per column and row costs more than the derivation.
    columns = [(name, Journey._meta.get_field(name)) for name in DERIVED_FIELDS]
    rows = []
    for journey in journeys:
        derived = {**derive(journey.kind, steps.get(journey.pk, [])), "updated_at": now}
        rows.append([column.get_db_prep_save(derived[name], connection) for name, column in columns] + [journey.pk])
    assignments = ", ".join(f"{connection.ops.quote_name(column.column)} = %s" for _, column in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {Journey._meta.db_table} SET {assignments} WHERE id = %s", rows)


# ---------------------------------------------------------------- reading

def stuck(queryset=None, now=None):
    """The journeys past their step SLA at `now`."""
    queryset = Journey.objects.all() if queryset is None else queryset
    return queryset.filter(due_at__lt=now or timezone.now())


def stuck_words(journey, now):
    """What a stuck journey waits for, in words:
    "Order to fulfilment WEB-1: ready for pickup but not collected for 80 h (SLA 72 h)"."""
    sla = sla_for(journey.kind, journey.state)
    waited = now - (journey.due_at - sla.limit)
    return (f"{journey.get_kind_display()} {journey.business_id}: {sla.words} for "
            f"{int(waited.total_seconds() // 3600)} h (SLA {sla.hours} h)")
