"""Sources stay in their lane: who loads master data and PO lines, and the
locations, event types and snapshot kinds each source may send."""
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.ledger import ingest_events
from inventory.models import (
    SKU,
    InventoryEvent,
    PurchaseOrderLine,
    RejectedEvent,
    Snapshot,
    SnapshotLine,
    SourceSystem,
)
from tests.controltower.factories import UserFactory, source_token
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

AS_OF = "2026-11-20T06:00:00+01:00"


@pytest.fixture
def places():
    """Two stores, the DC and the ecommerce node, and one SKU."""
    SKUFactory(code="SKU00001")
    return {
        code: LocationFactory(code=code, kind=kind)
        for code, kind in (("S001", "store"), ("S002", "store"), ("DC01", "dc"), ("WEB01", "ecommerce"))
    }


@pytest.fixture
def pos_eu(places):
    """A till system feeding the two stores."""
    return SourceSystemFactory(code="POS-EU", lane_locations=[places["S001"], places["S002"]])


def event(txn, event_type, location, **fields):
    return {
        "transaction_id": txn,
        "type": event_type,
        "location": location,
        "sku": "SKU00001",
        "quantity": 1,
        "occurred_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
        **fields,
    }


def post(api_client, source, url, body):
    return api_client.post(url, body, format="json", HTTP_AUTHORIZATION=f"Token {source_token(source)}")


# --- events ------------------------------------------------------------------------------

def test_a_sale_at_a_store_outside_the_lane_is_rejected_and_kept_while_the_rest_goes_in(api_client, pos_eu):
    body = {"events": [
        event("T1", "sale", "S001"),
        event("T2", "sale", "DC01"),
        # A store ships to anywhere: only the shipping location is in the lane.
        event("T3", "transfer_out", "S002", to_location="DC01", reference="TR-1"),
    ]}

    response = post(api_client, pos_eu, "/api/v1/events", body)

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["errors"] == {
        "location": ["Source POS-EU does not feed location DC01 (its lane: S001, S002)."]
    }
    assert set(InventoryEvent.objects.values_list("transaction_id", flat=True)) == {"T1", "T3"}
    rejection = RejectedEvent.objects.get()
    assert (rejection.source, rejection.transaction_id, rejection.cause) == (pos_eu, "T2", "location")
    assert rejection.payload["location"] == "DC01"


def test_an_ecommerce_sale_is_rejected_when_its_lane_lacks_sale(api_client, places):
    ecom = SourceSystemFactory(code="ECOM", kind="ecom", lane_event_types=["reserve", "release"])
    body = {"events": [
        event("O1", "reserve", "WEB01", reference="ORD-1"),
        event("O2", "sale", "S001"),
    ]}

    response = post(api_client, ecom, "/api/v1/events", body)

    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["errors"] == {"type": ["Source ECOM may not send sale events (its lane: reserve, release)."]}
    assert RejectedEvent.objects.get().cause == "type"


def test_a_source_with_no_lane_posts_everywhere(api_client, pos_eu):
    erp = SourceSystemFactory(code="ERP", kind="erp")
    assert (list(erp.lane_locations.all()), erp.lane_event_types, erp.lane_snapshot_kinds) == ([], [], [])
    body = {"events": [
        event(f"E{n}", event_type, location, **fields)
        for n, (event_type, location, fields) in enumerate([
            ("cycle_count", "DC01", {}), ("sale", "S001", {}), ("receipt", "WEB01", {}),
            ("adjustment", "S002", {"reason": "SHRINK"}), ("sales_posting", "S001", {}),
        ])
    ]}

    response = post(api_client, erp, "/api/v1/events", body)

    assert response.json()["counts"]["accepted"] == 5, response.json()
    assert not RejectedEvent.objects.exists()


def test_replay_takes_a_lane_rejection_once_the_lane_is_widened(pos_eu, places):
    ingest_events(pos_eu, [event("T1", "sale", "DC01")])
    pos_eu.lane_locations.add(places["DC01"])

    call_command("replay_rejections", stdout=StringIO())

    assert RejectedEvent.objects.get().replay_status == "accepted"
    assert InventoryEvent.objects.filter(transaction_id="T1").exists()


def test_the_lane_costs_the_same_queries_for_a_small_and_a_large_batch(pos_eu):
    def queries(prefix, n):
        batch = [event(f"{prefix}{i}", "sale", "S001" if i % 2 else "DC01") for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            ingest_events(pos_eu, batch)
        return len(captured)

    queries("warm", 2)  # first positions and anchors are created here
    assert queries("small", 2) == queries("large", 40)


# --- snapshots ---------------------------------------------------------------------------

def test_snapshot_lines_at_locations_outside_the_lane_are_refused_by_location(api_client, pos_eu):
    body = {"as_of": AS_OF, "lines": [
        {"location": "S001", "sku": "SKU00001", "quantity": 4},
        {"location": "DC01", "sku": "SKU00001", "quantity": 400},
    ]}

    response = post(api_client, pos_eu, "/api/v1/snapshots", body)

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["counts"] == {"received": 2, "accepted": 1, "rejected": 1}
    assert data["rejected"] == [{"index": 1, "errors": {
        "location": ["Source POS-EU does not feed location DC01 (its lane: S001, S002)."]
    }}]
    assert list(SnapshotLine.objects.values_list("location__code", "quantity")) == [("S001", 4)]
    assert Snapshot.objects.get().kind == Snapshot.Kind.ON_HAND


def test_a_snapshot_of_a_kind_outside_the_lane_is_refused_whole(api_client, places):
    pos = SourceSystemFactory(code="POS-EU", lane_snapshot_kinds=["on_hand"])
    body = {"as_of": AS_OF, "kind": "valuation", "lines": [
        {"location": "S001", "sku": "SKU00001", "quantity": 4, "value": "10.00"},
    ]}

    response = post(api_client, pos, "/api/v1/snapshots", body)

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "'kind': source POS-EU may not send valuation snapshots (its lane: on_hand)."
    )
    assert not Snapshot.objects.exists()
    bogus = post(api_client, pos, "/api/v1/snapshots", {**body, "kind": "forecast"})
    assert bogus.status_code == 400 and "'kind' must be one of on_hand, valuation" in bogus.json()["detail"]


def test_an_erp_valuation_is_stored_as_a_valuation(api_client, places):
    erp = SourceSystemFactory(code="ERP", kind="erp", lane_snapshot_kinds=["valuation"])
    body = {"as_of": AS_OF, "kind": "valuation", "lines": [
        {"location": "S001", "sku": "SKU00001", "quantity": 4, "value": "10.00"},
    ]}

    response = post(api_client, erp, "/api/v1/snapshots", body)

    assert response.status_code == 200, response.content
    assert Snapshot.objects.get().kind == Snapshot.Kind.VALUATION


def test_import_snapshot_takes_the_kind(tmp_path, places):
    SourceSystemFactory(code="ERP", kind="erp")
    csv_file = tmp_path / "valuation.csv"
    csv_file.write_text("location,sku,quantity,value\nS001,SKU00001,4,10.00\n")

    call_command("import_snapshot", "ERP", str(csv_file), "--as-of", AS_OF, "--kind", "valuation",
                 stdout=StringIO(), stderr=StringIO())

    assert Snapshot.objects.get().kind == Snapshot.Kind.VALUATION


# --- who loads master data and PO lines --------------------------------------------------

PO_LINES = {"lines": [{"po_number": "PO1", "line": 1, "location": "S001", "sku": "SKU00001", "quantity": 12}]}


def test_a_pos_source_may_not_load_po_lines(api_client, pos_eu):
    response = post(api_client, pos_eu, "/api/v1/po-lines", PO_LINES)

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Source POS-EU may not load master data or PO lines: only an ERP source, "
        "or one allowed to load master data, may."
    )
    assert not PurchaseOrderLine.objects.exists()


@pytest.mark.parametrize("kind, flag", [("erp", False), ("wms", True)])
def test_the_erp_and_a_source_allowed_to_load_master_data_load_po_lines(api_client, places, kind, flag):
    source = SourceSystemFactory(code=kind.upper(), kind=kind, loads_master_data=flag)

    response = post(api_client, source, "/api/v1/po-lines", PO_LINES)

    assert response.status_code == 200, response.content
    assert PurchaseOrderLine.objects.get().quantity_ordered == 12


def test_po_lines_at_locations_outside_the_lane_are_refused(api_client, places):
    wms = SourceSystemFactory(code="WMS", kind="wms", loads_master_data=True, lane_locations=[places["DC01"]])
    body = {"lines": [
        {"po_number": "PO1", "line": 1, "location": "DC01", "sku": "SKU00001", "quantity": 12},
        {"po_number": "PO1", "line": 2, "location": "S001", "sku": "SKU00001", "quantity": 12},
    ]}

    response = post(api_client, wms, "/api/v1/po-lines", body)

    assert response.json()["rejected"] == [{"index": 1, "errors": {
        "location": ["Source WMS does not feed location S001 (its lane: DC01)."]
    }}]
    assert list(PurchaseOrderLine.objects.values_list("line", flat=True)) == [1]


SKUS = {"skus": [{"code": "SKU00009", "description": "Milk 1l", "category": "Dairy", "unit_cost": "0.89",
                  "base_unit": "EA"}]}


def test_the_erp_loads_skus_and_a_pos_source_may_not(api_client, pos_eu):
    erp = SourceSystemFactory(code="ERP", kind="erp")

    refused = post(api_client, pos_eu, "/api/v1/skus", SKUS)
    assert refused.status_code == 403
    assert "Source POS-EU may not load master data" in refused.json()["detail"]
    assert not SKU.objects.filter(code="SKU00009").exists()

    loaded = post(api_client, erp, "/api/v1/skus", SKUS)
    assert loaded.status_code == 200, loaded.content
    assert SKU.objects.filter(code="SKU00009").exists()


# --- add_source and the admin ------------------------------------------------------------

def run_add_source(*args):
    out = StringIO()
    call_command("add_source", *args, stdout=out)
    return out.getvalue()


def test_add_source_sets_and_updates_the_lane(places):
    output = run_add_source("POS-EU", "--kind", "pos", "--locations", "S001, S002",
                            "--types", "sale,return", "--snapshot-kinds", "on_hand")

    source = SourceSystem.objects.get(code="POS-EU")
    assert sorted(source.lane_locations.values_list("code", flat=True)) == ["S001", "S002"]
    assert (source.lane_event_types, source.lane_snapshot_kinds) == (["sale", "return"], ["on_hand"])
    assert "Lane: locations: S001, S002; event types: sale, return; snapshot kinds: on_hand." in output

    run_add_source("POS-EU", "--kind", "pos", "--locations", "S002", "--loads-master-data")
    source.refresh_from_db()
    assert list(source.lane_locations.values_list("code", flat=True)) == ["S002"]
    assert source.lane_event_types == ["sale", "return"]  # left out: kept
    assert source.loads_master_data

    run_add_source("POS-EU", "--kind", "pos", "--locations", "", "--types", "")
    source.refresh_from_db()
    assert (source.lane_locations.count(), source.lane_event_types) == (0, [])


def test_add_source_refuses_an_unknown_location_code_in_one_line_and_creates_nothing(places):
    with pytest.raises(CommandError) as refused:
        run_add_source("POS-EU", "--kind", "pos", "--locations", "S001,XX9,XX8")

    assert str(refused.value) == "locations: unknown location code(s) XX9, XX8."
    assert not SourceSystem.objects.filter(code="POS-EU").exists()


def test_add_source_refuses_an_unknown_event_type(places):
    with pytest.raises(CommandError, match=r"^types: unknown event type\(s\) till_sale; known: receipt, sale"):
        run_add_source("POS-EU", "--kind", "pos", "--types", "sale,till_sale")
    assert not SourceSystem.objects.exists()


def test_the_admin_sets_the_lane_and_the_master_data_flag(client, places):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    source = SourceSystemFactory(code="WMS", kind="wms")
    form = {
        "code": "WMS", "name": "", "kind": "wms", "generation": "target", "expected_interval_s": 900,
        "latency_target_s": 300, "active": "on", "loads_master_data": "on",
        "lane_locations": [places["DC01"].pk], "lane_event_types": ["receipt", "transfer_out"],
        "lane_snapshot_kinds": ["on_hand"],
    }

    response = client.post(f"/admin/inventory/sourcesystem/{source.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert source.loads_master_data
    assert list(source.lane_locations.values_list("code", flat=True)) == ["DC01"]
    assert (source.lane_event_types, source.lane_snapshot_kinds) == (["receipt", "transfer_out"], ["on_hand"])
    page = client.get(f"/admin/inventory/sourcesystem/{source.pk}/change/").content.decode()
    assert re.search(r'name="lane_event_types" value="transfer_out"[^>]*checked', page)
    assert not re.search(r'name="lane_event_types" value="sale"[^>]*checked', page)
