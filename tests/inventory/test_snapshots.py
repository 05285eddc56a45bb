"""Snapshots and PO lines: API, CSV commands, per-line errors, nothing accepted lost."""
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from controltower.models import ApiToken, Role
from inventory.models import PurchaseOrderLine, Snapshot, SnapshotLine, SourceSystem
from inventory.snapshots import MAX_LINES, SnapshotError, ingest_snapshot
from tests.controltower.factories import make_user, source_token
from tests.inventory.factories import (
    BarcodeFactory,
    LocationFactory,
    PurchaseOrderLineFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

AS_OF = "2026-11-20T06:00:00+01:00"


@pytest.fixture
def erp():
    return SourceSystemFactory(code="ERP", kind=SourceSystem.Kind.ERP)


@pytest.fixture
def master():
    store = LocationFactory(code="S012")
    sku = SKUFactory(code="SKU00001")
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)
    BarcodeFactory(code="4000000000017", sku=sku)
    return store, sku


def post(api_client, token, body):
    return api_client.post("/api/v1/snapshots", body, format="json", HTTP_AUTHORIZATION=f"Token {token}")


def test_api_loads_good_lines_and_lists_each_bad_line_by_field(api_client, erp, master):
    store, sku = master
    body = {
        "as_of": AS_OF,
        "lines": [
            {"location": "S012", "sku": "SKU00001", "quantity": 40, "value": "100.00"},
            {"location": "S012", "barcode": "4000000000017", "state": "damaged", "quantity": 2, "unit": "CS12"},
            {"location": "S999", "sku": "SKU00001", "quantity": 1},
            {"location": "S012", "sku": "SKU00001", "state": "lost", "quantity": 1},
            {"location": "S012", "sku": "SKU00001", "state": "reserved", "quantity": "1.5"},
            {"location": "S012", "sku": "SKU00001", "state": "picked", "quantity": 1, "value": "abc"},
            {"location": "S012", "sku": "SKU00001", "quantity": 7},
        ],
    }
    response = post(api_client, source_token(erp), body)

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["counts"] == {"received": 7, "accepted": 2, "rejected": 5}
    errors = {r["index"]: r["errors"] for r in data["rejected"]}
    assert set(errors) == {2, 3, 4, 5, 6}
    assert "location" in errors[2]
    assert "state" in errors[3]
    assert "quantity" in errors[4]
    assert "value" in errors[5]
    assert "already gives" in errors[6]["state"][0]

    snapshot = Snapshot.objects.get(pk=data["snapshot"])
    assert snapshot.source == erp
    assert snapshot.as_of.isoformat() == "2026-11-20T05:00:00+00:00"
    assert (snapshot.line_count, snapshot.rejected_count, snapshot.status) == (2, 5, Snapshot.Status.PARTIAL)
    stored = set(SnapshotLine.objects.values_list("location_id", "sku_id", "state", "quantity", "value"))
    assert stored == {
        (store.pk, sku.pk, "available", 40, Decimal("100.00")),
        (store.pk, sku.pk, "damaged", 24, None),
    }


@pytest.mark.parametrize(
    "body",
    [
        {"lines": []},
        {"as_of": "yesterday", "lines": []},
        {"as_of": "2026-11-20T06:00:00", "lines": []},
        {"as_of": AS_OF, "lines": "S012,SKU00001,4"},
        ["not", "an", "object"],
    ],
)
def test_api_refuses_a_malformed_envelope_with_400(api_client, erp, body):
    response = post(api_client, source_token(erp), body)

    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Snapshot.objects.exists()


def test_api_takes_snapshots_from_source_tokens_only(api_client, master):
    person = make_user(Role.ADMIN)
    raw = ApiToken.issue(user=person)[1]

    response = post(api_client, raw, {"as_of": AS_OF, "lines": [{"location": "S012", "sku": "SKU00001", "quantity": 1}]})

    assert response.status_code == 403
    assert api_client.post("/api/v1/snapshots", {}, format="json").status_code in (401, 403)
    assert not Snapshot.objects.exists()


def test_service_refuses_more_lines_than_the_limit(erp):
    with pytest.raises(SnapshotError, match=str(MAX_LINES)):
        ingest_snapshot(erp, AS_OF, [{}] * (MAX_LINES + 1))


def test_service_refuses_a_future_as_of(erp):
    with pytest.raises(SnapshotError, match="future"):
        ingest_snapshot(erp, (timezone.now() + timedelta(hours=1)).isoformat(), [])


def test_no_snapshot_when_every_line_is_refused(erp, master):
    report = ingest_snapshot(erp, AS_OF, [{"location": "S012", "sku": "NOPE", "quantity": 1}])

    assert report.snapshot is None
    assert report.counts == {"received": 1, "accepted": 0, "rejected": 1}
    assert not Snapshot.objects.exists()


def test_lines_beyond_one_lookup_chunk_all_arrive(erp):
    stores = [LocationFactory(code=f"L{n:03d}") for n in range(3)]
    skus = [SKUFactory(code=f"Q{n:05d}") for n in range(2000)]
    lines = [{"location": s.code, "sku": k.code, "quantity": 1} for s in stores for k in skus]

    report = ingest_snapshot(erp, AS_OF, lines)

    assert report.counts["accepted"] == 6000
    assert SnapshotLine.objects.filter(snapshot=report.snapshot).count() == 6000


def test_import_snapshot_command_reads_csv(tmp_path, erp, master):
    store, sku = master
    csv_file = tmp_path / "snap.csv"
    csv_file.write_text(
        "location,sku,barcode,state,quantity,unit,value\n"
        "S012,SKU00001,,available,3,CS12,90.00\n"
        "S012,,4000000000017,returned,2,,\n"
        "S012,SKU00001,,available,-1,,\n"
    )
    out, err = StringIO(), StringIO()

    call_command("import_snapshot", "ERP", str(csv_file), "--as-of", AS_OF, stdout=out, stderr=err)

    assert "2 lines loaded, 1 refused" in out.getvalue()
    assert "line 4" in err.getvalue() and "quantity" in err.getvalue()
    assert set(SnapshotLine.objects.values_list("state", "quantity", "value")) == {
        ("available", 36, Decimal("90.00")),
        ("returned", 2, None),
    }


def test_import_snapshot_command_names_an_unknown_source(tmp_path):
    csv_file = tmp_path / "snap.csv"
    csv_file.write_text("location,sku,quantity\n")
    with pytest.raises(CommandError, match="Unknown source system 'NOPE'"):
        call_command("import_snapshot", "NOPE", str(csv_file), "--as-of", AS_OF)


# --- PO lines -----------------------------------------------------------------

def test_po_lines_api_upserts_and_lists_bad_rows(api_client, master):
    store, sku = master
    PurchaseOrderLineFactory(po_number="PO1", line=1, location=store, sku=sku, quantity_ordered=5)
    raw = ApiToken.issue(user=make_user(Role.INTEGRATION_ADMIN))[1]
    body = {
        "lines": [
            {"po_number": "PO1", "line": 1, "location": "S012", "sku": "SKU00001", "quantity": 48,
             "expected_at": "2026-11-25T08:00:00+01:00"},
            {"po_number": "PO1", "line": 2, "location": "S012", "sku": "SKU00001", "quantity": 12,
             "status": "closed"},
            {"po_number": "PO2", "line": 0, "location": "S404", "sku": "SKU00001", "quantity": "x"},
        ]
    }

    response = api_client.post("/api/v1/po-lines", body, format="json", HTTP_AUTHORIZATION=f"Token {raw}")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["counts"] == {"received": 3, "accepted": 2, "rejected": 1}
    assert set(data["rejected"][0]["errors"]) == {"line", "location", "quantity"}
    assert set(PurchaseOrderLine.objects.values_list("po_number", "line", "quantity_ordered", "status")) == {
        ("PO1", 1, 48, "open"),
        ("PO1", 2, 12, "closed"),
    }


def test_po_lines_api_refuses_a_store_manager(api_client, master):
    raw = ApiToken.issue(user=make_user(Role.STORE_MANAGER))[1]
    body = {"lines": [{"po_number": "PO1", "line": 1, "location": "S012", "sku": "SKU00001", "quantity": 1}]}

    response = api_client.post("/api/v1/po-lines", body, format="json", HTTP_AUTHORIZATION=f"Token {raw}")

    assert response.status_code == 403
    assert not PurchaseOrderLine.objects.exists()


def test_po_lines_api_takes_a_source_token(api_client, erp, master):
    body = {"lines": [{"po_number": "PO9", "line": 1, "location": "S012", "sku": "SKU00001", "quantity": 6}]}

    response = api_client.post(
        "/api/v1/po-lines", body, format="json", HTTP_AUTHORIZATION=f"Token {source_token(erp)}"
    )

    assert response.status_code == 200
    assert PurchaseOrderLine.objects.get(po_number="PO9").quantity_ordered == 6


def test_import_po_lines_command(tmp_path, master):
    csv_file = tmp_path / "po.csv"
    csv_file.write_text(
        "po_number,line,location,sku,quantity,expected_at\n"
        "PO7,1,S012,SKU00001,24,2026-11-25T08:00:00+01:00\n"
        "PO7,2,S012,SKU00001,12,not-a-time\n"
    )
    out, err = StringIO(), StringIO()

    call_command("import_po_lines", str(csv_file), stdout=out, stderr=err)

    assert "1 PO lines loaded, 1 refused" in out.getvalue()
    assert "line 3" in err.getvalue() and "expected_at" in err.getvalue()
    po_line = PurchaseOrderLine.objects.get(po_number="PO7")
    assert (po_line.line, po_line.quantity_ordered, po_line.status) == (1, 24, "open")
