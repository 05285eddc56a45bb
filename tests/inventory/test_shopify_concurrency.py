"""Shopify deliveries arriving at the same moment (PostgreSQL, real threads):
the same delivery twice is taken once, and of two observations of one item
and location the newer is kept whichever commits first."""
import pytest
from django.db import connection

from inventory import adapters
from inventory.models import ObservedLevel, Snapshot, SourceSystem, WebhookDelivery
from inventory.webhooks import set_webhook_secret
from tests.inventory.factories import ExternalIdFactory, LocationFactory, SKUFactory, SourceSystemFactory
from tests.inventory.test_shopify_webhooks import ITEM, LOCATION, level
from tests.threads import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locking is a PostgreSQL matter"),
    pytest.mark.usefixtures("clock_after_fixed_dates"),
]


@pytest.fixture
def shop():
    source = SourceSystemFactory(code="SHOPIFY", kind=SourceSystem.Kind.ECOM)
    set_webhook_secret(source, "a-secret-long-enough-for-shopify")
    ExternalIdFactory(source=source, kind="location", external_id=LOCATION, location=LocationFactory(code="WEB"))
    ExternalIdFactory(source=source, kind="sku", external_id=ITEM, sku=SKUFactory(code="TEE-M"))
    return source


def deliver(source, body, event_id):
    headers = {"X-Shopify-Topic": "inventory_levels/update", "X-Shopify-Event-Id": event_id}
    return adapters.get("shopify").receive_delivery(source, body, headers).results[0].status


def test_the_same_delivery_twice_at_once_is_taken_once(shop):
    body = level()

    statuses = run_at_once([lambda: deliver(shop, body, "evt-1"), lambda: deliver(shop, body, "evt-1")])

    assert sorted(statuses) == ["accepted", "duplicate"]
    assert WebhookDelivery.objects.count() == 1
    assert Snapshot.objects.count() == 1


@pytest.mark.parametrize("rounds", range(2))
def test_of_two_observations_at_once_the_newer_is_kept(shop, rounds):
    older = level(available=9, updated_at="2026-11-23T10:00:00-05:00")
    newer = level(available=4, updated_at="2026-11-23T11:00:00-05:00")

    statuses = run_at_once([lambda: deliver(shop, older, f"old-{rounds}"),
                            lambda: deliver(shop, newer, f"new-{rounds}")])

    assert not [s for s in statuses if isinstance(s, Exception)], statuses
    assert ObservedLevel.objects.get().quantity == 4
    current = Snapshot.objects.exclude(status=Snapshot.Status.SUPERSEDED)
    assert [s.lines.get().quantity for s in current] == [4]
