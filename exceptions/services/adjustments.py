"""Corrective adjustments: a person's stock correction on a case, posted to
the ledger as the tower's own source, or held for finance when its value
(alone, on the case, or on the store's day) is above the approval
threshold; finance approves (it posts) or rejects it, four eyes.
"""
from copy import copy
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Context, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from controltower.audit import record
from controltower.locks import hold_until_commit, lock_rows
from controltower.permissions import may_approve_adjustments
from inventory.counts import latest_counts
from inventory.fields import MAX_QUANTITY, MAX_VALUE
from inventory.ledger import ingest_events
from inventory.models import STATES, Position
from inventory.sources import control_tower_source

from ..findings import CaseKind
from ..models import AdjustmentReason, Case, CorrectiveAdjustment
from . import alerts
from .changes import NotAllowed, check, move, sentence, write_history
from .sla import unpause

S = Case.Status


def adjustment_value(case, quantity):
    """(value at the SKU's unit cost, whether that value alone is above the
    approval threshold) of adjusting `quantity` base units on `case`.
    Whether finance must approve it is adjustment_approval's answer: it adds
    the running totals."""
    value = (abs(quantity) * case.sku.unit_cost).quantize(Decimal("0.01"), context=ADJUSTMENT_CONTEXT)
    return value, value > approval_threshold()


def approval_threshold():
    return Decimal(str(settings.CASE_ADJUSTMENT_APPROVAL_THRESHOLD))


# The adjustments that count toward the running totals: posted, or still
# waiting for (or between approval and posting by) finance. Rejected ones do not.
COUNTED = (CorrectiveAdjustment.Status.PENDING_APPROVAL, CorrectiveAdjustment.Status.APPROVED,
           CorrectiveAdjustment.Status.POSTED)


@dataclass(frozen=True)
class Approval:
    """Whether finance must approve an adjustment before it posts, and why."""

    value: Decimal  # |quantity| x unit cost
    needed: bool
    why: str  # "this brings the case's adjustments to 1,040.00, above 500.00"; "" when not needed


def store_day(location, moment):
    """[start, end) in UTC of the store-local calendar day of `moment` at `location`."""
    tz = ZoneInfo(location.timezone)
    day = moment.astimezone(tz).date()
    return datetime.combine(day, time(0), tz), datetime.combine(day + timedelta(days=1), time(0), tz)


def _total(adjustments):
    return adjustments.filter(status__in=COUNTED).aggregate(total=Sum("value"))["total"] or Decimal("0")


def adjustment_approval(case, quantity, now=None) -> Approval:
    """Whether adjusting `quantity` base units on `case` needs finance
    approval: its value, or the running total it brings, is above
    CASE_ADJUSTMENT_APPROVAL_THRESHOLD, whichever is reached first: the
    adjustment alone; the case's adjustments (posted or pending, plus this
    one); the adjustments of the case's location x SKU on the store-local day
    (the location's time zone), over all cases. Splitting one correction into
    many small ones does not avoid approval."""
    value, _ = adjustment_value(case, quantity)
    threshold = approval_threshold()
    if value > threshold:
        return Approval(value, True, f"this adjustment is worth {value:,.2f}, above {threshold:,.2f}")
    case_total = value + _total(CorrectiveAdjustment.objects.filter(case_id=case.pk))
    if case_total > threshold:
        return Approval(value, True, f"this brings the case's adjustments to {case_total:,.2f}, above {threshold:,.2f}")
    start, end = store_day(case.location, now or timezone.now())
    day_total = value + _total(CorrectiveAdjustment.objects.filter(
        location_id=case.location_id, sku_id=case.sku_id, requested_at__gte=start, requested_at__lt=end))
    if day_total > threshold:
        return Approval(value, True, (
            f"this brings the adjustments of {case.sku.code} at {case.location.code} on "
            f"{start.date():%d %b %Y} (store day) to {day_total:,.2f}, above {threshold:,.2f}"))
    return Approval(value, False, "")


def pending_adjustment(case):
    """The adjustment of `case` waiting for finance, or None (a case has at most one)."""
    return CorrectiveAdjustment.objects.filter(
        case_id=case.pk, status=CorrectiveAdjustment.Status.PENDING_APPROVAL).first()


# Room for any whole number the form or the API lets through before it is
# bounded (|quantity| x MAX_UNIT_COST to the cent).
ADJUSTMENT_CONTEXT = Context(prec=60)


def adjusts_stock(case):
    """Whether a corrective adjustment can be posted for `case`: it is about one store and SKU."""
    return case.location_id is not None and case.sku_id is not None


def check_adjustment(case, state, quantity):
    """Refuse an adjustment the tower could not store or post, before
    anything is written: the ledger takes at most MAX_QUANTITY units a line,
    and its value goes into a numeric(14, 2) column (at most MAX_VALUE)."""
    if not adjusts_stock(case):
        raise ValidationError({"adjustment": "Only a case on one store and SKU can adjust stock."})
    if state not in STATES:
        raise ValidationError({"state": f"One of {', '.join(STATES)}."})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise ValidationError({"quantity": "A whole number of base units, not zero (negative takes stock out)."})
    if abs(quantity) > MAX_QUANTITY:
        raise ValidationError({"quantity": f"At most {MAX_QUANTITY:,} base units either way."})
    value, _ = adjustment_value(case, quantity)
    if value > MAX_VALUE:
        raise ValidationError({"quantity": (
            f"{abs(quantity):,} x {case.sku.unit_cost} is worth {value:,}: "
            f"one adjustment may be worth at most {MAX_VALUE:,}."
        )})


@dataclass(frozen=True)
class Effect:
    """What an adjustment would do to its position and its case, before it is posted."""

    rows: list  # (label, before, after) for each state, then on hand and ATP
    variance: tuple | None  # (label, before, after) of the case's own figure, when the adjustment moves it
    warnings: list  # sentences: why a person must confirm it (below zero, stock the latest count did not find)


def _position(case):
    return (Position.objects.filter(location_id=case.location_id, sku_id=case.sku_id).first()
            or Position(location_id=case.location_id, sku_id=case.sku_id))


def _local(moment, location):
    return moment.astimezone(ZoneInfo(location.timezone)).strftime("%d %b %Y %H:%M %Z")


def adjustment_effect(case, state, quantity) -> Effect:
    """Each state before and after adjusting `quantity` base units of `state`
    on `case`'s position, what the case's figure becomes (its shortfall below
    zero, or its snapshot's difference from the ledger) and the warnings that
    need a confirmation: a state taken below zero, or more stock than the
    latest count of that state found."""
    position = _position(case)
    after = copy(position)
    setattr(after, state, getattr(position, state) + quantity)
    rows = [(name, getattr(position, name), getattr(after, name)) for name in STATES]
    rows += [("on_hand", position.on_hand, after.on_hand), ("atp", position.atp, after.atp)]
    before_q, after_q = getattr(position, state), getattr(after, state)
    words = state.replace("_", " ")
    warnings = []
    if quantity < 0 and after_q < 0:
        warnings.append(f"This takes {words} from {before_q} to {after_q}, below zero.")
    count = next((c for c in latest_counts(case.location_id, case.sku_id) if c.state == state), None)
    if quantity > 0 and count is not None and after_q > count.counted:
        warnings.append(f"The latest count ({_local(count.counted_at, case.location)}) found {count.counted} "
                        f"{words}; this makes {after_q}, stock the count says is not there.")
    return Effect(rows, _variance_after(case, state, quantity, before_q, after_q), warnings)


def _variance_after(case, state, quantity, before_q, after_q):
    details = case.details or {}
    if details.get("state") != state:
        return None
    if case.kind == CaseKind.NEGATIVE_STOCK:
        return ("Shortfall below zero", max(0, -before_q), max(0, -after_q))
    if case.kind == CaseKind.SNAPSHOT_MISMATCH and "observed" in details and "expected" in details:
        difference = details["observed"] - details["expected"]
        return ("Snapshot minus ledger", difference, difference - quantity)
    return None


def check_request(case, state, quantity, reason, confirmed):
    """The rules of a person's adjustment: check_adjustment's, a reason code
    from the list, and a confirmation when adjustment_effect warns."""
    check_adjustment(case, state, quantity)
    if reason not in AdjustmentReason.values:
        raise ValidationError({"reason": "Choose the reason code from the list."})
    warnings = adjustment_effect(case, state, quantity).warnings
    if warnings and not confirmed:
        raise ValidationError({"confirm": " ".join(warnings) + " Confirm to post it anyway."})


@transaction.atomic
def request_adjustment(case, user, state, quantity, reason, confirmed=False, resolution=None, at=None):
    """Record a stock correction for a case, with its reason code; post it
    now (or `at`, a person's time the demo replays), or hold it for finance
    when adjustment_approval says so. One that
    takes a state below zero, or makes more than the latest count found,
    needs `confirmed`. A held one makes the case wait for finance (status
    waiting, the SLA clock stopped) until finance decides; `resolution`
    (from `resolve`) is what the case resolves with once finance approves. A
    case has at most one adjustment waiting for finance."""
    check(case, user)
    check_request(case, state, quantity, reason, confirmed)
    locked = lock_rows(Case.objects.filter(pk=case.pk)).get()  # numbers the adjustments one at a time
    case.status, case.waiting_on, case.paused_since = locked.status, locked.waiting_on, locked.paused_since
    hold_until_commit(f"adjustments:{case.location_id}:{case.sku_id}")  # the store-day total, across cases
    pending = pending_adjustment(case)
    if pending is not None:
        raise ValidationError({"adjustment": (
            f"Adjustment {pending.transaction_id} of this case waits for finance approval: "
            "ask for another once finance has decided.")})
    number = case.adjustments.count() + 1
    now = at or timezone.now()
    approval = adjustment_approval(case, quantity, now)
    if approval.needed and case.status in Case.DONE:
        raise ValidationError({"adjustment": (
            f"Finance must approve it ({approval.why}) and a {case.get_status_display().lower()} case "
            "cannot wait for that: reopen the case first.")})
    adjustment = CorrectiveAdjustment.objects.create(
        case=case, sku=case.sku, location=case.location, state=state, quantity=quantity, reason=reason,
        value=approval.value, approval_why=approval.why[:300],
        transaction_id=f"case-{case.pk}-adj-{number}", requested_by=user, requested_at=now,
        status=CorrectiveAdjustment.Status.PENDING_APPROVAL if approval.needed else CorrectiveAdjustment.Status.APPROVED,
        resolution=resolution if approval.needed else None,
    )
    what = f"{quantity:+d} {state} ({approval.value}, {AdjustmentReason(reason).label})"
    if approval.needed:
        _wait_for_finance(case, user, adjustment, approval, what, now)
        alerts.approval_waiting(adjustment, now)
    else:
        _post(adjustment, now)
        write_history(case, user, "adjustment_posted", now, field="adjustment", to_value=what,
                      note=f"Posted to the ledger as {adjustment.transaction_id}.")
    return adjustment


def _wait_for_finance(case, user, adjustment, approval, what, now):
    """The case waits for finance's decision on `adjustment`, its SLA clock stopped."""
    changes = {} if case.paused_since else {"paused_since": now}
    then = "resolves" if adjustment.resolution else "goes back in progress"
    move(case, user, "wait_for_finance", from_statuses=Case.ACTIVE, also={"adjustment": ("", what)},
         note=f"Finance approves {adjustment.transaction_id} first: {approval.why}. "
               f"The case {then} once finance approves it.",
         status=S.WAITING, waiting_on=f"finance approval of {adjustment.transaction_id} ({adjustment.value:,.2f})",
         at=now, **changes)


def _four_eyes(adjustment, user):
    if adjustment.requested_by_id == user.pk:
        raise NotAllowed("You asked for this adjustment: another approver decides on it (four eyes).")


def _lock_case(adjustment):
    """The adjustment's case, locked: first, as request_adjustment locks it (one lock order)."""
    return lock_rows(Case.objects.filter(pk=adjustment.case_id)).get()


@transaction.atomic
def approve_adjustment(adjustment, user, at=None):
    """Post a held adjustment (now, or `at`). Its case stops waiting: it
    resolves with the resolution it was asked with, or goes back in
    progress. One history entry says both."""
    check(adjustment.case, user, may_approve_adjustments)
    _four_eyes(adjustment, user)
    now = at or timezone.now()
    case = _lock_case(adjustment)
    _decide(adjustment, user, CorrectiveAdjustment.Status.APPROVED, now)
    _post(adjustment, now)
    posted = {"adjustment": (CorrectiveAdjustment.Status.PENDING_APPROVAL, CorrectiveAdjustment.Status.POSTED)}
    if case.status != S.WAITING:  # e.g. its condition cleared meanwhile and resolved it
        write_history(case, user, "finance_approved", adjustment.decided_at, changes=posted,
                      note=f"Finance approved {adjustment.transaction_id}; it is posted.")
        return adjustment
    changes = unpause(case, now)
    # read again: `resolve` may have attached a resolution since `adjustment` was read
    resolution = adjustment.resolution = (
        CorrectiveAdjustment.objects.filter(pk=adjustment.pk).values_list("resolution", flat=True).get())
    if resolution:
        move(case, user, "finance_approved", from_statuses=(S.WAITING,), also=posted,
             note=f"Finance approved {adjustment.transaction_id}; it is posted and the case resolves with it.",
             status=S.RESOLVED, resolved_at=now, resolved_by=adjustment.requested_by,
             resolution_code=resolution["resolution_code"], root_cause=resolution["root_cause"],
             resolution_note=resolution["note"], auto_resolved=False, waiting_on="", at=now, **changes)
    else:
        move(case, user, "finance_approved", from_statuses=(S.WAITING,), also=posted,
             note=f"Finance approved {adjustment.transaction_id}; it is posted and the case is back in progress.",
             status=S.IN_PROGRESS, waiting_on="", at=now, **changes)
    return adjustment


@transaction.atomic
def reject_adjustment(adjustment, user, reason="", at=None):
    """Refuse a held adjustment (`reason` required; now, or `at`): nothing
    posts, and its case goes back in progress with the reason in its history."""
    check(adjustment.case, user, may_approve_adjustments)
    _four_eyes(adjustment, user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why it is rejected: the case goes back in progress with it."})
    now = at or timezone.now()
    case = _lock_case(adjustment)
    _decide(adjustment, user, CorrectiveAdjustment.Status.REJECTED, now, reason)
    rejected = {"adjustment": (CorrectiveAdjustment.Status.PENDING_APPROVAL, CorrectiveAdjustment.Status.REJECTED)}
    note = f"Finance rejected {adjustment.transaction_id}: {sentence(reason)}."
    if case.status == S.WAITING:
        move(case, user, "finance_rejected", from_statuses=(S.WAITING,), also=rejected,
             note=f"{note} The case is back in progress.",
             status=S.IN_PROGRESS, waiting_on="", at=now, **unpause(case, now))
    else:
        write_history(case, user, "finance_rejected", adjustment.decided_at, changes=rejected, note=note)
    return adjustment


def _decide(adjustment, user, status, now, note=""):
    """Record finance's decision on a pending adjustment at `now` (its case's history is the caller's)."""
    rows = CorrectiveAdjustment.objects.filter(
        pk=adjustment.pk, status=CorrectiveAdjustment.Status.PENDING_APPROVAL
    ).update(status=status, approved_by=user, decided_at=now, decision_note=note[:300])
    if rows != 1:
        current = CorrectiveAdjustment.objects.select_related("approved_by").get(pk=adjustment.pk)
        by = f" by {current.approved_by.username}" if current.approved_by else ""
        raise ValidationError({"status": (
            f"Adjustment {current.transaction_id} was {current.get_status_display().lower()}{by} already: "
            "nothing left to decide.")})
    # The update above is not seen by auditlog: finance's decision goes in the audit trail here.
    record(adjustment, {"status": (adjustment.status, status), "approved_by": (None, user), "decided_at": (None, now),
                        "decision_note": (adjustment.decision_note or None, note[:300] or None)}, actor=user)
    adjustment.status, adjustment.approved_by, adjustment.decided_at = status, user, now
    adjustment.decision_note = note[:300]


def _post(adjustment, now):
    """Post an adjustment to the ledger at `now`: its reason code, its case as the reference."""
    report = ingest_events(control_tower_source(), [{
        "transaction_id": adjustment.transaction_id,
        "type": "adjustment",
        "location": adjustment.location.code,
        "sku": adjustment.sku.code,
        "quantity": adjustment.quantity,
        "to_state": adjustment.state,
        "reason": adjustment.reason or AdjustmentReason.ADMIN_CORRECTION,
        "reference": f"case-{adjustment.case_id}",
        "occurred_at": now.isoformat(),
    }], received_at=now, keep_rejections=False)
    result = report.results[0]
    if result.status not in ("accepted", "duplicate"):
        raise ValidationError({"adjustment": f"The ledger refused it: {result.errors}"})
    CorrectiveAdjustment.objects.filter(pk=adjustment.pk).update(
        status=CorrectiveAdjustment.Status.POSTED, posted_at=now
    )
    record(adjustment, {"status": (adjustment.status, CorrectiveAdjustment.Status.POSTED), "posted_at": (None, now)},
           actor=adjustment.approved_by or adjustment.requested_by)
    adjustment.status, adjustment.posted_at = CorrectiveAdjustment.Status.POSTED, now
