"""Reads for the screens: the queue's figures, a case's related cases, a
store's and a region's cases, and what finance has to decide."""
from django.db.models import Count, Min, Q
from django.utils import timezone

from inventory.models import Position

from ..filters import DONE_COUNT_DAYS, resolved_within
from ..models import Case, CorrectiveAdjustment, Team
from .sla import breached_q, urgency


def status_counts(cases):
    """The figures above the queue for `cases` (a queryset already in the
    viewer's scope): per status, the active cases and the cases resolved or
    closed in the last DONE_COUNT_DAYS (all-time done counts only grow), and
    how many active ones are breached now (sla.breached_q). Two GROUP BYs."""
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
    (sla.escalation_sweep) moved up to its regional ops lead, waiting for
    them: most urgent first."""
    return (
        Case.objects.filter(location__region=region, status__in=Case.ACTIVE,
                            escalation_level=Case.Level.REGIONAL_OPS, owner__kind=Team.Kind.REGIONAL_OPS)
        .select_related("location", "sku", "owner").order_by(*urgency(timezone.now()))
    )


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
