"""The default playbook: the stage gates every new program starts with, each
with measured criteria from the metric registry and the roles that sign it
off. Thresholds are the domain brief's (DOMAIN.md, rollout governance)
where it names one, otherwise the metric's own registered target.

A criterion over "locations" is measured over the wave's own stores, one
over "sources" over the feeds of those stores (rollout.evaluation.scope_of).
The PMO then adds, edits and retires criteria per program (rollout.criteria).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from controltower.audit import Load
from controltower.models import Role

from .models import Criterion, GateKind, GateTemplate

GTE, LTE = Criterion.Comparator.GTE, Criterion.Comparator.LTE
LOCATIONS, SOURCES = Criterion.ScopeKind.LOCATIONS, Criterion.ScopeKind.SOURCES
DAY, WEEK = 24, 7 * 24


@dataclass(frozen=True)
class Rule:
    metric: str
    comparator: str
    threshold: str
    scope: str = LOCATIONS
    window_hours: int = DAY
    steady_hours: int | None = None


# kind: (roles that sign off, [Rule]), in the order a wave passes them.
PLAYBOOK = {
    # The integration design reaches every store: each has a feed from a target system.
    GateKind.DESIGN_COMPLETE: ([Role.FINANCE, Role.INTEGRATION_ADMIN], [
        Rule("stores_without_target_feed", LTE, "0", window_hours=WEEK),
    ]),
    # The item master of the SKUs the wave's stores carry.
    GateKind.DATA_READINESS: ([Role.INTEGRATION_ADMIN], [
        Rule("item_master_completeness", GTE, "99.5"),
        Rule("duplicate_barcodes", LTE, "0", window_hours=30 * DAY),
        Rule("conversion_conflicts", LTE, "0"),
    ]),
    # Their feeds over a steady window: three days running.
    GateKind.INTEGRATION_PERFORMANCE: ([Role.INTEGRATION_ADMIN], [
        Rule("event_acceptance_rate", GTE, "99.9", scope=SOURCES, steady_hours=3 * DAY),
        Rule("sync_latency_p95", LTE, "300", scope=SOURCES, steady_hours=3 * DAY),
    ]),
    GateKind.TRAINING_COMPLETE: ([Role.REGIONAL_OPS], [
        Rule("training_completion", GTE, "95", window_hours=WEEK),
        Rule("training_proficiency", GTE, "80", window_hours=WEEK),
    ]),
    # Trained, no severe case open, and the dry run's counts match the record.
    GateKind.STORE_READINESS: ([Role.REGIONAL_OPS, Role.FINANCE], [
        Rule("training_completion", GTE, "95", window_hours=WEEK),
        Rule("open_sev1_cases", LTE, "0"),
        Rule("open_sev2_cases", LTE, "5"),
        Rule("inventory_accuracy_exact", GTE, "97", window_hours=2 * WEEK),
    ]),
    # Nothing in progress a cutover would strand.
    GateKind.CUTOVER: ([Role.FINANCE, Role.INTEGRATION_ADMIN], [
        Rule("open_transfers", LTE, "0"),
        Rule("orders_in_flight", LTE, "0"),
        Rule("unposted_returns", LTE, "0"),
    ]),
    GateKind.HYPERCARE_EXIT: ([Role.REGIONAL_OPS, Role.FINANCE], [
        Rule("inventory_accuracy_exact", GTE, "97", window_hours=WEEK),
        Rule("sla_attainment", GTE, "95", window_hours=WEEK),
        Rule("days_since_last_sev1", GTE, "7", window_hours=WEEK),
        # What the stores' people still report as severe.
        Rule("open_reported_sev12", LTE, "0"),
        # Few cases still come from people not knowing the new process (the next wave's training).
        Rule("training_root_cause_share", LTE, "10", window_hours=WEEK),
    ]),
}


def apply_playbook(program):
    """Give `program` the playbook's gates with their criteria and roles,
    once: a program that already has gate templates keeps its own. Returns
    the templates made."""
    if program.gate_templates.exists():
        return []
    made, trail = [], Load()
    with transaction.atomic():
        for order, (kind, (roles, rules)) in enumerate(PLAYBOOK.items(), start=1):
            template = GateTemplate.objects.create(program=program, kind=kind, order=order,
                                                   required_roles=[str(role) for role in roles])
            criteria = Criterion.objects.bulk_create([
                Criterion(template=template, metric=rule.metric, comparator=rule.comparator,
                          threshold=Decimal(rule.threshold), scope=rule.scope, window_hours=rule.window_hours,
                          steady_hours=rule.steady_hours)
                for rule in rules
            ])
            for criterion in criteria:
                trail.created(criterion)
            made.append(template)
        trail.write()
    return made
