"""Master data import (inventory.masterdata) and its admin screens."""
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition
from django.urls import reverse

from inventory.masterdata import (
    SKU_COLUMNS,
    MasterDataError,
    import_locations,
    import_skus,
    read_csv,
)
from inventory.models import (
    SKU,
    Barcode,
    InventoryEvent,
    Location,
    Region,
    UnitConversion,
)
from tests.controltower.factories import UserFactory
from tests.inventory.factories import (
    BarcodeFactory,
    LocationFactory,
    RegionFactory,
    SKUFactory,
    UnitConversionFactory,
)
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db


def sku_row(code, **overrides):
    row = {
        "code": code,
        "description": f"Item {code}",
        "category": "Dairy",
        "unit_cost": "1.25",
        "base_unit": "EA",
        "barcodes": "",
        "conversions": "",
    }
    row.update(overrides)
    return row


def location_row(code, **overrides):
    row = {"code": code, "name": f"Store {code}", "kind": "store", "region": "NORTH", "timezone": "Europe/Berlin"}
    row.update(overrides)
    return row


def only_refusal(report):
    assert len(report.refused) == 1, report.refused
    return report.refused[0]


# --- Locations ---------------------------------------------------------------

def test_import_locations_creates_locations_and_missing_regions():
    RegionFactory(code="NORTH")
    report = import_locations(
        [
            location_row("S001", banner="FreshMart", format="Hyper", go_live_date="2026-03-01"),
            location_row("DC01", kind="dc", region="SOUTH", timezone="Europe/Madrid"),
        ]
    )
    assert (report.created, report.updated, report.refused) == (2, 0, [])
    store = Location.objects.get(code="S001")
    assert (store.region.code, store.banner, store.format, store.go_live_date) == (
        "NORTH", "FreshMart", "Hyper", date(2026, 3, 1)
    )
    dc = Location.objects.get(code="DC01")
    assert (dc.kind, dc.region.code, dc.timezone) == ("dc", "SOUTH", "Europe/Madrid")
    assert Region.objects.count() == 2


def test_reimporting_locations_is_idempotent_and_updates_changes():
    rows = [location_row("S001"), location_row("S002")]
    import_locations(rows)
    again = import_locations(rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = import_locations([location_row("S001", name="Renamed", region="WEST")])
    assert (changed.created, changed.updated) == (0, 1)
    store = Location.objects.get(code="S001")
    assert (store.name, store.region.code) == ("Renamed", "WEST")
    assert Location.objects.count() == 2


def test_a_left_out_optional_column_keeps_the_stored_value_and_an_empty_cell_clears_it():
    import_locations([location_row("S001", banner="FreshMart", go_live_date="2026-03-01")])
    import_locations([location_row("S001")])
    assert Location.objects.get(code="S001").banner == "FreshMart"
    import_locations([location_row("S001", banner="", go_live_date="")])
    store = Location.objects.get(code="S001")
    assert (store.banner, store.go_live_date) == ("", None)


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"timezone": "Europe/Atlantis"}, "timezone", "not an IANA time zone"),
        ({"kind": "warehouse"}, "kind", "'warehouse' is not one of"),
        ({"name": ""}, "name", "required"),
        ({"region": ""}, "region", "required"),
        ({"go_live_date": "01/03/2026"}, "go_live_date", "YYYY-MM-DD"),
    ],
)
def test_a_bad_location_row_is_refused_naming_row_code_and_field(overrides, field, message):
    report = import_locations([location_row("S001"), location_row("S002", **overrides)])
    refused = only_refusal(report)
    assert (refused.row, refused.code) == (2, "S002")
    assert message in " ".join(refused.errors[field])
    assert list(Location.objects.values_list("code", flat=True)) == ["S001"]


def test_a_location_code_repeated_in_the_file_is_refused():
    report = import_locations([location_row("S001"), location_row("S001", name="Other")])
    refused = only_refusal(report)
    assert refused.row == 2
    assert "first at row 1" in refused.errors["code"][0]
    assert Location.objects.get(code="S001").name == "Store S001"


# --- SKUs --------------------------------------------------------------------

def test_import_skus_creates_skus_with_barcodes_and_conversions():
    report = import_skus(
        [
            sku_row("MILK1", barcodes="4006381333931;4006381333948", conversions="CS12=12;PK6=6"),
            sku_row("BREAD", unit_cost="0.80", active="no"),
        ]
    )
    assert (report.created, report.updated, report.loaded, report.refused) == (2, 0, 2, [])
    milk = SKU.objects.get(code="MILK1")
    assert (milk.category, milk.unit_cost, milk.base_unit, milk.active) == ("Dairy", Decimal("1.25"), "EA", True)
    assert sorted(milk.barcodes.values_list("code", flat=True)) == ["4006381333931", "4006381333948"]
    assert dict(milk.conversions.values_list("unit", "factor")) == {"CS12": 12, "PK6": 6}
    assert SKU.objects.get(code="BREAD").active is False


def test_reimporting_skus_is_idempotent():
    rows = [sku_row("MILK1", barcodes="4006381333931", conversions="CS12=12"), sku_row("BREAD")]
    import_skus(rows)
    again = import_skus(rows)
    assert (again.created, again.updated, again.unchanged, again.refused) == (0, 0, 2, [])
    assert (SKU.objects.count(), Barcode.objects.count(), UnitConversion.objects.count()) == (2, 1, 1)


def test_reimport_updates_fields_and_adds_barcodes_and_conversions():
    import_skus([sku_row("MILK1", barcodes="4006381333931", conversions="CS12=12")])
    report = import_skus(
        [sku_row("MILK1", unit_cost="1.40", barcodes="4006381333931;4006381333948", conversions="PK6=6")]
    )
    assert (report.created, report.updated) == (0, 1)
    milk = SKU.objects.get(code="MILK1")
    assert milk.unit_cost == Decimal("1.40")
    assert milk.barcodes.count() == 2
    # A conversion left out of the file is kept: the import only adds.
    assert dict(milk.conversions.values_list("unit", "factor")) == {"CS12": 12, "PK6": 6}


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"unit_cost": ""}, "unit_cost", "required"),
        ({"base_unit": ""}, "base_unit", "required"),
        ({"category": " "}, "category", "required"),
        ({"unit_cost": "-1"}, "unit_cost", "negative"),
        ({"unit_cost": "abc"}, "unit_cost", "'abc' is not a number"),
        ({"unit_cost": "1.23456"}, "unit_cost", "4 decimal places"),
        ({"conversions": "CS12"}, "conversions", "not UNIT=FACTOR"),
        ({"conversions": "CS12=0"}, "conversions", "at least 1"),
        ({"conversions": "LBR=453.5923700001"}, "conversions", "up to 9 decimals"),
        ({"conversions": "CS12=1,5"}, "conversions", "in the digits 0-9"),
        ({"conversions": "CS12=12;CS12=10"}, "conversions", "twice with different factors"),
        ({"conversions": "EA=6"}, "conversions", "EA is the base unit"),
        ({"active": "maybe"}, "active", "'maybe' is not one of"),
    ],
)
def test_a_bad_sku_row_is_refused_naming_row_sku_and_field_and_the_rest_loads(overrides, field, message):
    report = import_skus(
        [sku_row("GOOD1"), sku_row("BAD1", barcodes="4006381333931", **overrides), sku_row("GOOD2")]
    )
    refused = only_refusal(report)
    assert (refused.row, refused.code) == (2, "BAD1")
    assert message in " ".join(refused.errors[field])
    assert report.created == 2
    assert sorted(SKU.objects.values_list("code", flat=True)) == ["GOOD1", "GOOD2"]
    # A refused row writes nothing at all for that SKU, not even its barcodes.
    assert not Barcode.objects.exists()


def test_all_errors_of_a_row_are_listed_together():
    refused = only_refusal(import_skus([sku_row("BAD1", unit_cost="", category="", base_unit="")]))
    assert set(refused.errors) == {"unit_cost", "category", "base_unit"}
    assert refused.as_dict() == {"row": 1, "code": "BAD1", "errors": refused.errors}


def test_a_refused_update_leaves_the_stored_sku_untouched():
    SKUFactory(code="MILK1", unit_cost=Decimal("1.00"))
    import_skus([sku_row("MILK1", unit_cost="2.00", conversions="CS12=0")])
    assert SKU.objects.get(code="MILK1").unit_cost == Decimal("1.00")


def test_a_barcode_held_by_another_sku_in_the_tower_is_refused():
    BarcodeFactory(code="4006381333931", sku=SKUFactory(code="OLD1"))
    report = import_skus([sku_row("NEW1", barcodes="4006381333931"), sku_row("NEW2")])
    refused = only_refusal(report)
    assert refused.code == "NEW1"
    assert refused.errors["barcodes"] == ["Barcode 4006381333931 already belongs to SKU OLD1."]
    assert Barcode.objects.get(code="4006381333931").sku.code == "OLD1"
    assert list(SKU.objects.filter(code__startswith="NEW").values_list("code", flat=True)) == ["NEW2"]


def test_a_barcode_given_to_two_skus_in_the_same_file_goes_to_the_first():
    report = import_skus([sku_row("FIRST", barcodes="4006381333931"), sku_row("SECOND", barcodes="4006381333931")])
    refused = only_refusal(report)
    assert (refused.row, refused.code) == (2, "SECOND")
    assert "SKU FIRST at row 1" in refused.errors["barcodes"][0]
    assert Barcode.objects.get(code="4006381333931").sku.code == "FIRST"


def test_a_barcode_of_a_refused_row_is_free_for_a_later_row():
    report = import_skus(
        [sku_row("BAD1", unit_cost="", barcodes="4006381333931"), sku_row("GOOD1", barcodes="4006381333931")]
    )
    assert only_refusal(report).code == "BAD1"
    assert Barcode.objects.get(code="4006381333931").sku.code == "GOOD1"


def test_a_conversion_conflicting_with_the_stored_one_is_refused():
    UnitConversionFactory(sku=SKUFactory(code="MILK1"), unit="CS12", factor=12)
    refused = only_refusal(import_skus([sku_row("MILK1", conversions="CS12=10")]))
    assert refused.code == "MILK1"
    assert refused.errors["conversions"] == ["CS12 is 12 EA in the tower; the file says 10."]
    assert UnitConversion.objects.get(sku__code="MILK1", unit="CS12").factor == 12


def test_the_base_unit_of_an_existing_sku_cannot_change():
    SKUFactory(code="MILK1", base_unit="EA")
    refused = only_refusal(import_skus([sku_row("MILK1", base_unit="KG")]))
    assert "cannot change" in refused.errors["base_unit"][0]
    assert SKU.objects.get(code="MILK1").base_unit == "EA"


def test_rows_from_the_api_may_carry_numbers_and_booleans():
    report = import_skus([sku_row("MILK1", unit_cost=1.5, barcodes=4006381333931, active=False)])
    assert report.refused == []
    milk = SKU.objects.get(code="MILK1")
    assert (milk.unit_cost, milk.active) == (Decimal("1.5"), False)
    assert Barcode.objects.get().code == "4006381333931"


def test_a_sku_file_loads_in_a_bounded_number_of_queries(django_assert_max_num_queries):
    SKUFactory(code="SKU00000")
    rows = [
        sku_row(f"SKU{n:05d}", barcodes=f"{4000000000000 + n}", conversions="CS12=12") for n in range(1500)
    ]
    with django_assert_max_num_queries(25):
        report = import_skus(rows)
    assert (report.created, report.updated) == (1499, 1)
    assert Barcode.objects.count() == 1500


def test_read_csv_names_the_missing_columns():
    with pytest.raises(MasterDataError, match="unit_cost, base_unit, barcodes, conversions"):
        read_csv(io.StringIO("code,description,category\nMILK1,Milk,Dairy\n"), SKU_COLUMNS)


def test_refusal_lines_name_row_sku_and_field():
    report = import_skus([sku_row("MILK1", unit_cost="-2")])
    assert list(report.refusal_lines()) == ["Row 1, SKU MILK1: unit_cost: Must not be negative."]
    assert report.summary() == "Loaded 0 SKUs (0 created, 0 updated, 0 unchanged); refused 1"


# --- Admin ---------------------------------------------------------------------

@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "model",
    ["region", "location", "sourcesystem", "sku", "inventoryevent", "position", "transfer", "rejectedevent"],
)
def test_inventory_admin_lists_open(admin_client, model):
    LocationFactory()
    response = admin_client.get(reverse(f"admin:inventory_{model}_changelist"), {"q": "S"})
    assert response.status_code == 200


def test_sku_admin_edits_barcodes_and_conversions_inline(admin_client):
    sku = SKUFactory()
    BarcodeFactory(sku=sku, code="4006381333931")
    response = admin_client.get(reverse("admin:inventory_sku_change", args=[sku.pk]))
    assert b"4006381333931" in response.content
    assert b"conversions-TOTAL_FORMS" in response.content


def test_the_ledger_cannot_be_added_to_changed_or_deleted_in_the_admin(admin_client):
    from django.contrib import admin

    model_admin = admin.site._registry[InventoryEvent]
    request = admin_client.get(reverse("admin:index")).wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_token_admin_shows_the_prefix_never_the_hash(admin_client):
    from controltower.models import ApiToken

    token, raw = ApiToken.issue(user=UserFactory())
    response = admin_client.get(reverse("admin:controltower_apitoken_changelist"))
    assert token.prefix.encode() in response.content
    assert token.key_hash.encode() not in response.content
    detail = admin_client.get(reverse("admin:controltower_apitoken_change", args=[token.pk]))
    assert detail.status_code == 200
    assert token.key_hash.encode() not in detail.content
    assert raw.encode() not in detail.content


def test_profile_admin_lists_people_with_their_stores(admin_client):
    from controltower.models import Role
    from tests.controltower.factories import make_user

    make_user(Role.STORE_MANAGER, locations=[LocationFactory(code="S777")], username="manager1")
    response = admin_client.get(reverse("admin:controltower_profile_changelist"))
    assert b"manager1" in response.content
    assert b"S777" in response.content


def test_tokens_are_revoked_from_the_admin(admin_client):
    from controltower.models import ApiToken

    token, _ = ApiToken.issue(user=UserFactory())
    response = admin_client.post(
        reverse("admin:controltower_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked is True


# --- Two imports at once -----------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite serialises writers, no race to test")
def test_two_imports_claiming_one_new_barcode_refuse_one_row_not_a_whole_file():
    barcode = "4006381333931"
    results = run_at_once([
        lambda: import_skus([sku_row("MILK1", barcodes=barcode), sku_row("BREAD")]),
        lambda: import_skus([sku_row("MILK2", barcodes=barcode), sku_row("BUTTER")]),
    ])

    assert not [r for r in results if isinstance(r, Exception)], results
    owner = Barcode.objects.get(code=barcode).sku.code
    loser = results[1] if owner == "MILK1" else results[0]
    refusal = only_refusal(loser)
    assert refusal.code == ({"MILK1", "MILK2"} - {owner}).pop()
    assert refusal.errors["barcodes"] == [f"Barcode {barcode} already belongs to SKU {owner}."]
    assert set(SKU.objects.values_list("code", flat=True)) == {owner, "BREAD", "BUTTER"}
