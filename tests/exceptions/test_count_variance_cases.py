"""count_variance: the latest count of a location x SKU x state beyond its
location kind's tolerance opens one case, with the count and the late lines
behind it; a later count within tolerance, or late lines that explain it,
clear it. The case page shows the position's latest count."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import Case, CaseLink
from exceptions.detectors import DETECTORS, beat_schedule
from exceptions.reconciliation import run_reconciliation
from inventory.ledger import ingest_events
from inventory.models import InventoryEvent, Location, SourceSystem
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def world():
    class World:
        pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)
        store = LocationFactory(code="S001")
        sku = SKUFactory(code="SKU00017", unit_cost=Decimal("4.00"))

        def post(self, txn, type, quantity, minutes_ago, location=None, **extra):
            event = {"transaction_id": txn, "type": type, "location": (location or self.store).code,
                     "sku": self.sku.code, "quantity": quantity,
                     "occurred_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(), **extra}
            report = ingest_events(self.pos, [event])
            assert report.counts["accepted"] == 1, report.results
            return InventoryEvent.objects.get(transaction_id=txn)

    return World()


def active_cases():
    return Case.objects.filter(kind=CaseKind.COUNT_VARIANCE, status__in=Case.ACTIVE)


def linked(case):
    return set(CaseLink.objects.filter(case=case, kind="event").values_list("object_id", flat=True))


def test_the_kind_is_scheduled():
    assert CaseKind.COUNT_VARIANCE in DETECTORS
    assert "reconcile-count_variance" in beat_schedule()


def test_a_count_beyond_tolerance_opens_one_case_per_state(world):
    world.post("r", "receipt", 20, 120, reference="PO1")
    count = world.post("c", "cycle_count", 14, 60)
    first = run_reconciliation(CaseKind.COUNT_VARIANCE)
    again = run_reconciliation(CaseKind.COUNT_VARIANCE)
    [case] = active_cases()
    assert first.opened == [case.pk] and again.opened == [] and again.updated == []
    assert (case.location, case.sku, case.reference, case.source) == (world.store, world.sku, "available", world.pos)
    assert (case.quantity_at_risk, case.value_at_risk) == (6, Decimal("24.00"))
    assert case.details["counted"] == 14 and case.details["record"] == 20 and case.details["variance"] == -6
    assert case.details["tolerance"] == {"units": 1, "percent": "5"}
    assert "POS counted 14 available of SKU00017 at S001" in case.summary and "the record was 20: -6" in case.summary
    assert linked(case) == {count.pk}


def test_a_count_within_tolerance_opens_nothing(world):
    world.post("r", "receipt", 20, 120, reference="PO1")
    world.post("c", "cycle_count", 19, 60)  # one unit off at a store
    world.post("open", "cycle_count", 7, 60, location=LocationFactory(code="S002"))  # an opening balance
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    assert not active_cases().exists()


def test_a_later_count_within_tolerance_clears_the_case(world):
    world.post("r", "receipt", 20, 120, reference="PO1")
    world.post("c1", "cycle_count", 14, 60)
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    [case] = active_cases()
    world.post("s", "sale", 2, 30)
    world.post("c2", "cycle_count", 12, 10)  # 14 - 2: the record now holds
    report = run_reconciliation(CaseKind.COUNT_VARIANCE)
    case.refresh_from_db()
    assert report.resolved == [case.pk] and case.status == Case.Status.RESOLVED and case.auto_resolved


def test_a_new_count_beyond_tolerance_updates_the_same_case(world):
    world.post("r", "receipt", 20, 120, reference="PO1")
    world.post("c1", "cycle_count", 14, 60)
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    c2 = world.post("c2", "cycle_count", 4, 10)
    report = run_reconciliation(CaseKind.COUNT_VARIANCE)
    [case] = active_cases()
    assert report.opened == [] and report.updated == [case.pk]
    assert (case.details["record"], case.details["variance"]) == (14, -10)
    assert c2.pk in linked(case)


def test_late_sales_that_explain_the_variance_clear_it_and_are_its_lineage(world):
    world.post("r", "receipt", 20, 120, reference="PO1")
    world.post("c", "cycle_count", 14, 60)
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    [case] = active_cases()
    # An offline till replays two sales that happened before the count.
    late = world.post("late1", "sale", 3, 90)
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    case.refresh_from_db()
    assert case.status in Case.ACTIVE and case.details["variance"] == -3 and case.details["late_lines"] == 1
    assert late.pk in linked(case)
    world.post("late2", "sale", 2, 80)
    report = run_reconciliation(CaseKind.COUNT_VARIANCE)  # -1: within a store's tolerance
    case.refresh_from_db()
    assert report.resolved == [case.pk] and case.status == Case.Status.RESOLVED


def test_the_dc_is_held_to_its_own_tolerance(world):
    dc = LocationFactory(code="DC01", kind=Location.Kind.DC)
    world.post("r", "receipt", 400, 120, location=dc, reference="PO1")
    world.post("c", "cycle_count", 397, 60, location=dc)  # 3 of 400: beyond 0.5%
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    [case] = active_cases()
    assert case.location == dc and case.details["tolerance"] == {"units": 0, "percent": "0.5"}


def test_the_case_page_shows_the_latest_count(client, world):
    world.post("r", "receipt", 20, 120, reference="PO1")
    world.post("c", "cycle_count", 14, 60)
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    [case] = active_cases()
    client.force_login(make_user(Role.STORE_MANAGER, [world.store], username="manager"))
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Latest cycle count" in page
    assert '<td class="num">14</td>' in page and '<td class="num">20</td>' in page
    assert '<td class="num negative">-6</td>' in page and "<td>beyond</td>" in page


def test_a_case_page_of_a_position_never_counted_says_so(client, world):
    world.post("r", "receipt", 20, 120, reference="PO1")
    world.post("s", "sale", 25, 60)
    run_reconciliation(CaseKind.NEGATIVE_STOCK)
    case = Case.objects.get(kind=CaseKind.NEGATIVE_STOCK)
    client.force_login(make_user(Role.STORE_MANAGER, [world.store], username="manager"))
    assert "No cycle count of this SKU here yet." in client.get(f"/cases/{case.pk}/").content.decode()
