"""journey_stuck: a journey past its step's SLA opens a case of its own kind,
one per journey, that clears itself when the journey moves on."""
from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.detectors import DETECTORS, beat_schedule
from exceptions.reconciliation import run_reconciliation
from inventory.journeys import ingest_steps
from tests.inventory.factories import LocationFactory, RegionFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

KIND = CaseKind.JOURNEY_STUCK


def step(txn, name, hours_ago, business_id="WEB-1", journey="order_to_fulfilment", **extra):
    at = timezone.now() - timedelta(hours=hours_ago)
    return {"transaction_id": txn, "journey": journey, "business_id": business_id, "step": name,
            "occurred_at": at.isoformat(), **extra}


@pytest.fixture
def oms():
    return SourceSystemFactory(code="OMS")


@pytest.fixture
def store():
    return LocationFactory(code="S001", region=RegionFactory(code="R1"))


def test_the_kind_is_scheduled():
    assert KIND in DETECTORS and f"reconcile-{KIND}" in beat_schedule()


def test_a_stuck_journey_opens_one_case_that_clears_when_it_moves_on(default_routing, store, oms):
    ingest_steps(oms, [
        step("a1", "placed", 90, channel="bopis"),
        step("a2", "ready_for_pickup", 80, location=store.code),  # 72 h SLA: stuck
        step("b1", "placed", 3, business_id="WEB-2"),  # within its 24 h
        step("c1", "received", 6 * 24, business_id="RET-1", journey="return_to_refund", location=store.code),
    ])

    run_reconciliation(KIND)
    run_reconciliation(KIND)  # a rerun never duplicates

    cases = Case.objects.filter(kind=KIND).order_by("reference")
    assert [(c.reference, c.status, c.location_id, c.severity) for c in cases] == [
        ("order WEB-1", Case.Status.OPEN, store.pk, 3),
        ("return RET-1", Case.Status.OPEN, store.pk, 3),
    ]
    assert "ready for pickup but not collected for 80 h (SLA 72 h)" in cases[0].summary
    assert cases[0].owner.code == "STORE-OPS"

    ingest_steps(oms, [step("a3", "collected", 1, location=store.code)])
    run_reconciliation(KIND)

    assert Case.objects.get(reference="order WEB-1").status == Case.Status.RESOLVED
    assert Case.objects.get(reference="return RET-1").status == Case.Status.OPEN


def test_twice_the_sla_is_severity_2_for_the_region(default_routing, store, oms):
    ingest_steps(oms, [step("r1", "ordered", 29 * 24, business_id="REP-1", journey="inventory_to_replenishment",
                            location=store.code)])
    run_reconciliation(KIND)

    case = Case.objects.get(kind=KIND)
    assert (case.reference, case.severity, case.owner.code) == ("replenishment REP-1", 2, "REGIONAL-OPS")
