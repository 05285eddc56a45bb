"""The admin and ops management commands."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from controltower.models import ApiToken, hash_token
from controltower.tokens import SourceClient, TokenAuthentication
from inventory.ledger import ingest_events
from inventory.models import (
    SKU,
    InventoryEvent,
    Location,
    Position,
    RejectedEvent,
    SourceSystem,
)
from tests.controltower.factories import UserFactory
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

SKU_HEADER = "code,description,category,unit_cost,base_unit,barcodes,conversions\n"
LOCATION_HEADER = "code,name,kind,region,timezone,banner,format,go_live_date\n"


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def authenticate(raw):
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {raw}")
    return TokenAuthentication().authenticate(request)


def receipt(txn, location, sku, quantity, minutes_ago=60):
    return {
        "transaction_id": txn,
        "type": "receipt",
        "location": location,
        "sku": sku,
        "quantity": quantity,
        "occurred_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
    }


# --- import_skus / import_locations ------------------------------------------------

def test_import_skus_loads_the_file_lists_refused_rows_and_summarises(tmp_path):
    SKUFactory(code="MILK1")
    path = write(
        tmp_path,
        SKU_HEADER
        + "MILK1,Milk 1l,Dairy,1.10,EA,4006381333931,CS12=12\n"
        + "BREAD,Bread,Bakery,0.80,EA,,\n"
        + "BAD1,Broken,,-1,EA,,\n",
    )
    lines = run("import_skus", path)
    assert "Row 3, SKU BAD1: category: This field is required." in lines
    assert "Row 3, SKU BAD1: unit_cost: Must not be negative." in lines
    assert lines[-1] == "Loaded 2 SKUs (1 created, 1 updated, 0 unchanged); refused 1"
    assert SKU.objects.get(code="MILK1").barcodes.get().code == "4006381333931"
    assert not SKU.objects.filter(code="BAD1").exists()


def test_import_skus_reads_an_excel_file_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(SKU_HEADER + "MILK1,Milk,Dairy,1.10,EA,,\n", encoding="utf-8-sig")
    assert run("import_skus", str(path))[-1].startswith("Loaded 1 SKUs (1 created")


def test_import_skus_refuses_a_file_without_the_required_columns(tmp_path):
    path = write(tmp_path, "code,description\nMILK1,Milk\n")
    with pytest.raises(CommandError, match="Missing column\\(s\\): category, unit_cost"):
        run("import_skus", path)
    assert not SKU.objects.exists()


def test_import_skus_names_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="nope.csv"):
        run("import_skus", str(tmp_path / "nope.csv"))


def test_import_locations_loads_and_lists_refused_rows(tmp_path):
    path = write(
        tmp_path,
        LOCATION_HEADER
        + "S001,Berlin Mitte,store,EAST,Europe/Berlin,FreshMart,Hyper,2026-03-01\n"
        + "S002,Nowhere,store,EAST,Mars/Olympus,,,\n",
    )
    lines = run("import_locations", path)
    assert lines[0].startswith("Row 2, location S002: timezone: 'Mars/Olympus' is not an IANA time zone")
    assert lines[-1] == "Loaded 1 locations (1 created, 0 updated, 0 unchanged); refused 1"
    assert Location.objects.get(code="S001").region.code == "EAST"
    # Re-importing the same file changes nothing.
    assert run("import_locations", path)[-1] == "Loaded 1 locations (0 created, 0 updated, 1 unchanged); refused 1"


# --- add_source / user_token -------------------------------------------------------

def test_add_source_creates_the_source_and_prints_a_working_token_last():
    lines = run("add_source", "POS-LEGACY-EU", "--kind", "pos", "--name", "Legacy tills", "--legacy",
                "--interval", "600", "--latency-target", "120")
    source = SourceSystem.objects.get(code="POS-LEGACY-EU")
    assert (source.kind, source.name, source.generation) == ("pos", "Legacy tills", "legacy")
    assert (source.expected_interval_s, source.latency_target_s) == (600, 120)
    raw = lines[-1]
    assert raw.strip() == raw and " " not in raw
    token = ApiToken.objects.get(source=source)
    assert token.key_hash == hash_token(raw)
    assert token.prefix == raw[:8]
    assert not ApiToken.objects.filter(key_hash=raw).exists()
    client, authenticated_token = authenticate(raw)
    assert isinstance(client, SourceClient)
    assert client.source == source
    assert authenticated_token == token


def test_add_source_again_updates_only_what_is_given_and_issues_another_token():
    SourceSystemFactory(code="WMS", kind="wms", name="Old WMS", generation="legacy", expected_interval_s=300)
    lines = run("add_source", "WMS", "--kind", "wms", "--latency-target", "60")
    source = SourceSystem.objects.get(code="WMS")
    assert lines[0].startswith("Updated source WMS")
    assert (source.name, source.generation, source.expected_interval_s, source.latency_target_s) == (
        "Old WMS", "legacy", 300, 60
    )
    run("add_source", "WMS", "--kind", "wms", "--target")
    assert SourceSystem.objects.get(code="WMS").generation == "target"
    assert ApiToken.objects.filter(source=source).count() == 2


def test_add_source_refuses_a_bad_kind_or_interval():
    with pytest.raises(CommandError):
        run("add_source", "X", "--kind", "fax")
    with pytest.raises(CommandError, match="interval: must be at least 1 second"):
        run("add_source", "X", "--kind", "pos", "--interval", "0")
    assert not SourceSystem.objects.exists()


def test_user_token_prints_a_token_that_authenticates_as_the_person():
    user = UserFactory(username="alice")
    raw = run("user_token", "alice")[-1]
    assert ApiToken.objects.get(user=user).key_hash == hash_token(raw)
    assert authenticate(raw)[0] == user


def test_user_token_for_an_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No user 'ghost'"):
        run("user_token", "ghost")
    assert not ApiToken.objects.exists()


# --- rebuild_positions ---------------------------------------------------------------

@pytest.fixture
def stocked():
    """One receipt of 10 at S001 for SKU MILK1, through the ledger."""
    source = SourceSystemFactory(code="ERP", kind="erp")
    location = LocationFactory(code="S001")
    sku = SKUFactory(code="MILK1")
    assert ingest_events(source, [receipt("R1", "S001", "MILK1", 10)]).counts["accepted"] == 1
    return source, location, sku


def test_rebuild_positions_check_passes_when_positions_match_the_ledger(stocked):
    lines = run("rebuild_positions", "--check")
    assert lines == ["Checked 1 positions: 0 difference(s) found."]


def test_rebuild_positions_check_reports_a_corrupted_position_and_fails(stocked):
    _, location, sku = stocked
    Position.objects.filter(location=location, sku=sku).update(available=7)
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("rebuild_positions", "--check", stdout=out)
    assert failure.value.returncode == 1
    assert "S001 MILK1 available: position 7, ledger 10" in out.getvalue()
    assert "1 difference(s) found" in out.getvalue()
    assert Position.objects.get(location=location, sku=sku).available == 7


def test_rebuild_positions_repairs_from_the_ledger(stocked):
    _, location, sku = stocked
    Position.objects.filter(location=location, sku=sku).update(available=7, damaged=3)
    lines = run("rebuild_positions")
    assert lines[-1] == "Checked 1 positions: 2 difference(s) repaired."
    position = Position.objects.get(location=location, sku=sku)
    assert (position.available, position.damaged) == (10, 0)
    assert run("rebuild_positions", "--check")[-1].endswith("0 difference(s) found.")


# --- replay_rejections ---------------------------------------------------------------

def test_replay_after_fixing_master_data_moves_the_rejection_into_the_ledger(tmp_path):
    source = SourceSystemFactory(code="POS-EU")
    LocationFactory(code="S001")
    report = ingest_events(source, [receipt("R1", "S001", "NEWSKU", 5)])
    assert report.counts["rejected"] == 1
    rejection = RejectedEvent.objects.get(source=source, transaction_id="R1")

    assert run("replay_rejections")[-1] == (
        "Replayed 1 rejection(s): 0 accepted, 0 duplicate, 0 conflict, 1 still rejected."
    )
    assert not InventoryEvent.objects.exists()

    run("import_skus", write(tmp_path, SKU_HEADER + "NEWSKU,New item,Grocery,3.00,EA,,\n"))
    lines = run("replay_rejections", "--source", "POS-EU")
    assert lines[-1] == "Replayed 1 rejection(s): 1 accepted, 0 duplicate, 0 conflict, 0 still rejected."
    event = InventoryEvent.objects.get(source=source, transaction_id="R1")
    assert (event.sku.code, event.quantity) == ("NEWSKU", 5)
    rejection.refresh_from_db()
    assert rejection.replayed_at is not None
    assert rejection.replay_status == "accepted"
    assert Position.objects.get(sku=event.sku).available == 5


def test_replay_only_touches_the_given_source():
    LocationFactory(code="S001")
    pos, ecom = SourceSystemFactory(code="POS-EU"), SourceSystemFactory(code="ECOM", kind="ecom")
    ingest_events(pos, [receipt("R1", "S001", "NEWSKU", 5)])
    ingest_events(ecom, [receipt("E1", "S001", "NEWSKU", 5)])
    SKUFactory(code="NEWSKU")
    assert run("replay_rejections", "--source", "ECOM")[-1].startswith("Replayed 1 rejection(s): 1 accepted")
    assert list(InventoryEvent.objects.values_list("transaction_id", flat=True)) == ["E1"]
    assert RejectedEvent.objects.get(transaction_id="R1").replayed_at is None


def test_replay_for_an_unknown_source_is_an_error():
    with pytest.raises(CommandError, match="No source system 'NOPE'"):
        run("replay_rejections", "--source", "NOPE")
