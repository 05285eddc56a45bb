"""What people do with a case: acknowledge, assign, comment, wait, resume,
resolve, reopen (one case or many at once), and which of these a person
may do now (`allowed_actions`).

Each action checks scope and role, changes status with one conditional
update (changes.move), records history, and writes nothing when it fails.
"""
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from controltower.locks import lock_rows
from controltower.permissions import may_be_assigned, may_work_cases
from inventory.trading import Calendar

from ..models import Case, CaseComment, CorrectiveAdjustment, ResolutionCode, RootCause
from . import alerts
from .adjustments import adjusts_stock, check_request, pending_adjustment, request_adjustment
from .changes import FROM_STATUSES, NotAllowed, check, move, refuse, write_history
from .duplicates import unsettled_pair
from .routing import Router, sla_start
from .sla import unpause

S = Case.Status

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
    if not unsettled_pair(case):
        allowed -= {"reverse_duplicate", "explain_duplicate"}
    if adjusts_stock(case):
        allowed.add("adjust")
    allowed.add("comment")
    return frozenset(allowed)


@transaction.atomic
def acknowledge(case, user):
    check(case, user)
    move(case, user, "acknowledge", status=S.ACKNOWLEDGED, acknowledged_at=timezone.now())
    return case


@transaction.atomic
def assign(case, user, assignee):
    check(case, user)
    if assignee is None or not Case.objects.filter(pk=case.pk).restrict(assignee).exists():
        raise ValidationError({"assignee": "Must be someone who can see this case."})
    if not may_be_assigned(assignee):
        raise ValidationError({"assignee": "Must be someone whose role works cases."})
    changes = {"assignee": assignee}
    if case.status in (S.OPEN, S.ACKNOWLEDGED):
        changes["status"] = S.IN_PROGRESS
        changes["acknowledged_at"] = case.acknowledged_at or timezone.now()
    move(case, user, "assign", **changes)
    alerts.case_assigned(case, assignee, timezone.now())
    return case


@transaction.atomic
def comment(case, user, body):
    check(case, user)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "A comment needs some text."})
    note = CaseComment.objects.create(case=case, author=user, at=timezone.now(), body=body)
    write_history(case, user, "comment", note.at, note=body[:300])
    return note


@transaction.atomic
def set_waiting(case, user, waiting_on):
    """Stop the SLA clock until the case resumes."""
    check(case, user)
    waiting_on = (waiting_on or "").strip()
    if not waiting_on:
        raise ValidationError({"waiting_on": "Say who or what the case waits on."})
    move(case, user, "wait",
         status=S.WAITING, waiting_on=waiting_on, paused_since=timezone.now())
    return case


@transaction.atomic
def resume(case, user):
    """Restart the SLA clock; the due times move later by the trading time spent waiting.
    A case waiting for finance's decision on an adjustment does not resume: the decision moves it."""
    check(case, user)
    pending = pending_adjustment(case)
    if pending is not None:
        raise ValidationError({"status": f"The case waits for finance to decide on {pending.transaction_id}; "
                                         "it moves on when finance approves or rejects it."})
    now = timezone.now()
    changes = unpause(case, now)
    move(case, user, "resume", status=S.IN_PROGRESS, waiting_on="", **changes)
    return case


@transaction.atomic
def resolve(case, user, resolution_code, root_cause, note="", adjustment=None, at=None):
    """Resolve a case with a resolution code (ResolutionCode) and a root
    cause (RootCause); `adjustment` ({"state", "quantity", "reason",
    "confirm"}) posts a stock correction (request_adjustment's rules).

    When the correction needs finance approval (adjustment_approval) the case
    is not resolved: it waits for finance (status waiting, SLA clock stopped)
    and resolves with this resolution once finance approves; a rejection puts
    it back in progress. Resolving a case that already waits for finance on
    an adjustment keeps it waiting: the resolution applies when finance approves.
    It happens now, or `at` (a person's time the demo replays)."""
    check(case, user)
    errors = {}
    if resolution_code not in ResolutionCode.values:
        errors["resolution_code"] = "Choose how the case was put right from the list."
    if root_cause not in RootCause.values:
        errors["root_cause"] = "Choose the root cause from the list."
    if errors:
        raise ValidationError(errors)
    if adjustment is not None:  # refused before the case is changed
        check_request(case, adjustment.get("state"), adjustment.get("quantity"), adjustment.get("reason"),
                      adjustment.get("confirm", False))
    if case.status not in FROM_STATUSES["resolve"]:
        refuse("resolve", case.status)
    resolution = {"resolution_code": resolution_code, "root_cause": root_cause, "note": note or ""}
    lock_rows(Case.objects.filter(pk=case.pk)).get()  # finance decides after this, or before it is read
    pending = pending_adjustment(case)
    if pending is not None and adjustment is None:
        CorrectiveAdjustment.objects.filter(pk=pending.pk).update(resolution=resolution)
        write_history(case, user, "resolve", at or timezone.now(), note=" ".join(filter(None, [
            f"Resolves once finance approves {pending.transaction_id}.", note])))
        return case
    if adjustment is not None:
        requested = request_adjustment(case, user, adjustment.get("state"), adjustment.get("quantity"),
                                       adjustment.get("reason"), adjustment.get("confirm", False),
                                       resolution=resolution, at=at)
        if requested.status == CorrectiveAdjustment.Status.PENDING_APPROVAL:
            return case  # waits for finance; resolves when finance approves
    now = at or timezone.now()
    changes = unpause(case, now)
    move(case, user, "resolve", note=note, at=now,
         status=S.RESOLVED, resolved_at=now, resolved_by=user, resolution_code=resolution_code,
         root_cause=root_cause, resolution_note=note or "", auto_resolved=False, waiting_on="", **changes)
    return case


@transaction.atomic
def reopen(case, user, reason):
    check(case, user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the case is reopened."})
    sla = sla_start(case.location, Router().policy(case.kind, case.severity), Calendar(), timezone.now())
    move(case, user, "reopen", note=reason,
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
