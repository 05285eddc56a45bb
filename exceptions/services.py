"""Exception cases: opening them from findings, and what people do with them.

`sync_findings` is how reconciliation jobs raise, refresh and clear cases.
The actions (acknowledge, assign, ..., approve_adjustment) are what people
do; each checks scope and role, changes status with one conditional update
(`_move`), records history, and writes nothing when it fails.
"""
import json
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Context, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from controltower.locks import hold_until_commit, lock_rows
from controltower.permissions import may_approve_adjustments, may_be_assigned, may_work_cases
from inventory.counts import latest_counts
from inventory.fields import MAX_QUANTITY, MAX_VALUE
from inventory.ledger import ingest_events, reverse_transfer_line
from inventory.models import CONTROL_TOWER_SOURCE, STATES, InventoryEvent, Location, Position, SourceSystem

from .filters import DONE_COUNT_DAYS, resolved_within
from .findings import CaseKind, Finding, duplicate_pairs
from .models import (
    AdjustmentReason,
    Case,
    CaseComment,
    CaseHistory,
    CaseLink,
    CorrectiveAdjustment,
    DuplicateVerdict,
    ResolutionCode,
    RootCause,
    RoutingRule,
    SLAPolicy,
    Team,
)
from .sla import Calendar, breached_q, sla_clock, urgency

S = Case.Status
HISTORY_FIELDS = ("status", "assignee", "waiting_on", "resolution_code", "root_cause", "owner",
                  "escalation_level", "reopen_count")
# A re-run may change any of these (the drift class too: late events arrive, a duplicate is found).
TRACKED = ("severity", "quantity_at_risk", "value_at_risk", "customer_impact", "summary", "drift")
WARNING_SHARE = Decimal("0.75")


class NotAllowed(PermissionDenied):
    """The user may not do this to this case (out of scope or wrong role)."""


# --------------------------------------------------------------------------
# Routing and SLA
# --------------------------------------------------------------------------

class Router:
    """Routing rules and SLA policies, read once per sync."""

    def __init__(self):
        self.rules = list(RoutingRule.objects.select_related("team"))
        self.policies = {(p.kind, p.severity): p for p in SLAPolicy.objects.all()}

    def team(self, kind, severity, region_id):
        matching = [
            r for r in self.rules
            if r.kind in ("", kind) and r.severity in (None, severity) and r.region_id in (None, region_id)
        ]
        if not matching:
            return None
        best = min(
            matching,
            key=lambda r: (-(4 * bool(r.kind) + 2 * (r.region_id is not None) + (r.severity is not None)),
                           r.priority, r.id),
        )
        return best.team

    def policy(self, kind, severity):
        return self.policies.get((kind, severity)) or self.policies.get(("", severity))


def _sla_start(location, policy, calendar, now):
    """The SLA fields of a case whose clock starts now."""
    fields = {"sla_policy": policy, "warned_at": None, "breached_at": None, "escalation_due_at": None,
              "response_due_at": None, "resolution_due_at": None, "warning_due_at": None}
    if policy is not None:
        clock = calendar.clock(location, policy.trading_hours_only)
        fields["response_due_at"] = clock.add(now, policy.response_minutes)
        fields["resolution_due_at"] = clock.add(now, policy.resolution_minutes)
        fields["warning_due_at"] = clock.add(now, float(policy.resolution_minutes * WARNING_SHARE))
    return fields


# --------------------------------------------------------------------------
# Findings -> cases
# --------------------------------------------------------------------------

# Findings about something that happened (two lines that look alike, a key
# sent twice with different content, a receipt without its PO line) never
# clear by themselves; once a person has resolved one, it stays resolved.
SETTLED_BY_A_PERSON = {
    CaseKind.SUSPECTED_DUPLICATE, CaseKind.IDEMPOTENCY_CONFLICT, CaseKind.RECEIPT_WITHOUT_PO,
}
# Findings about one piece of evidence (a count, a snapshot): a person's
# resolution stands while the finding rests on the same evidence (the
# details key named here); new evidence (a later count, a newer snapshot)
# still beyond tolerance reopens the case.
EVIDENCE = {
    CaseKind.COUNT_VARIANCE: "count", CaseKind.SNAPSHOT_MISMATCH: "snapshot",
    CaseKind.FINANCIAL_VARIANCE: "snapshot",
}


def _settled(kind, row, finding):
    """A resolved case that the finding coming back must leave resolved."""
    if row["auto_resolved"]:
        return False
    if kind in SETTLED_BY_A_PERSON:
        return True
    key = EVIDENCE.get(kind)
    return key is not None and (row["details"] or {}).get(key) == finding.details.get(key)


@dataclass
class SyncReport:
    opened: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    reopened: list = field(default_factory=list)
    resolved: list = field(default_factory=list)

    def as_dict(self):
        return {name: len(getattr(self, name)) for name in ("opened", "updated", "reopened", "resolved")}


def sync_findings(kind: str, findings: list[Finding], *, scope: dict | None = None, now=None) -> SyncReport:
    """Make the cases of `kind` match `findings`.

    A new fingerprint opens a case; a known one refreshes its case (and
    reopens it when resolved); an open case whose fingerprint is not in
    `findings` is resolved with the note "condition cleared". `scope`
    (e.g. {"location_id__in": [...]}) limits which open cases may be cleared,
    for a job that looked at part of the estate. Two syncs of the same kind
    run one after the other (a per-kind lock on PostgreSQL; SQLite takes the
    write lock at the start of the transaction).
    """
    wrong = [f.fingerprint for f in findings if f.kind != kind]
    if wrong:
        raise ValueError(f"Findings of another kind than {kind}: {wrong[:3]}")
    wanted = {f.fingerprint: f for f in findings}
    now = now or timezone.now()
    report = SyncReport()
    with transaction.atomic():
        hold_until_commit(f"cases:{kind}")
        known = {
            row["fingerprint"]: row
            for row in Case.objects.filter(kind=kind).values(
                "id", "fingerprint", "status", "auto_resolved", *TRACKED, "details"
            )
        }
        _open_new(kind, [f for fp, f in wanted.items() if fp not in known], now, report)
        _refresh(kind, [(known[fp], f) for fp, f in wanted.items() if fp in known], now, report)
        stale = [row["id"] for fp, row in known.items() if fp not in wanted and row["status"] in Case.ACTIVE]
        if stale and scope:
            stale = list(Case.objects.filter(id__in=stale, **scope).values_list("id", flat=True))
        _clear(stale, now, report)
    return report


def _open_new(kind, findings, now, report):
    if not findings:
        return
    router, calendar = Router(), Calendar()
    locations = Location.objects.in_bulk({f.location_id for f in findings if f.location_id})
    cases = []
    for f in sorted(findings, key=lambda f: f.fingerprint):
        location = locations.get(f.location_id)
        case = Case(
            kind=kind, severity=f.severity, status=S.OPEN, location=location, sku_id=f.sku_id,
            source_id=f.source_id, reference=f.reference, fingerprint=f.fingerprint,
            quantity_at_risk=f.quantity_at_risk, value_at_risk=f.value_at_risk,
            customer_impact=f.customer_impact, summary=f.summary, details=f.details, drift=f.drift,
            opened_at=now,
            owner=router.team(kind, f.severity, location.region_id if location else None),
            **_sla_start(location, router.policy(kind, f.severity), calendar, now),
        )
        cases.append(case)
    Case.objects.bulk_create(cases, batch_size=1000)
    if connection.vendor != "postgresql":  # only PostgreSQL returns the new ids from a bulk insert
        ids = dict(Case.objects.filter(fingerprint__in=[c.fingerprint for c in cases]).values_list("fingerprint", "id"))
        for case in cases:
            case.pk = case.id = ids[case.fingerprint]
    CaseHistory.objects.bulk_create(
        [CaseHistory(case=c, at=now, action="opened", field="status", to_value=S.OPEN, note=c.summary)
         for c in cases],
        batch_size=1000,
    )
    _add_links([(c.pk, f) for c, f in zip(cases, sorted(findings, key=lambda f: f.fingerprint))])
    report.opened = [c.pk for c in cases]


def _refresh(kind, pairs, now, report):
    """Update the numbers of known cases; reopen the ones that were resolved."""
    changed, history, reopen = [], [], []
    for row, f in pairs:
        fresh = {name: getattr(f, name) for name in TRACKED}
        diffs = [name for name in TRACKED if _differs(row[name], fresh[name])]
        if diffs or row["details"] != f.details:
            changed.append(Case(id=row["id"], details=f.details, **fresh))
            history += [
                CaseHistory(case_id=row["id"], at=now, action="updated", field=name,
                            from_value=str(row[name])[:300], to_value=str(fresh[name])[:300])
                for name in diffs
            ]
        if row["status"] in Case.DONE and not _settled(kind, row, f):
            reopen.append(row["id"])
    _update_numbers(changed)
    CaseHistory.objects.bulk_create(history, batch_size=1000)
    _add_links([(row["id"], f) for row, f in pairs])
    report.updated = [c.pk for c in changed]
    if reopen:
        report.reopened = _reopen_by_system(reopen, now)


def _update_numbers(cases):
    """One parameterised UPDATE run for many rows (bulk_update's CASE WHEN is slow at 50k)."""
    if not cases:
        return
    columns = [*TRACKED, "details"]
    sets = ", ".join(f"{name} = %s" for name in columns)
    rows = [(*(getattr(c, name) for name in TRACKED), json.dumps(c.details, cls=DjangoJSONEncoder), c.pk)
            for c in sorted(cases, key=lambda c: c.pk)]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {Case._meta.db_table} SET {sets} WHERE id = %s", rows)


def _differs(old, new):
    if isinstance(new, Decimal) or isinstance(old, Decimal):
        return Decimal(str(old)) != Decimal(str(new))
    return old != new


def _reopen_by_system(ids, now):
    router, calendar = Router(), Calendar()
    cases = list(lock_rows(
        Case.objects.filter(id__in=ids, status__in=Case.DONE).select_related("location"), of=("self",)
    ))
    history = []
    for case in cases:
        history.append(CaseHistory(case=case, at=now, action="reopened", field="status",
                                   from_value=case.status, to_value=S.OPEN, note="condition is back"))
        case.status = S.OPEN
        case.reopen_count += 1
        case.acknowledged_at = case.resolved_at = case.resolved_by = None
        case.auto_resolved = False
        for name, value in _sla_start(case.location, router.policy(case.kind, case.severity), calendar, now).items():
            setattr(case, name, value)
    Case.objects.bulk_update(
        cases,
        ["status", "reopen_count", "acknowledged_at", "resolved_at", "resolved_by", "auto_resolved",
         "sla_policy", "response_due_at", "resolution_due_at", "warning_due_at", "warned_at", "breached_at",
         "escalation_due_at"],
    )
    CaseHistory.objects.bulk_create(history)
    return [c.pk for c in cases]


def _clear(ids, now, report):
    """Resolve open cases whose condition is gone. A case waiting for finance
    on an adjustment stays as it is: finance's decision moves it on (and a
    later sync clears it if it went back in progress)."""
    ids = list(lock_rows(
        Case.objects.filter(id__in=ids, status__in=Case.ACTIVE)
        .exclude(adjustments__status=CorrectiveAdjustment.Status.PENDING_APPROVAL)
    ).values_list("id", "status"))
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        Case.objects.filter(id__in=[pk for pk, _ in chunk]).update(
            status=S.RESOLVED, resolved_at=now, auto_resolved=True, resolution_code="condition_cleared",
            paused_since=None,
        )
    CaseHistory.objects.bulk_create(
        [CaseHistory(case_id=pk, at=now, action="resolved", field="status", from_value=old,
                     to_value=S.RESOLVED, note="condition cleared") for pk, old in ids],
        batch_size=1000,
    )
    report.resolved = [pk for pk, _ in ids]


def _add_links(pairs):
    links = [
        CaseLink(case_id=case_id, kind=kind, object_id=object_id)
        for case_id, f in pairs for kind, object_id in f.lineage
    ]
    CaseLink.objects.bulk_create(links, ignore_conflicts=True, batch_size=1000)


# --------------------------------------------------------------------------
# People's actions
# --------------------------------------------------------------------------

def _check(case, user, may=may_work_cases):
    """Refuse `user` unless their role `may` (a controltower.permissions predicate) and they see `case`."""
    if not may(user):
        raise NotAllowed("Your role may not do this.")
    if not Case.objects.filter(pk=case.pk).restrict(user).exists():
        raise NotAllowed("This case is not in your scope.")


# The statuses each action starts from: `_move` refuses any other and
# `allowed_actions` offers an action only from these. The one table of it.
FROM_STATUSES = {
    "acknowledge": (S.OPEN,),
    "assign": Case.ACTIVE,
    "wait": (S.OPEN, S.ACKNOWLEDGED, S.IN_PROGRESS),
    "resume": (S.WAITING,),
    "resolve": Case.ACTIVE,
    "reopen": Case.DONE,
    "reverse_duplicate": Case.ACTIVE,
    "explain_duplicate": Case.ACTIVE,
}


def allowed_actions(case, user) -> frozenset:
    """The actions `user` may take on `case` now, by name: what the case page
    offers. `case` is one the user sees (read through `.restrict(user)`); the
    answer comes from the rules the actions themselves check: the role
    (controltower.permissions), FROM_STATUSES, and what an adjustment needs.
    Comment and adjust take a case in any status."""
    if not may_work_cases(user):
        return frozenset()
    allowed = {action for action, statuses in FROM_STATUSES.items() if case.status in statuses}
    if "resume" in allowed and pending_adjustment(case) is not None:
        allowed.discard("resume")  # it waits for finance: the decision moves it on
    if "assign" in allowed and case.assignee_id != user.pk and may_be_assigned(user):
        allowed.add("assign_me")
    if not _unsettled_pair(case):
        allowed -= {"reverse_duplicate", "explain_duplicate"}
    if adjusts_stock(case):
        allowed.add("adjust")
    allowed.add("comment")
    return frozenset(allowed)


def _move(case, actor, action, note="", from_statuses=None, also=None, **changes):
    """Change a case only if its status is still one FROM_STATUSES[action]
    (or `from_statuses`, for the moves no person asks for by name) allows.

    The one way actions change a case: a conditional update, then one
    history entry for the action, with every tracked field it changed (and
    `also`: {name: (from, to)} of what it changed beside the case, e.g. an
    adjustment's status)."""
    before = {name: getattr(case, name) for name in changes}
    statuses = from_statuses or FROM_STATUSES[action]
    rows = Case.objects.filter(pk=case.pk, status__in=statuses).update(**changes)
    if rows != 1:
        _refuse(action, Case.objects.filter(pk=case.pk).values_list("status", flat=True).first())
    for name, value in changes.items():
        setattr(case, name, value)
    changed = {name: (before[name], value) for name, value in changes.items()
               if name in HISTORY_FIELDS and before[name] != value}
    _history(case, actor, action, timezone.now(), changes={**changed, **(also or {})}, note=note)


# What a refusal says a person tried, when the case's status refuses it.
TRIED = {"acknowledge": "acknowledge it", "assign": "assign it", "wait": "set it waiting", "resume": "resume it",
         "resolve": "resolve it", "reopen": "reopen it", "reverse_duplicate": "settle its pair",
         "explain_duplicate": "settle its pair"}


def _refuse(action, status):
    """Refuse `action` on a case whose status (the one read now) does not allow it, in words:
    "Cannot resume it: the case is open." (a double click, a page shown before someone else acted)."""
    label = S(status).label.lower() if status in S.values else "gone"
    raise ValidationError({"status": f"Cannot {TRIED.get(action, 'do that')}: the case is {label}."})


def _history(case, actor, action, at, field="", from_value="", to_value="", note="", changes=None):
    """One history entry. `changes` ({name: (from, to)}) names what the action
    changed: the status change (else the first) is the entry's field, the
    others its other_changes."""
    changes = dict(changes or {})
    if changes:
        field = "status" if "status" in changes else next(iter(changes))
        from_value, to_value = changes.pop(field)
    CaseHistory.objects.create(
        case=case, actor=actor, at=at, action=action, field=field,
        from_value=_text(from_value), to_value=_text(to_value), note=note,
        other_changes={name: [_text(old), _text(new)] for name, (old, new) in changes.items()},
    )


def _sentence(text):
    """A person's words inside a sentence of ours: without their closing full stop (no "..")."""
    return (text or "").strip().rstrip(".!")


def _text(value):
    if value is None:
        return ""
    return str(getattr(value, "username", value))[:300]


@transaction.atomic
def acknowledge(case, user):
    _check(case, user)
    _move(case, user, "acknowledge", status=S.ACKNOWLEDGED, acknowledged_at=timezone.now())
    return case


@transaction.atomic
def assign(case, user, assignee):
    _check(case, user)
    if assignee is None or not Case.objects.filter(pk=case.pk).restrict(assignee).exists():
        raise ValidationError({"assignee": "Must be someone who can see this case."})
    if not may_be_assigned(assignee):
        raise ValidationError({"assignee": "Must be someone whose role works cases."})
    changes = {"assignee": assignee}
    if case.status in (S.OPEN, S.ACKNOWLEDGED):
        changes["status"] = S.IN_PROGRESS
        changes["acknowledged_at"] = case.acknowledged_at or timezone.now()
    _move(case, user, "assign", **changes)
    return case


@transaction.atomic
def comment(case, user, body):
    _check(case, user)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "A comment needs some text."})
    note = CaseComment.objects.create(case=case, author=user, at=timezone.now(), body=body)
    _history(case, user, "comment", note.at, note=body[:300])
    return note


@transaction.atomic
def set_waiting(case, user, waiting_on):
    """Stop the SLA clock until the case resumes."""
    _check(case, user)
    waiting_on = (waiting_on or "").strip()
    if not waiting_on:
        raise ValidationError({"waiting_on": "Say who or what the case waits on."})
    _move(case, user, "wait",
          status=S.WAITING, waiting_on=waiting_on, paused_since=timezone.now())
    return case


@transaction.atomic
def resume(case, user):
    """Restart the SLA clock; the due times move later by the trading time spent waiting.
    A case waiting for finance's decision on an adjustment does not resume: the decision moves it."""
    _check(case, user)
    pending = pending_adjustment(case)
    if pending is not None:
        raise ValidationError({"status": f"The case waits for finance to decide on {pending.transaction_id}; "
                                         "it moves on when finance approves or rejects it."})
    now = timezone.now()
    changes = _unpause(case, now)
    _move(case, user, "resume", status=S.IN_PROGRESS, waiting_on="", **changes)
    return case


def _unpause(case, now):
    if case.paused_since is None:
        return {}
    clock = sla_clock(case)
    paused = clock.seconds_between(case.paused_since, now)
    minutes = paused / 60
    changes = {"paused_since": None, "sla_paused_seconds": case.sla_paused_seconds + paused}
    if not paused:
        return changes
    for name in ("resolution_due_at", "warning_due_at", "escalation_due_at"):
        if getattr(case, name):
            changes[name] = clock.add(getattr(case, name), minutes)
    if case.response_due_at and not case.acknowledged_at:
        changes["response_due_at"] = clock.add(case.response_due_at, minutes)
    return changes


@transaction.atomic
def resolve(case, user, resolution_code, root_cause, note="", adjustment=None):
    """Resolve a case with a resolution code (ResolutionCode) and a root
    cause (RootCause); `adjustment` ({"state", "quantity", "reason",
    "confirm"}) posts a stock correction (request_adjustment's rules).

    When the correction needs finance approval (adjustment_approval) the case
    is not resolved: it waits for finance (status waiting, SLA clock stopped)
    and resolves with this resolution once finance approves; a rejection puts
    it back in progress. Resolving a case that already waits for finance on
    an adjustment keeps it waiting: the resolution applies when finance approves."""
    _check(case, user)
    errors = {}
    if resolution_code not in ResolutionCode.values:
        errors["resolution_code"] = "Choose how the case was put right from the list."
    if root_cause not in RootCause.values:
        errors["root_cause"] = "Choose the root cause from the list."
    if errors:
        raise ValidationError(errors)
    if adjustment is not None:  # refused before the case is changed
        _check_request(case, adjustment.get("state"), adjustment.get("quantity"), adjustment.get("reason"),
                       adjustment.get("confirm", False))
    if case.status not in FROM_STATUSES["resolve"]:
        _refuse("resolve", case.status)
    resolution = {"resolution_code": resolution_code, "root_cause": root_cause, "note": note or ""}
    lock_rows(Case.objects.filter(pk=case.pk)).get()  # finance decides after this, or before it is read
    pending = pending_adjustment(case)
    if pending is not None and adjustment is None:
        CorrectiveAdjustment.objects.filter(pk=pending.pk).update(resolution=resolution)
        _history(case, user, "resolve", timezone.now(), note=" ".join(filter(None, [
            f"Resolves once finance approves {pending.transaction_id}.", note])))
        return case
    if adjustment is not None:
        requested = request_adjustment(case, user, adjustment.get("state"), adjustment.get("quantity"),
                                       adjustment.get("reason"), adjustment.get("confirm", False),
                                       resolution=resolution)
        if requested.status == CorrectiveAdjustment.Status.PENDING_APPROVAL:
            return case  # waits for finance; resolves when finance approves
    now = timezone.now()
    changes = _unpause(case, now)
    _move(case, user, "resolve", note=note,
          status=S.RESOLVED, resolved_at=now, resolved_by=user, resolution_code=resolution_code,
          root_cause=root_cause, resolution_note=note or "", auto_resolved=False, waiting_on="", **changes)
    return case


@transaction.atomic
def reopen(case, user, reason):
    _check(case, user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the case is reopened."})
    sla = _sla_start(case.location, Router().policy(case.kind, case.severity), Calendar(), timezone.now())
    _move(case, user, "reopen", note=reason,
          status=S.OPEN, reopen_count=case.reopen_count + 1, resolved_at=None, resolved_by=None,
          acknowledged_at=None, auto_resolved=False, **sla)
    return case


@dataclass
class BulkReport:
    done: list = field(default_factory=list)  # the cases changed
    skipped: list = field(default_factory=list)  # (case, why): its status or the role refused it


def bulk(ids, user, action, assignee=None) -> BulkReport:
    """Acknowledge or assign (to `assignee`) the cases `ids` at once, in id
    order, each with its own action. One id outside the user's scope (or
    unknown) refuses the whole request before anything changes (NotAllowed);
    a case whose status does not allow the action is skipped and named."""
    if action not in ("acknowledge", "assign"):
        raise ValueError(f"No bulk action {action!r}.")
    ids = set(ids)
    cases = list(Case.objects.filter(pk__in=ids).restrict(user).select_related("sku", "location"))
    if len(cases) != len(ids):
        raise NotAllowed(f"{len(ids) - len(cases)} of the selected cases are not in your scope; nothing was changed.")
    report = BulkReport()
    for case in sorted(cases, key=lambda c: c.pk):
        try:
            if action == "acknowledge":
                acknowledge(case, user)
            else:
                assign(case, user, assignee)
            report.done.append(case)
        except ValidationError as error:
            report.skipped.append((case, " ".join(error.messages)))
        except PermissionDenied as error:
            report.skipped.append((case, str(error)))
    return report


# --------------------------------------------------------------------------
# Corrective adjustments
# --------------------------------------------------------------------------

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


DECISIONS_SHOWN = 50


def waiting_for_finance(user):
    """The adjustments waiting for finance that `user` sees, largest first, each
    with `position_now` (its state's quantity at its location now): what a
    decision needs, read in three queries."""
    waiting = list(
        CorrectiveAdjustment.objects.filter(status=CorrectiveAdjustment.Status.PENDING_APPROVAL).restrict(user)
        .select_related("case", "sku", "location", "requested_by").order_by("-value", "requested_at"))
    pairs = Q(pk__in=[])
    for adjustment in waiting:
        pairs |= Q(location_id=adjustment.location_id, sku_id=adjustment.sku_id)
    positions = {(p.location_id, p.sku_id): p for p in Position.objects.filter(pairs)}
    for adjustment in waiting:
        position = positions.get((adjustment.location_id, adjustment.sku_id))
        adjustment.position_now = getattr(position, adjustment.state) if position else 0
    return waiting


def finance_decisions(user):
    """The latest DECISIONS_SHOWN decisions of finance on adjustments `user` sees, newest first."""
    return (CorrectiveAdjustment.objects.filter(decided_at__isnull=False).restrict(user)
            .select_related("case", "sku", "location", "requested_by", "approved_by")
            .order_by("-decided_at", "-id")[:DECISIONS_SHOWN])


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


def _check_request(case, state, quantity, reason, confirmed):
    """The rules of a person's adjustment: check_adjustment's, a reason code
    from the list, and a confirmation when adjustment_effect warns."""
    check_adjustment(case, state, quantity)
    if reason not in AdjustmentReason.values:
        raise ValidationError({"reason": "Choose the reason code from the list."})
    warnings = adjustment_effect(case, state, quantity).warnings
    if warnings and not confirmed:
        raise ValidationError({"confirm": " ".join(warnings) + " Confirm to post it anyway."})


@transaction.atomic
def request_adjustment(case, user, state, quantity, reason, confirmed=False, resolution=None):
    """Record a stock correction for a case, with its reason code; post it
    now, or hold it for finance when adjustment_approval says so. One that
    takes a state below zero, or makes more than the latest count found,
    needs `confirmed`. A held one makes the case wait for finance (status
    waiting, the SLA clock stopped) until finance decides; `resolution`
    (from `resolve`) is what the case resolves with once finance approves. A
    case has at most one adjustment waiting for finance."""
    _check(case, user)
    _check_request(case, state, quantity, reason, confirmed)
    locked = lock_rows(Case.objects.filter(pk=case.pk)).get()  # numbers the adjustments one at a time
    case.status, case.waiting_on, case.paused_since = locked.status, locked.waiting_on, locked.paused_since
    hold_until_commit(f"adjustments:{case.location_id}:{case.sku_id}")  # the store-day total, across cases
    pending = pending_adjustment(case)
    if pending is not None:
        raise ValidationError({"adjustment": (
            f"Adjustment {pending.transaction_id} of this case waits for finance approval: "
            "ask for another once finance has decided.")})
    number = case.adjustments.count() + 1
    now = timezone.now()
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
        _wait_for_finance(case, user, adjustment, approval, what)
    else:
        _post(adjustment)
        _history(case, user, "adjustment_posted", now, field="adjustment", to_value=what,
                 note=f"Posted to the ledger as {adjustment.transaction_id}.")
    return adjustment


def _wait_for_finance(case, user, adjustment, approval, what):
    """The case waits for finance's decision on `adjustment`, its SLA clock stopped."""
    changes = {} if case.paused_since else {"paused_since": timezone.now()}
    then = "resolves" if adjustment.resolution else "goes back in progress"
    _move(case, user, "wait_for_finance", from_statuses=Case.ACTIVE, also={"adjustment": ("", what)},
          note=f"Finance approves {adjustment.transaction_id} first: {approval.why}. "
               f"The case {then} once finance approves it.",
          status=S.WAITING, waiting_on=f"finance approval of {adjustment.transaction_id} ({adjustment.value:,.2f})",
          **changes)


def _four_eyes(adjustment, user):
    if adjustment.requested_by_id == user.pk:
        raise NotAllowed("You asked for this adjustment: another approver decides on it (four eyes).")


def _lock_case(adjustment):
    """The adjustment's case, locked: first, as request_adjustment locks it (one lock order)."""
    return lock_rows(Case.objects.filter(pk=adjustment.case_id)).get()


@transaction.atomic
def approve_adjustment(adjustment, user):
    """Post a held adjustment. Its case stops waiting: it resolves with the
    resolution it was asked with, or goes back in progress. One history
    entry says both."""
    _check(adjustment.case, user, may_approve_adjustments)
    _four_eyes(adjustment, user)
    case = _lock_case(adjustment)
    _decide(adjustment, user, CorrectiveAdjustment.Status.APPROVED)
    _post(adjustment)
    posted = {"adjustment": (CorrectiveAdjustment.Status.PENDING_APPROVAL, CorrectiveAdjustment.Status.POSTED)}
    if case.status != S.WAITING:  # e.g. its condition cleared meanwhile and resolved it
        _history(case, user, "finance_approved", adjustment.decided_at, changes=posted,
                 note=f"Finance approved {adjustment.transaction_id}; it is posted.")
        return adjustment
    now = timezone.now()
    changes = _unpause(case, now)
    # read again: `resolve` may have attached a resolution since `adjustment` was read
    resolution = adjustment.resolution = (
        CorrectiveAdjustment.objects.filter(pk=adjustment.pk).values_list("resolution", flat=True).get())
    if resolution:
        _move(case, user, "finance_approved", from_statuses=(S.WAITING,), also=posted,
              note=f"Finance approved {adjustment.transaction_id}; it is posted and the case resolves with it.",
              status=S.RESOLVED, resolved_at=now, resolved_by=adjustment.requested_by,
              resolution_code=resolution["resolution_code"], root_cause=resolution["root_cause"],
              resolution_note=resolution["note"], auto_resolved=False, waiting_on="", **changes)
    else:
        _move(case, user, "finance_approved", from_statuses=(S.WAITING,), also=posted,
              note=f"Finance approved {adjustment.transaction_id}; it is posted and the case is back in progress.",
              status=S.IN_PROGRESS, waiting_on="", **changes)
    return adjustment


@transaction.atomic
def reject_adjustment(adjustment, user, reason=""):
    """Refuse a held adjustment (`reason` required): nothing posts, and its
    case goes back in progress with the reason in its history."""
    _check(adjustment.case, user, may_approve_adjustments)
    _four_eyes(adjustment, user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why it is rejected: the case goes back in progress with it."})
    case = _lock_case(adjustment)
    _decide(adjustment, user, CorrectiveAdjustment.Status.REJECTED, reason)
    rejected = {"adjustment": (CorrectiveAdjustment.Status.PENDING_APPROVAL, CorrectiveAdjustment.Status.REJECTED)}
    note = f"Finance rejected {adjustment.transaction_id}: {_sentence(reason)}."
    if case.status == S.WAITING:
        _move(case, user, "finance_rejected", from_statuses=(S.WAITING,), also=rejected,
              note=f"{note} The case is back in progress.",
              status=S.IN_PROGRESS, waiting_on="", **_unpause(case, timezone.now()))
    else:
        _history(case, user, "finance_rejected", adjustment.decided_at, changes=rejected, note=note)
    return adjustment


def _decide(adjustment, user, status, note=""):
    """Record finance's decision on a pending adjustment (its case's history is the caller's)."""
    now = timezone.now()
    rows = CorrectiveAdjustment.objects.filter(
        pk=adjustment.pk, status=CorrectiveAdjustment.Status.PENDING_APPROVAL
    ).update(status=status, approved_by=user, decided_at=now, decision_note=note[:300])
    if rows != 1:
        current = CorrectiveAdjustment.objects.select_related("approved_by").get(pk=adjustment.pk)
        by = f" by {current.approved_by.username}" if current.approved_by else ""
        raise ValidationError({"status": (
            f"Adjustment {current.transaction_id} was {current.get_status_display().lower()}{by} already: "
            "nothing left to decide.")})
    adjustment.status, adjustment.approved_by, adjustment.decided_at = status, user, now
    adjustment.decision_note = note[:300]


def control_tower_source():
    """The source system the tower's own corrections are posted as."""
    source, _ = SourceSystem.objects.get_or_create(
        code=CONTROL_TOWER_SOURCE,
        defaults={"name": "Control Tower corrections", "kind": SourceSystem.Kind.ERP,
                  "expected_interval_s": 2_000_000_000},  # posts only when a case needs it: never stale
    )
    return source


def _post(adjustment):
    """Post an adjustment to the ledger: its reason code, its case as the reference."""
    now = timezone.now()
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
    }], keep_rejections=False)
    result = report.results[0]
    if result.status not in ("accepted", "duplicate"):
        raise ValidationError({"adjustment": f"The ledger refused it: {result.errors}"})
    CorrectiveAdjustment.objects.filter(pk=adjustment.pk).update(
        status=CorrectiveAdjustment.Status.POSTED, posted_at=now
    )
    adjustment.status, adjustment.posted_at = CorrectiveAdjustment.Status.POSTED, now


# --------------------------------------------------------------------------
# Suspected duplicates: reverse the later line, or explain the pair
# --------------------------------------------------------------------------

def _pairs(case):
    """[(earlier, later), ...] ledger line ids of a suspected-duplicate case: one pair, or a replayed batch's."""
    return duplicate_pairs(case.reference, case.details) if case.kind == CaseKind.SUSPECTED_DUPLICATE else []


def duplicate_verdict(case):
    """The verdict on `case`'s pair of ledger lines (a batch's pairs are
    settled together: its first pair's), or None (no pair, or not settled yet)."""
    pairs = _pairs(case)
    if not pairs:
        return None
    earlier, later = pairs[0]
    return (DuplicateVerdict.objects.filter(earlier_event_id=earlier, later_event_id=later)
            .select_related("decided_by", "reversal").first())


def _unsettled_pair(case):
    return bool(_pairs(case)) and duplicate_verdict(case) is None


def _settle_duplicate(case, user, action):
    """Check and lock a suspected-duplicate case before a verdict on its
    pairs: returns ([(earlier line, later line), ...] not settled yet, the
    verdict already given or None)."""
    _check(case, user)
    pairs = _pairs(case)
    if not pairs:
        raise ValidationError({"case": "Only a suspected-duplicate case has a pair to settle."})
    locked = lock_rows(Case.objects.filter(pk=case.pk)).get()  # two clicks settle one after the other
    if locked.status not in FROM_STATUSES[action]:
        _refuse(action, locked.status)
    settled = set(DuplicateVerdict.objects.filter(later_event_id__in=[later for _, later in pairs])
                  .values_list("earlier_event_id", "later_event_id"))
    lines = InventoryEvent.objects.select_related("source", "location", "sku", "to_location").in_bulk(
        [pk for pair in pairs for pk in pair])
    return [(lines[e], lines[later]) for e, later in pairs if (e, later) not in settled], duplicate_verdict(case)


def reversal_transaction_id(event):
    """One reversal per ledger line, whichever case or click asks for it."""
    return f"reversal-of-{event.pk}"


def _reversal(line):
    """The ledger line that undoes `line`: the same legs with the quantity negated."""
    return {
        "transaction_id": reversal_transaction_id(line),
        "type": "reversal",
        "location": line.location.code,
        "sku": line.sku.code,
        "quantity": -line.quantity,
        "from_state": line.from_state,
        "to_state": line.to_state,
        "to_location": line.to_location.code if line.to_location_id else None,
        "reference": f"event {line.pk}",
        "reason": line.type,
        # When the reversed line occurred: a cycle count since then holds neither.
        "occurred_at": line.occurred_at.isoformat(),
    }


@transaction.atomic
def reverse_duplicate(case, user):
    """The later line of each pair was a duplicate: post one compensating
    ledger line each (type reversal, the tower's source) that moves its legs
    back, all of a replayed batch in one transaction, link them to the case
    and record the verdicts. A reversal's transaction id is the reversed
    line's, so two clicks or two requests reverse it once. The case
    resolves itself on the next suspected_duplicate run."""
    pending, verdict = _settle_duplicate(case, user, "reverse_duplicate")
    if verdict is not None and verdict.verdict != DuplicateVerdict.Verdict.REVERSED:
        raise ValidationError({"verdict": f"{verdict.decided_by} explained this pair as not a duplicate."})
    if not pending:
        return verdict  # already reversed: nothing more to post
    tower = control_tower_source()
    for start in range(0, len(pending), settings.INGEST_MAX_EVENTS):
        chunk = pending[start:start + settings.INGEST_MAX_EVENTS]
        report = ingest_events(tower, [_reversal(later) for _, later in chunk], keep_rejections=False, reversals=True)
        refused = [result for result in report.results if result.status not in ("accepted", "duplicate")]
        if refused:
            raise ValidationError({"reversal": f"The ledger refused it: {refused[0].errors}"})
    reversals = {
        e.transaction_id: e for e in InventoryEvent.objects.filter(
            source=tower, transaction_id__in=[reversal_transaction_id(later) for _, later in pending])
    }
    now = timezone.now()
    verdicts = []
    for earlier, later in pending:
        reverse_transfer_line(later)
        verdicts.append(DuplicateVerdict(
            earlier_event=earlier, later_event=later, verdict=DuplicateVerdict.Verdict.REVERSED,
            reversal=reversals[reversal_transaction_id(later)], case=case, decided_by=user, decided_at=now))
    DuplicateVerdict.objects.bulk_create(verdicts, batch_size=1000)
    CaseLink.objects.bulk_create(
        [CaseLink(case=case, kind=CaseLink.Kind.EVENT, object_id=v.reversal_id) for v in verdicts],
        ignore_conflicts=True, batch_size=1000)
    earlier, later = pending[0]
    if len(pending) == 1:
        note = (f"{later.source.code}:{later.transaction_id} was a duplicate of {earlier.source.code}:"
                f"{earlier.transaction_id}; ledger line {verdicts[0].reversal_id} reverses it.")
        txn = reversal_transaction_id(later)
    else:
        note = f"{len(pending)} lines were duplicates; {len(pending)} reversal lines reverse them together."
        txn = f"{reversal_transaction_id(later)} and {len(pending) - 1} more"
    _history(case, user, "duplicate_reversed", now, field="reversal", to_value=txn,
             note=f"{note} The case resolves itself on the next run.")
    return verdicts[0]


@transaction.atomic
def explain_duplicate(case, user, why):
    """The pairs are not duplicates (`why` required): record who said so and
    why; they are never raised again and the case resolves itself on the
    next suspected_duplicate run."""
    why = (why or "").strip()
    if not why:
        raise ValidationError({"reason": "Say why the two lines are not duplicates."})
    pending, verdict = _settle_duplicate(case, user, "explain_duplicate")
    if verdict is not None or not pending:
        raise ValidationError({"verdict": f"This pair was settled already: {verdict.get_verdict_display().lower()}."})
    now = timezone.now()
    verdicts = DuplicateVerdict.objects.bulk_create([
        DuplicateVerdict(earlier_event=earlier, later_event=later, verdict=DuplicateVerdict.Verdict.NOT_DUPLICATE,
                         case=case, decided_by=user, decided_at=now, note=why[:300])
        for earlier, later in pending
    ], batch_size=1000)
    _history(case, user, "duplicate_explained", now, note=f"Not a duplicate: {why[:250]}")
    return verdicts[0]


def status_counts(cases):
    """The figures above the queue for `cases` (a queryset already in the
    viewer's scope): per status, the active cases and the cases resolved or
    closed in the last DONE_COUNT_DAYS (all-time done counts only grow), and
    how many active ones are breached now (exceptions.sla.breached_q). Two GROUP BYs."""
    cases = cases.order_by()
    breached = breached_q(timezone.now())
    done = resolved_within(cases.filter(status__in=Case.DONE), DONE_COUNT_DAYS)
    rows = [
        *cases.filter(status__in=Case.ACTIVE).values("status").annotate(n=Count("*"), breached=Count("id", filter=breached)),
        *done.values("status").annotate(n=Count("*")),
    ]
    counts = {row["status"]: row for row in rows}
    return [
        {"status": status, "label": label, "count": counts[status]["n"] if status in counts else 0,
         "within": DONE_COUNT_DAYS if status in Case.DONE else None}
        for status, label in Case.Status.choices
    ], sum(counts[status]["breached"] for status in Case.ACTIVE if status in counts)


def same_problem(case, user):
    """The other cases `user` sees about the same problem as `case`: the same
    location and SKU, the same quantity and value at risk (e.g. a negative
    stock and the snapshot mismatch it shows up as). Oldest first."""
    if case.location_id is None or case.sku_id is None or not case.quantity_at_risk:
        return Case.objects.none()
    return (Case.objects.filter(location_id=case.location_id, sku_id=case.sku_id,
                                quantity_at_risk=case.quantity_at_risk, value_at_risk=case.value_at_risk)
            .exclude(pk=case.pk).restrict(user).order_by("opened_at", "id"))


def location_case_figures(location_ids):
    """{location_id: {open, breached, sev1, next_due}} of the active cases at
    these locations now: the figures of a store's row on My stores."""
    breached = breached_q(timezone.now())
    return {
        row["location"]: row
        for row in Case.objects.filter(location__in=location_ids, status__in=Case.ACTIVE)
        .values("location")
        .annotate(open=Count("id"), breached=Count("id", filter=breached),
                  sev1=Count("id", filter=Q(severity=1)), next_due=Min("resolution_due_at"))
    }


def active_cases_at(location):
    """The active cases at one location, most urgent first (the queue's order)."""
    return Case.objects.filter(location=location, status__in=Case.ACTIVE).select_related("sku").order_by(
        *urgency(timezone.now()))


def escalated_to_regional_ops(region):
    """The active cases of `region`'s locations that the escalation sweep
    (exceptions.escalation) moved up to its regional ops lead, waiting for
    them: most urgent first."""
    return (
        Case.objects.filter(location__region=region, status__in=Case.ACTIVE,
                            escalation_level=Case.Level.REGIONAL_OPS, owner__kind=Team.Kind.REGIONAL_OPS)
        .select_related("location", "sku", "owner").order_by(*urgency(timezone.now()))
    )
