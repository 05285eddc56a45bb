"""The demo loader: everything through the ledger, idempotent, users scoped."""
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from controltower.demo.activity import ADJUSTING_STORE
from controltower.demo.retailer import DEMO_PASSWORD, TXN_PREFIX, load_demo
from controltower.models import ApiToken, Role
from exceptions import reconciliation
from inventory.ledger import rebuild_positions
from inventory.models import (
    SKU,
    Barcode,
    InventoryEvent,
    Location,
    Position,
    PurchaseOrderLine,
    RejectedEvent,
    Snapshot,
    SourceSystem,
    Transfer,
    UnitConversion,
)

pytestmark = pytest.mark.django_db

MODELS = (Location, SourceSystem, SKU, Barcode, UnitConversion, PurchaseOrderLine, InventoryEvent,
          RejectedEvent, Position, Transfer, Snapshot, ApiToken, get_user_model())


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Load once for the module (it posts ~1000 events in ~500 batches) and
    roll back afterwards; each test runs in a savepoint inside."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo(size="small")
        transaction.set_rollback(True)


def test_second_load_duplicates_nothing(demo):
    before = counts()
    again = load_demo(size="small")
    assert counts() == before
    assert not again.events_loaded
    assert again.tokens == {}
    assert not any(again.created.values())


def test_positions_equal_the_ledger_fold(demo):
    assert rebuild_positions().differences == []


def test_events_went_through_the_ledger(demo):
    assert demo.events_loaded
    assert demo.ingest["accepted"] == InventoryEvent.objects.count() > 500
    assert not InventoryEvent.objects.exclude(transaction_id__startswith=TXN_PREFIX).exists()
    # The deliberately bad events were rejected and kept for replay, with a
    # duplicate and a conflict among them.
    assert demo.ingest["rejected"] == RejectedEvent.objects.filter(kind="rejected").count() >= 4
    causes = set(RejectedEvent.objects.values_list("cause", flat=True))
    assert {"sku", "occurred_at", "location", "unit"} <= causes
    assert demo.ingest["duplicate"] == 1 and demo.ingest["conflict"] == 1
    # Sales beyond stock are posted: available goes negative.
    assert Position.objects.filter(available__lt=0).exists()
    # Transfers not yet received stay in transit.
    assert any(t.outstanding > 0 for t in Transfer.objects.all())
    assert set(InventoryEvent.objects.values_list("type", flat=True)) >= {
        "receipt", "sale", "reserve", "pick", "pack", "stage", "fulfil", "return", "disposition",
        "damage", "write_off", "transfer_out", "transfer_in", "adjustment", "cycle_count",
    }


def test_every_source_has_a_token(demo):
    assert set(demo.tokens) == {"POS-LEGACY-EU", "POS-NEXT", "ECOM", "WMS", "ERP"}
    for source in SourceSystem.objects.all():
        assert ApiToken.objects.filter(source=source, revoked=False).count() == 1


def test_demo_users_have_roles_and_scopes(demo):
    User = get_user_model()
    roles = dict(User.objects.values_list("username", "profile__role"))
    assert set(Role.values) <= set(roles.values())
    berlin = User.objects.get(username="manager.berlin").profile
    paris = User.objects.get(username="manager.paris").profile
    assert berlin.role == paris.role == Role.STORE_MANAGER
    berlin_stores = set(berlin.locations.values_list("code", flat=True))
    paris_stores = set(paris.locations.values_list("code", flat=True))
    assert 2 <= len(berlin_stores) <= 3 and 2 <= len(paris_stores) <= 3
    assert not berlin_stores & paris_stores
    assert User.objects.get(username="ops.germany").profile.region.code == "DE"
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.profile.role == Role.ADMIN
    # One password hash for all (hashing is slow on purpose): check it once.
    assert len(set(User.objects.filter(username__in=roles).values_list("password", flat=True))) == 1
    assert admin.check_password(DEMO_PASSWORD)


def test_demo_gives_every_snapshot_and_posting_check_something_real_to_find(demo):
    assert demo.created["snapshots"] == 2 and Snapshot.objects.count() == 2
    wms, erp = (Snapshot.objects.get(source__code=code) for code in ("WMS", "ERP"))
    assert set(wms.lines.values_list("location__code", flat=True)) == {"DC01"}
    assert not erp.lines.filter(value__isnull=True).exists()
    assert 1 <= len(reconciliation.snapshot_mismatch()) <= 3
    assert all(f.location_id == wms.lines.first().location_id for f in reconciliation.snapshot_mismatch())
    assert 1 <= len(reconciliation.financial_variance()) <= 2
    [gap] = reconciliation.sales_posting_gap()
    assert gap.details["pos_quantity"] > gap.details["erp_quantity"]  # the dropped posting line


def test_every_demo_source_has_a_lane_its_own_events_fit(demo):
    lanes = {source.code: source for source in SourceSystem.objects.prefetch_related("lane_locations")}
    assert set(lanes["WMS"].lane_locations.values_list("code", flat=True)) == {"DC01"}
    assert "sale" in lanes["POS-NEXT"].lane_event_types and "sale" not in lanes["ECOM"].lane_event_types
    assert lanes["ERP"].lane_snapshot_kinds == ["valuation"]
    assert Snapshot.objects.get(source__code="ERP").kind == Snapshot.Kind.VALUATION
    for source in lanes.values():
        assert source.lane_event_types and source.lane_snapshot_kinds
    # Only the deliberately bad events are rejected: none for its lane.
    assert not RejectedEvent.objects.filter(cause="type").exists()
    assert not [r for r in RejectedEvent.objects.all() if "does not feed" in str(r.errors)]


def test_demo_has_an_over_pick_and_a_transfer_never_shipped(demo):
    [pick] = reconciliation.beyond_reserved()
    assert pick.details["type"] == "pick" and pick.location_id == Location.objects.get(code="WEB01").pk
    arrivals = reconciliation.transfer_in_without_out()
    assert arrivals and len({f.details["transfer"] for f in arrivals}) == 1
    assert reconciliation.fulfil_beyond_staged() == []


def test_the_store_that_adjusts_far_more_than_its_peers_is_found(demo):
    """The outlier the demo seeds (controltower.demo.activity.ADJUSTING_STORE), and no other store."""
    [outlier] = reconciliation.adjustment_outlier()
    assert Location.objects.get(pk=outlier.location_id).code == ADJUSTING_STORE
    assert outlier.details["anomaly"]["numbers"]["chain_score"] > 3.5
