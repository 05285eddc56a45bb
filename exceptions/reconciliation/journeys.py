"""Journeys stuck past their step's SLA (inventory.journeys.SLAS): an order
ready for pickup and not collected, a return received and not refunded...
One case per stuck journey; it clears when the journey moves on."""
from __future__ import annotations

from django.utils import timezone

from inventory.journeys import sla_for, stuck, stuck_words
from inventory.models import JourneyKind

from ..detectors import Detector, Route, register
from ..findings import CaseKind, Finding

# The journey kind in a case's reference, in a word: "order WEB-1".
WORD = {
    JourneyKind.ORDER: "order",
    JourneyKind.RETURN: "return",
    JourneyKind.PROMOTION: "promotion",
    JourneyKind.REPLENISHMENT: "replenishment",
}


def journey_stuck(now=None) -> list[Finding]:
    """Every journey whose state has run past its SLA at `now`. Severity 2
    once overdue by the SLA again (twice the time allowed), else 3."""
    now = now or timezone.now()
    findings = []
    for journey in stuck(now=now).order_by("id").iterator():
        sla = sla_for(journey.kind, journey.state)
        findings.append(Finding(
            kind=CaseKind.JOURNEY_STUCK,
            location_id=journey.location_id,
            sku_id=None,
            reference=f"{WORD[journey.kind]} {journey.business_id}",
            severity=2 if now - journey.due_at >= sla.limit else 3,
            customer_impact=sla.customer_impact,
            summary=stuck_words(journey, now),
            details={
                "journey_id": journey.pk,
                "journey": journey.kind,
                "state": journey.state,
                "channel": journey.channel,
                "sla_hours": sla.hours,
                "due_at": journey.due_at.isoformat(),
                "step_times": journey.step_times,
            },
        ))
    return findings


# Step SLAs run in hours and days: a stuck journey is seen within 15 min. One
# overdue by its SLA again (severity 2) goes to the region's operations lead:
# the customer has waited twice the time allowed.
register(Detector(CaseKind.JOURNEY_STUCK, "Journey stuck past its step's SLA", journey_stuck, every_s=900,
                  timed=True, routes=(Route("REGIONAL-OPS", severity=2),)))
