"""The cutover-readiness metrics (inventory.readiness_metrics) on small
hand-built data: what a cutover would strand at the stores (open transfers,
orders in flight, unposted returns) and whether a target system feeds each
store; each count narrows to the scope's locations and lists its records."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from controltower.metrics import Scope, Window, measure
from controltower.models import Role
from inventory.journeys import ORDER, RETURN
from inventory.models import Journey, SourceSystem
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SourceSystemFactory, TransferFactory
from tests.records import records_behind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)
AT_T0 = Window(since=T0 - timedelta(days=1), until=T0)


def records(client, url):
    reader = get_user_model().objects.filter(username="records-admin").first()
    return records_behind(client, url, reader or make_user(Role.ADMIN, username="records-admin"))


@pytest.fixture
def stores():
    return LocationFactory(code="S001"), LocationFactory(code="S002"), LocationFactory(code="DC01")


def test_open_transfers_are_those_shipped_and_not_received_by_the_end_of_the_window(client, stores):
    store, other, dc = stores
    TransferFactory(reference="OPEN-IN", from_location=dc, to_location=store, shipped_at=T0 - timedelta(days=2))
    TransferFactory(reference="OPEN-OUT", from_location=store, to_location=dc, shipped_at=T0 - timedelta(hours=3))
    TransferFactory(reference="LATER", from_location=dc, to_location=store, shipped_at=T0 - timedelta(days=3),
                    received_at=T0 + timedelta(hours=1))  # still in transit at T0
    TransferFactory(reference="DONE", from_location=dc, to_location=store, shipped_at=T0 - timedelta(days=3),
                    received_at=T0 - timedelta(days=1))
    TransferFactory(reference="NOT-YET", from_location=dc, to_location=store, shipped_at=T0 + timedelta(hours=1))
    TransferFactory(reference="ELSEWHERE", from_location=dc, to_location=other, shipped_at=T0 - timedelta(days=1))

    at_store = measure("open_transfers", Scope.of(locations=[store.pk]), AT_T0)
    assert (at_store.value, at_store.reading.sample) == (Decimal(3), 3)
    assert measure("open_transfers", Scope.of(locations=[store.pk, other.pk]), AT_T0).value == Decimal(4)
    assert measure("open_transfers", Scope.of(locations=[]), AT_T0).value is None
    listed = records(client, at_store.reading.records_url)
    assert sorted(row["Reference"] for row in listed) == ["LATER", "OPEN-IN", "OPEN-OUT"]


def test_orders_in_flight_and_unposted_returns_at_the_stores(client, stores):
    store, other, _dc = stores

    def journey(kind, business_id, location, state, **times):
        return Journey.objects.create(kind=kind, business_id=business_id, location=location, state=state, **times)

    journey(ORDER, "O-PLACED", store, "placed", placed_at=T0)
    journey(ORDER, "O-READY", store, "ready_for_pickup", placed_at=T0)
    journey(ORDER, "O-DONE", store, "collected", placed_at=T0, collected_at=T0)
    journey(ORDER, "O-CANCELLED", store, "cancelled", placed_at=T0)
    journey(ORDER, "O-OTHER", other, "picked", placed_at=T0)
    journey(RETURN, "R-WAITING", store, "received", goods_received_at=T0)
    journey(RETURN, "R-REFUNDED", store, "refunded", goods_received_at=T0, refunded_at=T0)
    journey(RETURN, "R-NOT-HERE-YET", store, "initiated")

    orders = measure("orders_in_flight", Scope.of(locations=[store.pk]), AT_T0)
    assert orders.value == Decimal(2)
    assert sorted(r["business_id"] for r in records(client, orders.reading.records_url)) == ["O-PLACED", "O-READY"]
    assert measure("orders_in_flight", Scope(), AT_T0).value == Decimal(3)
    returns = measure("unposted_returns", Scope.of(locations=[store.pk]), AT_T0)
    assert returns.value == Decimal(1)
    assert [r["business_id"] for r in records(client, returns.reading.records_url)] == ["R-WAITING"]
    assert measure("unposted_returns", Scope.of(locations=[other.pk]), AT_T0).value == Decimal(0)


def test_stores_without_a_target_feed(client, stores):
    store, other, dc = stores
    target = SourceSystemFactory(code="POS-NEW", generation=SourceSystem.Generation.TARGET)
    target.lane_locations.set([store])
    legacy = SourceSystemFactory(code="POS-OLD", generation=SourceSystem.Generation.LEGACY)
    legacy.lane_locations.set([other])

    both = measure("stores_without_target_feed", Scope.of(locations=[store.pk, other.pk]), AT_T0)
    assert (both.value, both.reading.sample) == (Decimal(1), 2)
    assert both.reading.detail["without_target_feed"] == ["S002"]
    assert measure("stores_without_target_feed", Scope.of(locations=[store.pk]), AT_T0).value == Decimal(0)
    listed = records(client, both.reading.records_url)
    assert {row["Location"]: row["Target feeds by lane"] for row in listed} == {"S001": "POS-NEW", "S002": ""}
    # A retired target system feeds nothing.
    SourceSystem.objects.filter(pk=target.pk).update(active=False)
    assert measure("stores_without_target_feed", Scope.of(locations=[store.pk]), AT_T0).value == Decimal(1)
