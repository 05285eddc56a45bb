"""The SLA clock, where a case stands against it, and the sweep that acts on it.

The clock counts minutes only while a location trades (the trading clock,
inventory.trading): hours are wall-clock times in the location's time zone,
so a store that opens at 08:00 opens at 08:00 on both sides of a DST change.

The periodic sweep (`escalation_sweep`) warns at 75% of the resolution
target, flags breaches, and moves breached cases up the ladder (owner team
-> regional ops -> hypercare command center), one step per resolution
target that passes. Every change is a conditional update, so two sweeps at
once (or one run twice) warn, flag and escalate each case once. A case's
change and its history (written by changes.write_history) commit together
or not at all; the e-mail is recorded after the commit and sent by a worker
(mail).
"""
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Case as CaseWhen, F, Q, Value, When
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from controltower.tasks import enqueue
from controltower.when import when
from inventory.trading import Calendar

from ..mail_tasks import send_case_mail
from ..models import Case, Team
from . import alerts, mail as case_mail
from .changes import write_history



def add_business_minutes(start, minutes, location):
    """When a target of `minutes` trading minutes started at `start` is due."""
    return Calendar().clock(location).add(start, minutes)


def business_minutes_between(a, b, location):
    return Calendar().clock(location).seconds_between(a, b) / 60


def policy_clock(location, policy, calendar=None):
    """The clock the targets of `policy` run on at `location`: its trading
    hours, unless the policy counts around the clock. The one SLA clock:
    starting, pausing and escalating a case all read it."""
    return (calendar or Calendar()).clock(location, policy.trading_hours_only if policy else True)


def sla_clock(case, calendar=None):
    """The clock a case's targets run on."""
    return policy_clock(case.location, case.sla_policy, calendar)


def unpause(case, now):
    """The changes that restart a waiting case's clock at `now`: the due
    times move later by the trading time spent waiting."""
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


@dataclass(frozen=True)
class SlaState:
    """A case's SLA as people read it: the state, its words, and the due time."""

    state: str  # breached, missed, paused, done, at_risk, on_track or no_sla
    label: str  # the state in words: "Breached", "Missed", "Paused", "Done", "At risk", "On track", "No SLA"
    tone: str  # "alert" once breached or missed, "warn" once at risk (routing.WARNING_SHARE of the target used), else ""
    due_at: datetime | None  # when the case must be resolved
    overdue: bool  # the due time has passed
    time_left: str  # "3 hours, 20 minutes" while before the due time, else ""
    overdue_by: str  # "2 hours" once past it, else ""
    note: str  # after "Due": "clock stopped while waiting", "3 hours left", "overdue by 2 hours" or ""


# A resolved case met its resolution target: resolved by its due time (which
# waiting pushes back). Cases without a target have no due time and match neither.
RESOLVED_IN_TIME = Q(resolved_at__lte=F("resolution_due_at"))
HAS_TARGET = Q(resolution_due_at__isnull=False)
# The statuses whose SLA clock runs (waiting: stopped).
RUNNING = (Case.Status.OPEN, Case.Status.ACKNOWLEDGED, Case.Status.IN_PROGRESS)


def overdue_q(now):
    """Running cases past a target at `now`: the resolution due time, or the
    response due time while nobody acknowledged the case."""
    return Q(status__in=RUNNING) & (Q(resolution_due_at__lte=now)
                                    | Q(acknowledged_at__isnull=True, response_due_at__lte=now))


def breached_q(now):
    """The cases in breach at `now`: marked by the escalation sweep, or past
    a target already though the sweep has not run since. Every count of
    breached cases uses this, so a count agrees with the cases listed."""
    return Q(breached_at__isnull=False) | overdue_q(now)


# Within the breached cases and within the others: severity, then due time (none: last), then id.
# The case_urgency index is in this order, so each part is read off it a page at a time.
BY_SEVERITY_AND_DUE = (F("severity").asc(), F("resolution_due_at").asc(nulls_last=True), F("id").asc())


def breached_first(now):
    """0 for the cases breached at `now` (breached_q), else 1: their sort key."""
    return CaseWhen(When(breached_q(now), then=Value(0)), default=Value(1))


def urgency(now):
    """Most urgent first at `now`: breached as read then (breached_q, so a case
    past its due time sorts with the breached ones before the sweep flags it),
    then BY_SEVERITY_AND_DUE. The queue, the API and the stores' lists order by
    it; the queue reads its pages in two parts off the case_urgency index
    (exceptions.views.queue.MostUrgentFirst)."""
    return (breached_first(now).asc(), *BY_SEVERITY_AND_DUE)


def is_overdue(case, now):
    """overdue_q for one case in memory."""
    if case.status not in RUNNING:
        return False
    due, response_due = case.resolution_due_at, case.response_due_at
    return (due is not None and due <= now) or (
        case.acknowledged_at is None and response_due is not None and response_due <= now)


def missed_target(case):
    """A resolved or closed case that missed its target: breached on the way
    (even if it cleared later), or resolved after its due time."""
    due = case.resolution_due_at
    return bool(case.breached_at) or (due is not None and case.resolved_at is not None and case.resolved_at > due)


SLA_LABELS = {"breached": "Breached", "missed": "Missed", "paused": "Paused", "done": "Done", "at_risk": "At risk",
              "on_track": "On track", "no_sla": "No SLA"}


def sla_state(case, now) -> SlaState:
    """Where `case` stands against its SLA at `now`, derived from its due
    times when read (never only from the flags the escalation sweep sets: it
    may not have run since). A resolved or closed case is done, or missed
    when it missed its target; an active one past a target (or marked
    breached) is breached; a waiting one paused (its clock stopped); one past
    its warning time (or warned) at risk; one with a due time on track."""
    if case.status in Case.DONE:
        state = "missed" if missed_target(case) else "done"
    elif case.breached_at or is_overdue(case, now):
        state = "breached"
    elif case.status == Case.Status.WAITING:
        state = "paused"
    elif case.warned_at or (case.warning_due_at is not None and case.warning_due_at <= now):
        state = "at_risk"
    elif case.resolution_due_at:
        state = "on_track"
    else:
        state = "no_sla"
    due = case.resolution_due_at
    overdue = due is not None and due <= now
    time_left = timeuntil(due, now) if due is not None and not overdue else ""
    overdue_by = timesince(due, now) if overdue else ""
    if due is None or case.status in Case.DONE:
        note = ""
    elif case.status == Case.Status.WAITING:
        note = "clock stopped while waiting"
    else:
        note = f"overdue by {overdue_by}" if overdue else f"{time_left} left"
    return SlaState(
        state=state, label=SLA_LABELS[state],
        tone="alert" if state in ("breached", "missed") else "warn" if state == "at_risk" or (
            state == "paused" and case.warned_at) else "",
        due_at=due, overdue=overdue, time_left=time_left, overdue_by=overdue_by, note=note,
    )


def escalation_sweep(now=None):
    """Returns {"warned": n, "breached": n, "escalated": n}."""
    now = now or timezone.now()
    running = Case.objects.filter(status__in=RUNNING).select_related("owner", "location", "sla_policy")
    counts = {"warned": 0, "breached": 0, "escalated": 0}

    for case in running.filter(warned_at__isnull=True, warning_due_at__lte=now):
        with transaction.atomic():
            if not Case.objects.filter(pk=case.pk, warned_at__isnull=True).update(warned_at=now):
                continue
            message = f"75% of the resolution time used; due {when(case.resolution_due_at, case.location)}"
            write_history(case, None, "sla_warning", now, field="warned_at", to_value=now, note=message)
        _notify(case, "sla_warning", message)
        counts["warned"] += 1

    for case in running.filter(overdue_q(now), breached_at__isnull=True):
        with transaction.atomic():
            if not Case.objects.filter(pk=case.pk, breached_at__isnull=True).update(breached_at=now,
                                                                                    escalation_due_at=now):
                continue
            message = _breach_words(case, now)
            write_history(case, None, "sla_breach", now, field="breached_at", to_value=now, note=message)
        _notify(case, "sla_breach", message)
        counts["breached"] += 1

    calendar = Calendar()
    for case in running.filter(escalation_level__lt=Case.Level.COMMAND_CENTER, escalation_due_at__lte=now):
        counts["escalated"] += _escalate(case, now, calendar)
    return counts


def _escalate(case, now, calendar):
    """One step up the ladder, and one history entry saying so; the next
    step falls due one resolution target later on the case's SLA clock."""
    level = case.escalation_level
    team = next_team(case)
    if team is None:
        return 0
    minutes = case.sla_policy.resolution_minutes if case.sla_policy else 24 * 60
    next_due = sla_clock(case, calendar).add(now, minutes)
    with transaction.atomic():
        rows = Case.objects.filter(pk=case.pk, escalation_level=level).update(
            escalation_level=level + 1, owner=team, escalation_due_at=next_due
        )
        if not rows:
            return 0
        old_owner = case.owner
        case.escalation_level, case.owner = level + 1, team
        message = f"Escalated to {team} (level {level + 1}: {case.get_escalation_level_display()})"
        write_history(case, None, "escalated", now, note=message,
                      changes={"escalation_level": (level, level + 1), "owner": (old_owner, team)})
    _notify(case, "escalated", message)
    alerts.case_escalated(case, team, level + 1, message, now)
    return 1


def next_team(case):
    """Regional ops of the case's region (or the estate-wide one), then the command center."""
    if case.escalation_level == Case.Level.OWNER:
        teams = Team.objects.filter(kind=Team.Kind.REGIONAL_OPS)
        region_id = case.location.region_id if case.location else None
        return teams.filter(region_id=region_id).first() or teams.filter(region__isnull=True).first()
    return Team.objects.filter(kind=Team.Kind.COMMAND_CENTER).first()


def _breach_words(case, now):
    if case.resolution_due_at and case.resolution_due_at <= now:
        return f"Resolution target missed (due {when(case.resolution_due_at, case.location)})"
    return f"Not acknowledged in time (response due {when(case.response_due_at, case.location)})"


def _notify(case, action, message):
    """An e-mail to the owning team, recorded now and sent by a worker."""
    mail = case_mail.record(case, action, message)
    if mail is not None:
        enqueue(send_case_mail, mail.pk)
