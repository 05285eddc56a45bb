"""A source's own identifiers (inventory.identifiers): the tower's codes, the
source's foreign ids, GLNs, barcodes and GTINs resolve to locations and
SKUs in the ledger's validation, in snapshots and in the replay."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import ledger
from inventory.identifiers import check_digit, gtin_forms, is_gln, normalise_gtin
from inventory.masterdata import import_locations
from inventory.models import ExternalId, InventoryEvent, Location, RejectedEvent
from inventory.snapshots import ingest_snapshot

from .factories import BarcodeFactory, ExternalIdFactory, LocationFactory, SKUFactory, SourceSystemFactory
from .payloads import event

pytestmark = pytest.mark.django_db

GLN = "4012345000009"  # 401234500000 and its check digit


@pytest.mark.parametrize("text, gtin", [
    ("4006381333931", "04006381333931"),  # GTIN-13
    ("04006381333931", "04006381333931"),  # GTIN-14
    ("012345678905", "00012345678905"),  # GTIN-12 (UPC-A)
    ("96385074", "00000096385074"),  # GTIN-8
    (" 4006381333931 ", "04006381333931"),
    ("400638133393", "00400638133393"),
    ("40063813339311", "40063813339311"),
    ("4006381", None), ("400638133393100", None), ("40063813339A1", None), ("", None), (None, None),
    (4006381333931, None), ("٤٠٠٦٣٨١٣٣٣٩٣١", None),
])
def test_a_gtin_is_normalised_to_its_14_digits(text, gtin):
    assert normalise_gtin(text) == gtin


def test_a_gtin_may_be_stored_in_each_of_its_shorter_forms():
    assert gtin_forms("00000096385074") == ["00000096385074", "0000096385074", "000096385074", "96385074"]
    assert gtin_forms("04006381333931") == ["04006381333931", "4006381333931"]
    assert gtin_forms("14006381333938") == ["14006381333938"]


def test_gs1_check_digits():
    assert check_digit("400638133393") == "1"
    assert check_digit("401234500000") == "9"
    assert is_gln(GLN)
    assert not is_gln("4012345000008")
    assert not is_gln("401234500000")


@pytest.fixture
def till():
    return SourceSystemFactory(code="POS-NCR")


def post(source, *events):
    return ledger.ingest_events(source, list(events))


def test_a_location_resolves_by_code_foreign_id_or_gln(store, sku, till):
    other = LocationFactory(code="S002", gln=GLN)
    ExternalIdFactory(source=till, external_id="0042", location=store)

    report = post(
        till,
        event(transaction_id="A", location="S001"),
        event(transaction_id="B", location="0042"),
        event(transaction_id="C", location=GLN),
    )

    assert report.counts["accepted"] == 3
    assert dict(InventoryEvent.objects.values_list("transaction_id", "location_id")) == {
        "A": store.pk, "B": store.pk, "C": other.pk}


def test_a_foreign_id_is_the_sources_own(store, sku, till):
    ExternalIdFactory(source=SourceSystemFactory(code="SHOPIFY"), external_id="0042", location=store)

    report = post(till, event(location="0042"))

    assert report.results[0].errors == {"location": ["Unknown location '0042'."]}


def test_the_towers_code_comes_before_a_foreign_id(store, sku, till):
    ExternalIdFactory(source=till, external_id="S001", location=LocationFactory(code="S009"))

    post(till, event())

    assert InventoryEvent.objects.get().location == store


def test_a_transfer_destination_resolves_as_its_location(store, sku, till):
    destination = LocationFactory(code="S002")
    ExternalIdFactory(source=till, external_id="7", location=destination)

    post(till, event(type="transfer_out", to_location="7", reference="TR-1"))

    assert InventoryEvent.objects.get().to_location == destination


def test_a_sku_resolves_by_code_foreign_id_barcode_or_gtin(store, sku, till):
    ExternalIdFactory(source=till, kind=ExternalId.Kind.SKU, external_id="45678901234567", sku=sku)
    upc = SKUFactory(code="SKU00002")
    BarcodeFactory(code="012345678905", sku=upc)  # a UPC-A, as the item master keeps it
    ean = SKUFactory(code="SKU00003")
    BarcodeFactory(code="4006381333931", sku=ean)

    report = post(
        till,
        event(transaction_id="A", sku="SKU00001"),
        event(transaction_id="B", sku="45678901234567"),
        event(transaction_id="C", sku="00012345678905"),  # the UPC as a GTIN-14
        event(transaction_id="D", sku="0012345678905"),  # and as a GTIN-13
        event(transaction_id="E", sku="4006381333931"),
        event(transaction_id="F", sku=None, barcode="04006381333931"),
    )

    assert report.counts["accepted"] == 6, report.as_dict()
    assert dict(InventoryEvent.objects.values_list("transaction_id", "sku__code")) == {
        "A": "SKU00001", "B": "SKU00001", "C": "SKU00002", "D": "SKU00002", "E": "SKU00003", "F": "SKU00003"}


def test_inactive_locations_and_skus_do_not_resolve_through_a_mapping(store, sku, till):
    ExternalIdFactory(source=till, external_id="9", location=LocationFactory(code="S003", active=False))
    ExternalIdFactory(source=till, kind=ExternalId.Kind.SKU, external_id="77",
                      sku=SKUFactory(code="OLD", active=False))

    report = post(till, event(transaction_id="A", location="9"), event(transaction_id="B", sku="77"))

    assert report.results[0].errors == {"location": ["Unknown location '9'."]}
    assert report.results[1].errors == {"sku": ["Unknown or inactive SKU '77'."]}


def test_an_unknown_id_is_kept_and_goes_in_once_mapped(store, sku, till):
    report = post(till, event(location="1234", sku="SHOP-ITEM-1"))

    assert report.results[0].errors == {
        "location": ["Unknown location '1234'."], "sku": ["Unknown or inactive SKU 'SHOP-ITEM-1'."]}
    rejection = RejectedEvent.objects.get()
    assert rejection.cause == "location"
    assert rejection.payload["location"] == "1234"

    ExternalIdFactory(source=till, external_id="1234", location=store)
    ExternalIdFactory(source=till, kind=ExternalId.Kind.SKU, external_id="SHOP-ITEM-1", sku=sku)
    totals = ledger.replay_rejections(source=till)

    assert totals["accepted"] == 1
    line = InventoryEvent.objects.get()
    assert (line.location, line.sku, line.transaction_id) == (store, sku, "T1")
    rejection.refresh_from_db()
    assert rejection.replay_status == "accepted"


def test_a_batch_resolves_its_ids_with_the_same_queries_however_long(store, sku, till):
    for number in range(40):
        ExternalIdFactory(source=till, external_id=f"L{number}", location=store)
        ExternalIdFactory(source=till, kind=ExternalId.Kind.SKU, external_id=f"I{number}", sku=sku)
    BarcodeFactory(code="4006381333931", sku=sku)

    def queries(count):
        events = [event(transaction_id=f"T{i}", location=f"L{i}", sku=f"I{i}", type="sale") for i in range(count)]
        events.append(event(transaction_id=f"G{count}", sku="04006381333931", type="sale"))
        with CaptureQueriesContext(connection) as captured:
            ledger.MasterData(events, till)
        return len(captured)

    assert queries(2) == queries(40)
    assert queries(40) <= 6


def test_snapshot_lines_resolve_foreign_ids(store, sku, till):
    ExternalIdFactory(source=till, external_id="77", location=store)
    ExternalIdFactory(source=till, kind=ExternalId.Kind.SKU, external_id="12345678901", sku=sku)

    report = ingest_snapshot(till, "2026-01-01T00:00:00+00:00", [
        {"location": "77", "sku": "12345678901", "quantity": 4},
        {"location": "78", "sku": "12345678901", "quantity": 4},
    ])

    assert report.counts == {"received": 2, "accepted": 1, "rejected": 1}
    assert report.rejected == [{"index": 1, "errors": {"location": ["Unknown location '78'."]}}]
    line = report.snapshot.lines.get()
    assert (line.location_id, line.sku_id, line.quantity) == (store.pk, sku.pk, 4)


def location_row(**cells):
    return {"code": "S010", "name": "Ten", "kind": "store", "region": "R1", "timezone": "Europe/Berlin", **cells}


def test_import_locations_takes_an_optional_gln():
    report = import_locations([location_row(gln=GLN), location_row(code="S011", gln="")])

    assert report.created == 2
    assert dict(Location.objects.values_list("code", "gln")) == {"S010": GLN, "S011": None}

    import_locations([location_row(gln="")])
    assert Location.objects.get(code="S010").gln is None


def test_import_locations_refuses_a_bad_or_taken_gln():
    LocationFactory(code="S001", gln=GLN)

    report = import_locations([
        location_row(gln="4012345000008"),
        location_row(code="S011", gln=GLN),
        location_row(code="S001", gln=GLN),
    ])

    assert [(row.row, row.errors) for row in report.refused] == [
        (1, {"gln": ["'4012345000008' is not a GLN: 13 digits, the last its GS1 check digit."]}),
        (2, {"gln": [f"'{GLN}' is already the GLN of location S001."]}),
    ]
    assert report.created == 0
    assert Location.objects.get(gln=GLN).code == "S001"


def test_the_api_loads_and_shows_a_locations_gln(api_client):
    from controltower.models import Role
    from tests.controltower.factories import make_user, person_token

    token = person_token(make_user(Role.INTEGRATION_ADMIN, username="ida"))
    loaded = api_client.post("/api/v1/locations", {"locations": [location_row(gln=GLN)]}, format="json",
                             HTTP_AUTHORIZATION=f"Token {token}")
    listed = api_client.get("/api/v1/locations", HTTP_AUTHORIZATION=f"Token {token}")

    assert loaded.json()["created"] == 1
    assert [(row["code"], row["gln"]) for row in listed.json()["results"]] == [("S010", GLN)]
