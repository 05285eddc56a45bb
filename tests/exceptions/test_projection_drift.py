"""projection_drift: positions that differ from the ledger fold open one
severity-1 case for IT, listing the differences; a repair clears it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.detectors import DETECTORS, beat_schedule
from exceptions.reconciliation import run_reconciliation
from inventory.ledger import ingest_events, rebuild_positions
from inventory.models import Position, SourceSystem
from tests.inventory.factories import SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock(people):
    pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)
    sku = SKUFactory(code="SKU00017", unit_cost=Decimal("2.50"))
    at = (timezone.now() - timedelta(hours=1)).isoformat()
    report = ingest_events(pos, [
        {"transaction_id": "r1", "type": "receipt", "location": people.store.code, "sku": sku.code,
         "quantity": 10, "occurred_at": at, "reference": "PO1"},
    ])
    assert report.counts["accepted"] == 1
    return people.store, sku


def drift():
    return Case.objects.filter(kind=CaseKind.PROJECTION_DRIFT)


def test_a_scheduled_kind_every_hour_unless_told():
    from exceptions.reconciliation_tasks import tasks

    assert CaseKind.PROJECTION_DRIFT in DETECTORS
    assert tasks[CaseKind.PROJECTION_DRIFT].name == "reconcile.projection_drift"
    entry = beat_schedule()["reconcile-projection_drift"]
    assert entry["task"] == "reconcile.projection_drift" and entry["schedule"] == 3600


def test_positions_equal_to_the_ledger_open_nothing(stock):
    assert run_reconciliation(CaseKind.PROJECTION_DRIFT).opened == []
    assert not drift().exists()


def test_a_tampered_position_opens_one_sev1_case_for_it_and_a_repair_clears_it(stock, default_routing):
    store, sku = stock
    Position.objects.filter(location=store, sku=sku).update(available=7, damaged=2)

    first = run_reconciliation(CaseKind.PROJECTION_DRIFT)
    again = run_reconciliation(CaseKind.PROJECTION_DRIFT)

    case = drift().get()
    assert first.opened == [case.pk] and again.opened == [] and again.updated == []
    assert (case.severity, case.reference, case.location_id, case.sku_id) == (1, "positions", None, None)
    assert case.owner.code == "INTEGRATION"  # not regional ops, as the severity-1 default would send it
    assert case.summary == (
        "2 position quantities differ from the ledger at 1 position; "
        "check them, then run manage.py rebuild_positions to repair"
    )
    assert case.details["differences"] == 2 and case.details["positions"] == 1
    assert case.details["listed"] == [
        f"{store.code} SKU00017 available: position 7, ledger 10",
        f"{store.code} SKU00017 damaged: position 2, ledger 0",
    ]
    assert (case.quantity_at_risk, case.value_at_risk) == (5, Decimal("12.50"))

    rebuild_positions(repair=True)
    assert run_reconciliation(CaseKind.PROJECTION_DRIFT).resolved == [case.pk]
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.auto_resolved


def test_the_list_is_capped_and_keeps_the_full_count(people):
    pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)
    at = (timezone.now() - timedelta(hours=1)).isoformat()
    skus = [SKUFactory(code=f"SKU{n:05d}") for n in range(60)]
    ingest_events(pos, [
        {"transaction_id": f"r{n}", "type": "receipt", "location": people.store.code, "sku": sku.code,
         "quantity": 1, "occurred_at": at, "reference": "PO1"} for n, sku in enumerate(skus)
    ])
    Position.objects.update(available=0)

    run_reconciliation(CaseKind.PROJECTION_DRIFT)

    case = drift().get()
    assert case.details["differences"] == 60 and len(case.details["listed"]) == 51
    assert case.details["listed"][-1] == "... and 10 more"


def test_the_case_page_lists_the_differences(client, people, stock, default_routing):
    store, sku = stock
    Position.objects.filter(location=store, sku=sku).update(available=7)
    run_reconciliation(CaseKind.PROJECTION_DRIFT)
    client.force_login(people[Role.INTEGRATION_ADMIN].owner)

    response = client.get(reverse("case-detail", args=[drift().get().pk]))

    assert response.status_code == 200
    assert f"{store.code} SKU00017 available: position 7, ledger 10" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_task_outside_a_transaction_reads_one_snapshot_and_finds_the_drift(stock, default_routing):
    """As the worker runs it: on PostgreSQL the run's transaction is REPEATABLE READ."""
    from exceptions.reconciliation_tasks import tasks

    store, sku = stock
    Position.objects.filter(location=store, sku=sku).update(available=9)

    assert tasks[CaseKind.PROJECTION_DRIFT].apply().get() == {
        "outcome": "ok", "opened": 1, "updated": 0, "reopened": 0, "resolved": 0,
    }
    assert drift().get().details["listed"] == [f"{store.code} SKU00017 available: position 9, ledger 10"]
