"""Where a new or reopened case goes: its owning team (the routing rules)
and its SLA policy, whose clock starts when the case opens."""
from decimal import Decimal

from ..models import RoutingRule, SLAPolicy
from .sla import policy_clock

# The warning comes when this share of the resolution target is used.
WARNING_SHARE = Decimal("0.75")


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


def sla_start(location, policy, calendar, now):
    """The SLA fields of a case whose clock starts now."""
    fields = {"sla_policy": policy, "warned_at": None, "breached_at": None, "escalation_due_at": None,
              "response_due_at": None, "resolution_due_at": None, "warning_due_at": None}
    if policy is not None:
        clock = policy_clock(location, policy, calendar)
        fields["response_due_at"] = clock.add(now, policy.response_minutes)
        fields["resolution_due_at"] = clock.add(now, policy.resolution_minutes)
        fields["warning_due_at"] = clock.add(now, float(policy.resolution_minutes * WARNING_SHARE))
    return fields
