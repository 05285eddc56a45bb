"""The case events that reach people (controltower.alerts): a case assigned
to someone, new cases routed to a team, an escalation, an adjustment waiting
for finance. Each is raised once: its key names the transition."""
from collections import Counter

from django.urls import reverse

from controltower.alerts import people_with_roles, raise_alert
from controltower.models import AlertKind
from controltower.permissions import APPROVERS
from controltower.scoping import people_seeing

from ..models import Team


def _where(case):
    return case.location.code if case.location else "estate"


def case_assigned(case, assignee, at):
    """Tell the person a case was assigned to."""
    raise_alert(AlertKind.CASES, f"case-assigned:{case.pk}:{assignee.pk}:{at.isoformat()}",
                f"[Control Tower] Case #{case.pk} assigned to you: {case.get_kind_display()} at {_where(case)}",
                f"{case.summary}\n\nSeverity {case.severity}.", users=[assignee],
                link=reverse("case-detail", args=[case.pk]), at=at)


def cases_opened(cases, at):
    """Tell each team its share of the cases a reconciliation just opened (one alert per team and kind)."""
    counts = Counter((case.owner_id, case.kind) for case in cases if case.owner_id)
    teams = Team.objects.in_bulk({team_id for team_id, _ in counts})
    for (team_id, kind), count in sorted(counts.items()):
        team = teams[team_id]
        label = next(case for case in cases if case.kind == kind).get_kind_display()
        raise_alert(AlertKind.CASES, f"cases-opened:{kind}:{at.isoformat()}:{team_id}",
                    f"[Control Tower] {count} new case{'s' if count > 1 else ''} for {team}: {label}",
                    f"{count} new {label} case{'s' if count > 1 else ''} routed to {team}.",
                    teams=[team], link=f"{reverse('cases')}?kind={kind}&team=mine", at=at)


def case_escalated(case, team, level, message, at):
    """Tell the team a case was escalated to, and the person working it."""
    subject = f"[Control Tower] Case #{case.pk} escalated: {case.get_kind_display()} at {_where(case)}"
    body = f"{message}\n\n{case.summary}\n\nSeverity {case.severity}."
    link = reverse("case-detail", args=[case.pk])
    raise_alert(AlertKind.ESCALATIONS, f"case-escalated:{case.pk}:{level}", subject, body, teams=[team],
                users=[case.assignee] if case.assignee else [], link=link, at=at)


def approval_waiting(adjustment, at):
    """Tell the approvers who see the store that an adjustment waits for them."""
    case = adjustment.case
    approvers = people_with_roles(APPROVERS).filter(people_seeing([adjustment.location])).distinct()
    raise_alert(AlertKind.WAITING, f"approval-waiting:{adjustment.pk}",
                f"[Control Tower] Adjustment {adjustment.transaction_id} waits for your approval",
                f"{adjustment.quantity:+d} {adjustment.state} worth {adjustment.value} at {_where(case)} "
                f"({adjustment.approval_why}).", users=list(approvers), link=reverse("approvals"), at=at)
