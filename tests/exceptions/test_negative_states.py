"""negative_stock in every state: a quantity below zero in reserved, in transit
or any other state opens a case naming the state and the ledger lines that
drove it there; negative available keeps its case as it was."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exceptions.findings import CaseKind
from exceptions.models import Case, CaseLink
from exceptions.reconciliation import run_reconciliation
from inventory.ledger import ingest_events
from inventory.models import InventoryEvent, Position, SourceSystem
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def world():
    class World:
        pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)
        store = LocationFactory(code="S001")
        dest = LocationFactory(code="S002")
        sku = SKUFactory(code="SKU00017", unit_cost=Decimal("4.00"))

        def post(self, txn, type, quantity, minutes_ago, location=None, **extra):
            event = {"transaction_id": txn, "type": type, "location": (location or self.store).code,
                     "sku": self.sku.code, "quantity": quantity,
                     "occurred_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(), **extra}
            report = ingest_events(self.pos, [event])
            assert report.counts["accepted"] == 1, report.results
            return InventoryEvent.objects.get(transaction_id=txn)

    return World()


def negative(reference, location):
    return Case.objects.get(kind=CaseKind.NEGATIVE_STOCK, reference=reference, location=location)


def linked(case):
    return set(CaseLink.objects.filter(case=case, kind="event").values_list("object_id", flat=True))


def test_a_pick_of_more_than_reserved_opens_a_case_naming_reserved_and_the_pick(world):
    world.post("r1", "receipt", 10, 60, reference="PO1")
    reserve = world.post("o1", "reserve", 2, 50)
    pick = world.post("p1", "pick", 5, 40)
    assert Position.objects.get(location=world.store).reserved == -3

    first = run_reconciliation(CaseKind.NEGATIVE_STOCK)
    again = run_reconciliation(CaseKind.NEGATIVE_STOCK)

    case = negative("reserved", world.store)
    assert first.opened == [case.pk] and again.opened == [] and again.updated == []
    assert case.summary == "Reserved is -3 at S001 for SKU00017: 1 pick took 5 when 2 were reserved"
    assert (case.quantity_at_risk, case.value_at_risk, case.sku_id) == (3, Decimal("12.00"), world.sku.pk)
    assert case.details["state"] == "reserved" and case.details["quantity"] == -3
    assert linked(case) == {pick.pk}
    assert reserve.pk not in linked(case)
    # Available is 8 and picked 5: no other case.
    assert Case.objects.filter(kind=CaseKind.NEGATIVE_STOCK).count() == 1


def test_a_transfer_in_with_no_transfer_out_leaves_in_transit_negative_at_the_destination(world):
    arrival = world.post("t1-in", "transfer_in", 4, 30, location=world.dest, reference="TR1")

    run_reconciliation(CaseKind.NEGATIVE_STOCK)

    case = negative("in_transit", world.dest)
    assert case.summary == "In transit is -4 at S002 for SKU00017: 1 transfer in took 4 when none were in transit"
    assert linked(case) == {arrival.pk}
    assert case.details["state"] == "in_transit"

    # The transfer_out turns up late: in transit is back to 0, the case clears.
    world.post("t1-out", "transfer_out", 4, 90, to_location=world.dest.code, reference="TR1")
    world.post("r1", "receipt", 4, 120, reference="PO1")
    assert run_reconciliation(CaseKind.NEGATIVE_STOCK).resolved == [case.pk]
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.auto_resolved


def test_negative_available_keeps_its_own_case_beside_another_state(world):
    world.post("o1", "reserve", 2, 50)  # available -2, reserved 2
    world.post("p1", "pick", 3, 40)  # reserved -1

    run_reconciliation(CaseKind.NEGATIVE_STOCK)

    available = negative("", world.store)
    assert available.fingerprint == f"negative_stock|{world.store.pk}|{world.sku.pk}|"
    assert available.summary == "POS sold 2 more SKU00017 than S001 had; available is -2"
    assert negative("reserved", world.store).fingerprint == f"negative_stock|{world.store.pk}|{world.sku.pk}|reserved"


def test_the_case_resolves_once_the_state_is_back_to_zero(world):
    world.post("r1", "receipt", 10, 60, reference="PO1")
    world.post("o1", "reserve", 2, 50)
    world.post("p1", "pick", 5, 40)
    run_reconciliation(CaseKind.NEGATIVE_STOCK)
    case = negative("reserved", world.store)

    world.post("a1", "adjustment", 3, 10, to_state="reserved", reason="correction")

    assert run_reconciliation(CaseKind.NEGATIVE_STOCK).resolved == [case.pk]


def test_the_lineage_starts_after_the_latest_count(world):
    world.post("r1", "receipt", 10, 100, reference="PO1")
    world.post("o1", "reserve", 3, 90)
    world.post("p1", "pick", 4, 80)  # reserved -1 ...
    world.post("c1", "cycle_count", 2, 70, to_state="reserved")  # ... counted back to 2
    world.post("o2", "reserve", 1, 60)  # 3
    pick = world.post("p2", "pick", 5, 50)  # -2
    release = world.post("x1", "release", 1, 40)  # -3

    run_reconciliation(CaseKind.NEGATIVE_STOCK)

    case = negative("reserved", world.store)
    assert Position.objects.get(location=world.store).reserved == -3
    assert linked(case) == {pick.pk, release.pk}
    assert case.summary == "Reserved is -3 at S001 for SKU00017: 1 pick and 1 release took 6 when 3 were reserved"
    assert case.details["before"] == 3 and case.details["lines"] == 2
