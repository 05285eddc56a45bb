"""The periodic SLA sweep: warn at 75% of the resolution target, flag
breaches, and move breached cases up the ladder (owner team -> regional ops
-> hypercare command center), one step per resolution target that passes.

Every change is a conditional update, so two sweeps at once (or one run
twice) warn, flag and escalate each case once. A case's change and its
history (written by the case service's writer) commit together or not at
all; the e-mail is recorded after the commit and sent by a worker.
"""
from django.db import transaction
from django.utils import timezone

from controltower.tasks import enqueue
from controltower.when import when

from . import mail as case_mail
from .models import Case, Team
from .services import _history
from .sla import RUNNING, Calendar, overdue_q



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
            _history(case, None, "sla_warning", now, field="warned_at", to_value=now, note=message)
        _notify(case, "sla_warning", message)
        counts["warned"] += 1

    for case in running.filter(overdue_q(now), breached_at__isnull=True):
        with transaction.atomic():
            if not Case.objects.filter(pk=case.pk, breached_at__isnull=True).update(breached_at=now,
                                                                                    escalation_due_at=now):
                continue
            message = _breach_words(case, now)
            _history(case, None, "sla_breach", now, field="breached_at", to_value=now, note=message)
        _notify(case, "sla_breach", message)
        counts["breached"] += 1

    calendar = Calendar()
    for case in running.filter(escalation_level__lt=Case.Level.COMMAND_CENTER, escalation_due_at__lte=now):
        counts["escalated"] += _escalate(case, now, calendar)
    return counts


def _escalate(case, now, calendar):
    level = case.escalation_level
    team = next_team(case)
    if team is None:
        return 0
    minutes = case.sla_policy.resolution_minutes if case.sla_policy else 24 * 60
    clock = calendar.clock(case.location, case.sla_policy.trading_hours_only if case.sla_policy else True)
    with transaction.atomic():
        rows = Case.objects.filter(pk=case.pk, escalation_level=level).update(
            escalation_level=level + 1, owner=team, escalation_due_at=clock.add(now, minutes)
        )
        if not rows:
            return 0
        old_owner = case.owner
        case.escalation_level, case.owner = level + 1, team
        message = f"Escalated to {team} (level {level + 1}: {case.get_escalation_level_display()})"
        _history(case, None, "escalated", now, field="owner", from_value=str(old_owner or ""), to_value=str(team))
        _history(case, None, "escalated", now, field="escalation_level", from_value=level, to_value=level + 1,
                 note=message)
    _notify(case, "escalated", message)
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
    from .tasks import send_case_mail  # the tasks module imports this one

    mail = case_mail.record(case, action, message)
    if mail is not None:
        enqueue(send_case_mail, mail.pk)
