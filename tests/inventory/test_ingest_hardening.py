"""Bad input never costs a batch, and every stored time is UTC.

Each bad value is posted between two good events: it is rejected on its
own with an error naming its field and kept for replay, the good events go
in. Runs on SQLite and PostgreSQL (NUL bytes and out-of-range numbers fail
differently on each when they reach the database).
"""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from importlib import import_module
from types import SimpleNamespace

import orjson
import pytest
from django.db import connection

from inventory import fields
from inventory.ledger import fold_ledger, ingest_events, rebuild_positions
from inventory.models import (
    InventoryEvent,
    Position,
    PurchaseOrderLine,
    RejectedEvent,
    Snapshot,
)
from inventory.purchase_orders import import_po_lines
from inventory.snapshots import SnapshotError, ingest_snapshot
from tests.conftest import AFTER_FIXED_DATES
from tests.controltower.factories import make_user, person_token, source_token
from tests.inventory.factories import (
    SKUFactory,
    UnitConversionFactory,
)

from .payloads import event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

NOW = AFTER_FIXED_DATES  # the clock its tests start at
RECENT = (NOW - timedelta(hours=1)).isoformat()


def post_events(api_client, source, events):
    return api_client.post(
        "/api/v1/events", orjson.dumps({"events": events}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {source_token(source)}",
    )


# One bad field each: (field that must be named, overrides).
BAD_EVENTS = [
    ("type", {"type": ["sale"]}),
    ("type", {"type": {}}),
    ("type", {"type": 7}),
    ("location", {"location": ["S001"]}),
    ("location", {"location": {"code": "S001"}}),
    ("sku", {"sku": ["SKU00001"]}),
    ("sku", {"sku": {}}),
    ("unit", {"unit": ["EA"]}),
    ("unit", {"unit": {}}),
    ("quantity", {"quantity": 2**63}),
    ("quantity", {"quantity": 2**63 - 1}),
    ("quantity", {"quantity": 1e19}),
    ("quantity", {"quantity": 1e308}),
    ("quantity", {"quantity": "1e4000"}),
    ("quantity", {"quantity": "1e999999"}),
    ("quantity", {"quantity": "-1e999999"}),
    ("quantity", {"quantity": "1e-999999"}),
    ("quantity", {"quantity": "١٢"}),
    ("quantity", {"quantity": "1_000"}),
    ("quantity", {"quantity": "NaN"}),
    ("quantity", {"quantity": fields.MAX_QUANTITY + 1}),
    ("quantity", {"quantity": [5]}),
    ("transaction_id", {"transaction_id": "a\x00b"}),
    ("location", {"location": "S0\x0001"}),
    ("sku", {"sku": "SKU\x0000001"}),
    ("reference", {"reference": "PO\x00-1"}),
    ("reason", {"type": "adjustment", "reason": "\x00"}),
    ("unit", {"unit": "E\x00A"}),
    ("occurred_at", {"occurred_at": "0001-01-01T00:00:00+01:00"}),
    ("occurred_at", {"occurred_at": "9999-12-31T23:00:00-14:00"}),
    ("occurred_at", {"occurred_at": "1999-12-31T23:59:59+00:00"}),
    ("occurred_at", {"occurred_at": "1970-01-01T00:00:00Z"}),
    ("occurred_at", {"occurred_at": 1700000000}),
    ("occurred_at", {"occurred_at": ["2026-11-23T10:00:00Z"]}),
    ("occurred_at", {"occurred_at": "2026-11-23T10:00:00\x00Z"}),
    ("transaction_id", {"transaction_id": "   "}),
    ("transaction_id", {"transaction_id": "\t\n"}),
    ("from_state", {"type": "sale", "from_state": ["available"]}),
    ("to_state", {"to_state": {"x": 1}}),
]


@pytest.mark.parametrize("field, overrides", BAD_EVENTS, ids=[repr(o)[:60] for _, o in BAD_EVENTS])
def test_one_bad_field_rejects_only_its_own_event(api_client, store, sku, pos, field, overrides):
    bad = event(transaction_id="BAD", **{k: v for k, v in overrides.items() if k != "transaction_id"})
    if "transaction_id" in overrides:
        bad["transaction_id"] = overrides["transaction_id"]
    response = post_events(api_client, pos, [event(transaction_id="GOOD-1"), bad, event(transaction_id="GOOD-2")])

    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert field in results[1]["errors"], results[1]["errors"]
    assert InventoryEvent.objects.filter(source=pos).count() == 2
    assert Position.objects.get(location=store, sku=sku).available == 10
    rejection = RejectedEvent.objects.get(source=pos)
    assert field in rejection.errors
    assert "\x00" not in orjson.dumps(rejection.payload).decode()


def test_a_quantity_too_large_in_base_units_is_refused_after_conversion(store, sku, pos):
    UnitConversionFactory(sku=sku, unit="PAL", factor=1_000_000)
    report = ingest_events(pos, [event(quantity=1001, unit="PAL"), event(transaction_id="T2", quantity=1000, unit="PAL")])

    assert [r.status for r in report.results] == ["rejected", "accepted"]
    assert "quantity" in report.results[0].errors
    assert Position.objects.get(location=store, sku=sku).available == fields.MAX_QUANTITY


def test_the_largest_counts_and_receipts_sum_as_integers(store, sku, pos):
    """On SQLite a count of 2**63 - 1 plus one receipt once became a float."""
    ingest_events(pos, [
        event(transaction_id="C", type="cycle_count", quantity=fields.MAX_QUANTITY,
              occurred_at=(NOW - timedelta(hours=2)).isoformat()),
        event(transaction_id="R", quantity=fields.MAX_QUANTITY),
    ])
    position = Position.objects.get(location=store, sku=sku)
    assert position.available == 2 * fields.MAX_QUANTITY
    assert isinstance(position.available, int)
    assert rebuild_positions().differences == []


def test_blank_transaction_ids_are_rejected_not_duplicates(store, sku, pos):
    report = ingest_events(pos, [event(transaction_id="  "), event(transaction_id=" ", quantity=3)])

    assert [r.status for r in report.results] == ["rejected", "rejected"]
    assert InventoryEvent.objects.count() == 0
    again = ingest_events(pos, [event(transaction_id="\t")])
    assert again.results[0].errors == {"transaction_id": ["This field is required."]}


def test_a_transaction_id_is_kept_stripped(store, sku, pos):
    sent = event(transaction_id="  T-9  ")
    ingest_events(pos, [sent])
    report = ingest_events(pos, [{**sent, "transaction_id": "T-9"}])

    assert report.results[0].status == "duplicate"


def test_deeply_nested_values_are_rejected_and_kept(store, sku, pos):
    nested = "x"
    for _ in range(900):
        nested = [nested]
    report = ingest_events(pos, [event(reference=nested), event(transaction_id="T2")])

    assert [r.status for r in report.results] == ["rejected", "accepted"]
    assert RejectedEvent.objects.get().errors == {"reference": ["Must be a string."]}


# --------------------------------------------------------------------------
# Snapshot lines and PO lines share the event's field parsing
# --------------------------------------------------------------------------

def line(**overrides):
    values = {"location": "S001", "sku": "SKU00001", "quantity": 5}
    values.update(overrides)
    return values


BAD_LINES = [
    ("quantity", {"quantity": 2**63}),
    ("quantity", {"quantity": "1e999999"}),
    ("quantity", {"quantity": 1e308}),
    ("location", {"location": ["S001"]}),
    ("location", {"location": "S\x00001"}),
    ("sku", {"sku": {}}),
    ("state", {"state": ["available"]}),
    ("value", {"value": 1e308}),
    ("value", {"value": "1e999999"}),
    ("value", {"value": fields.MAX_VALUE + 1}),
    ("value", {"value": "\x00"}),
]


@pytest.mark.parametrize("field, overrides", BAD_LINES, ids=[repr(o)[:60] for _, o in BAD_LINES])
def test_one_bad_snapshot_line_is_refused_on_its_own(store, sku, pos, field, overrides):
    other = SKUFactory(code="SKU00002")
    report = ingest_snapshot(pos, RECENT, [line(**overrides), line(sku=other.code, value="12.50")])

    assert report.counts == {"received": 2, "accepted": 1, "rejected": 1}
    assert field in report.rejected[0]["errors"], report.rejected[0]["errors"]
    assert report.snapshot.lines.get().sku_id == other.pk


@pytest.mark.parametrize("as_of", [
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-14:00", "1999-01-01T00:00:00Z", ["x"], 12, "x\x00",
])
def test_a_snapshot_time_out_of_range_is_a_clear_error(pos, as_of):
    with pytest.raises(SnapshotError, match="as_of"):
        ingest_snapshot(pos, as_of, [line()])
    assert Snapshot.objects.count() == 0


def po_row(**overrides):
    values = {"po_number": "PO-1", "line": 1, "location": "S001", "sku": "SKU00001", "quantity": 10}
    values.update(overrides)
    return values


BAD_ROWS = [
    ("line", {"line": 2**63}),
    ("line", {"line": fields.MAX_SMALL_INTEGER + 1}),
    ("line", {"line": "1e999999"}),
    ("line", {"line": "١"}),
    ("line", {"line": [1]}),
    ("quantity", {"quantity": 2**63}),
    ("quantity", {"quantity": "1e4000"}),
    ("po_number", {"po_number": "PO\x001"}),
    ("po_number", {"po_number": ["PO-1"]}),
    ("po_number", {"po_number": "   "}),
    ("location", {"location": {}}),
    ("expected_at", {"expected_at": "0001-01-01T00:00:00+01:00"}),
    ("expected_at", {"expected_at": "9999-12-31T23:00:00-14:00"}),
    ("expected_at", {"expected_at": 5}),
    ("status", {"status": ["open"]}),
]


@pytest.mark.parametrize("field, overrides", BAD_ROWS, ids=[repr(o)[:60] for _, o in BAD_ROWS])
def test_one_bad_po_line_is_refused_on_its_own(store, sku, field, overrides):
    report = import_po_lines([po_row(**overrides), po_row(line=2)])

    assert report.counts == {"received": 2, "accepted": 1, "rejected": 1}
    assert field in report.rejected[0]["errors"], report.rejected[0]["errors"]
    assert list(PurchaseOrderLine.objects.values_list("line", flat=True)) == [2]


def test_a_po_expected_in_the_coming_weeks_is_taken(store, sku):
    expected = (NOW + timedelta(days=20)).isoformat()
    report = import_po_lines([po_row(expected_at=expected)])

    assert report.counts["accepted"] == 1
    assert PurchaseOrderLine.objects.get().expected_at.tzinfo is not None


# --------------------------------------------------------------------------
# Time is UTC everywhere
# --------------------------------------------------------------------------

def stored_times(column):
    """The raw stored values of a ledger time column, as the database holds them."""
    with connection.cursor() as cursor:
        # As text: Django's SQLite converters would parse the value.
        cursor.execute(f"SELECT CAST({column} AS TEXT) FROM inventory_inventoryevent ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_times_sent_with_any_offset_are_stored_and_compared_in_utc(api_client, store, sku, pos):
    base = datetime(2026, 11, 23, 10, 0, tzinfo=dt_timezone.utc)
    # A count at 10:00 UTC, then a sale sent later at 10:30+01:00 (09:30 UTC,
    # before the count: inside it) and sales after the count in far offsets.
    posted = [
        event(transaction_id="COUNT", type="cycle_count", quantity=50, occurred_at="2026-11-23T10:00:00+00:00"),
        event(transaction_id="S-BEFORE", type="sale", quantity=1, occurred_at="2026-11-23T10:30:00+01:00"),
        event(transaction_id="S-MINUS14", type="sale", quantity=2, occurred_at="2026-11-22T20:15:00-14:00"),
        event(transaction_id="S-PLUS14", type="sale", quantity=4, occurred_at="2026-11-24T00:20:00+14:00"),
        event(transaction_id="S-Z", type="sale", quantity=8, occurred_at="2026-11-23T10:25:00Z"),
    ]
    for one in posted:  # one request each, in this order of arrival
        assert post_events(api_client, pos, [one]).json()["counts"]["accepted"] == 1

    # 50 counted; 09:30 is inside the count; 10:15, 10:20, 10:25 UTC after it.
    assert Position.objects.get(location=store, sku=sku).available == 50 - 2 - 4 - 8
    assert fold_ledger()[(store.pk, sku.pk, "available")] == 36
    assert rebuild_positions().differences == []
    occurred = {e.transaction_id: e.occurred_at for e in InventoryEvent.objects.all()}
    assert occurred["S-MINUS14"] == base + timedelta(minutes=15)
    assert occurred["S-PLUS14"] == base + timedelta(minutes=20)
    assert occurred["S-BEFORE"] == base - timedelta(minutes=30)
    if connection.vendor == "sqlite":
        # The ORM's form: naive UTC text, no offset.
        assert all("+" not in value and not value.endswith("Z") for value in stored_times("occurred_at"))
        assert all("+" not in value for value in stored_times("received_at"))

    person = person_token(make_user("planner"))
    listed = api_client.get(
        "/api/v1/events", {"since": "2026-11-23T11:15:00+01:00", "until": "2026-11-23T05:25:00-05:00"},
        HTTP_AUTHORIZATION=f"Token {person}",
    )
    assert listed.status_code == 200
    assert sorted(r["transaction_id"] for r in listed.json()["results"]) == ["S-MINUS14", "S-PLUS14"]


def test_the_migration_rewrites_times_stored_with_an_offset(store, sku, pos):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's timestamptz holds no offset text")
    ingest_events(pos, [event(transaction_id="A", occurred_at="2026-11-23T08:00:00+00:00")])
    with connection.cursor() as cursor:
        # As raw inserts stored them before: the sender's offset kept.
        cursor.execute("UPDATE inventory_inventoryevent SET occurred_at = '2026-11-23 10:15:00.250000+01:00'")
    migration = import_module("inventory.migrations.0008_times_in_utc")
    migration.to_utc(None, SimpleNamespace(connection=connection))

    assert stored_times("occurred_at") == ["2026-11-23 09:15:00.250000"]
    assert InventoryEvent.objects.get().occurred_at == datetime(2026, 11, 23, 9, 15, 0, 250000, tzinfo=dt_timezone.utc)


# --------------------------------------------------------------------------
# Master data: a NUL byte is a refused row, not a failed import
# --------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["code", "description", "category", "barcodes", "conversions"])
def test_a_nul_in_a_sku_row_refuses_that_row(field):
    from inventory.masterdata import import_skus
    from inventory.models import SKU

    good = {"code": "GOOD", "description": "Milk", "category": "Dairy", "unit_cost": "1.25", "base_unit": "EA",
            "barcodes": "4000000000017", "conversions": "CS12=12"}
    bad = {**good, "code": "BAD", "barcodes": "4000000000024", field: "x\x00y"}
    report = import_skus([bad, good])

    assert [r.row for r in report.refused] == [1]
    assert field in report.refused[0].errors
    assert list(SKU.objects.values_list("code", flat=True)) == ["GOOD"]


def test_a_nul_in_a_location_row_refuses_that_row():
    from inventory.masterdata import import_locations
    from inventory.models import Location

    good = {"code": "S100", "name": "Store", "kind": "store", "region": "NORTH", "timezone": "Europe/Berlin"}
    report = import_locations([{**good, "code": "S101", "name": "St\x00ore"}, good])

    assert report.refused[0].errors == {"name": ["Must not contain a NUL character."]}
    assert list(Location.objects.values_list("code", flat=True)) == ["S100"]
