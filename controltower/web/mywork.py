"""A person's work waiting for them, counted for any user: the cases assigned
to them or routed to their team and not yet taken, the corrective
adjustments waiting for their approval, the gate sign-offs, waivers and
go/no-go decisions waiting for them. Every landing shows it and the menu
counts it (controltower.navigation.register_badges), each line linking to
exactly the records it counts.

Each count is read live, in the person's scope, and only for a role that
may do that work (controltower.permissions), so a zero is a real zero.
"""
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from controltower.permissions import (
    SIGN_OFF_ROLES,
    may_approve_adjustments,
    may_decide_go_no_go,
    may_manage_rollout,
    may_work_cases,
)
from controltower.scoping import role_of
from exceptions.models import TEAM_OF_ROLE, Case, CorrectiveAdjustment
from rollout.gates import gate_states
from rollout.models import Gate, GateKind, GoNoGo, Waiver


@dataclass
class Line:
    """One kind of work: how many, where they are, and the screen whose menu entry counts them."""

    label: str
    count: int
    url: str
    screen: str
    # For a few named items (a gate to sign off): [(text, url)].
    items: list = field(default_factory=list)


@dataclass
class MyWork:
    lines: list[Line]

    @property
    def total(self):
        return sum(line.count for line in self.lines)

    def badges(self):
        """{screen url name: count} for the menu."""
        counts = {}
        for line in self.lines:
            counts[line.screen] = counts.get(line.screen, 0) + line.count
        return counts


def _url(name, *args, query=""):
    """The screen's address; "" where this site has no such screen (a line then shows no link)."""
    try:
        return reverse(name, args=args) + query
    except NoReverseMatch:
        return ""


def _case_lines(user):
    active = Case.objects.restrict(user).filter(status__in=Case.ACTIVE)
    team = TEAM_OF_ROLE.get(role_of(user))
    # One read for both counts (a role in no team counts none: the filter matches no case).
    found = active.aggregate(mine=Count("pk", filter=Q(assignee=user)),
                             team=Count("pk", filter=Q(assignee__isnull=True, owner__kind=team or "")))
    lines = [Line("Cases assigned to you", found["mine"], _url("cases", query="?assignee=me"), "cases")]
    if team:
        lines.append(Line("Your team's cases nobody has taken", found["team"],
                          _url("cases", query="?team=mine&assignee=none"), "cases"))
    return lines


def _approval_line(user):
    # Four eyes: one's own request waits for someone else.
    waiting = (CorrectiveAdjustment.objects.filter(status=CorrectiveAdjustment.Status.PENDING_APPROVAL)
               .restrict(user).exclude(requested_by=user).count())
    return Line("Adjustments waiting for your approval", waiting, _url("approvals"), "approvals")


def _wave_link(gate):
    return _url("rollout-wave", gate.wave_id, query=f"#gate-{gate.pk}")


def _gate_name(gate):
    return f"{gate.template.get_kind_display()} of {gate.wave.name}"


def _rollout_screen(user):
    """Where the menu counts rollout work: the board, or home for a role without it (a store manager)."""
    from controltower.navigation import allows

    return "rollout" if allows("rollout", user) else "home"


def _sign_off_line(user, open_gates, states):
    role = role_of(user)
    waiting = [gate for gate in open_gates if role in states[gate.pk].missing_roles]
    screen = _rollout_screen(user)
    # A store manager has no board: each gate links to its wave page, where they sign.
    return Line("Gates waiting for your sign-off", len(waiting), _url("rollout") if waiting and screen == "rollout"
                else "", screen, [(_gate_name(gate), _wave_link(gate)) for gate in waiting])


def _decision_line(user, open_gates):
    cutovers = [gate for gate in open_gates if gate.template.kind == GateKind.CUTOVER]
    decided = set(GoNoGo.objects.filter(gate__in=cutovers, decision=GoNoGo.Decision.GO)
                  .values_list("gate_id", flat=True))
    waiting = [gate for gate in cutovers if gate.pk not in decided]
    return Line("Cutovers waiting for a go/no-go decision", len(waiting), _url("rollout") if waiting else "",
                _rollout_screen(user), [(_gate_name(gate), _wave_link(gate)) for gate in waiting])


def _waiver_line(user, now):
    waiting = list(Waiver.objects.restrict(user).filter(approved_at__isnull=True, expires_at__gt=now)
                   .exclude(requested_by=user).select_related("gate__template", "gate__wave", "criterion"))
    return Line("Waivers waiting for your approval", len(waiting), _url("rollout") if waiting else "",
                _rollout_screen(user), [(f"{_gate_name(w.gate)}: {w.criterion}", _wave_link(w.gate))
                                        for w in waiting])


def my_work(user, now=None) -> MyWork:
    """What waits for `user`, the lines their role has (none for a role with no such work)."""
    now = now or timezone.now()
    role = role_of(user)
    lines = []
    if may_work_cases(user):
        lines += _case_lines(user)
    if may_approve_adjustments(user):
        lines.append(_approval_line(user))
    signs = role in SIGN_OFF_ROLES
    if signs or may_decide_go_no_go(user):
        open_gates = list(Gate.objects.restrict(user).filter(status=Gate.Status.OPEN)
                          .select_related("template", "wave").order_by("wave__planned_cutover", "pk"))
        if signs:
            needing = [gate for gate in open_gates if role in (gate.template.required_roles or [])]
            lines.append(_sign_off_line(user, needing, gate_states(needing, now)))
        if may_decide_go_no_go(user):
            lines.append(_decision_line(user, open_gates))
    if may_manage_rollout(user):
        lines.append(_waiver_line(user, now))
    return MyWork(lines)


def of_request(request) -> MyWork:
    """The person's work, read once per request (the menu's counts and the landing's panel)."""
    if not hasattr(request, "_my_work"):
        request._my_work = my_work(request.user)
    return request._my_work


def badges(request):
    """The menu's counts (registered with controltower.navigation)."""
    if not request.user.is_authenticated:
        return {}
    return of_request(request).badges()


__all__ = ["Line", "MyWork", "badges", "my_work", "of_request"]
