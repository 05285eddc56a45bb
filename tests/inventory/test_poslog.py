"""The POSLog adapter (inventory.adapters.poslog) on documents written from
the ARTS / NRF standard (tests/inventory/fixtures/poslog/): every line item
answered as a sale, a return, ignored with its reason or rejected with its
field; the key rule; the till's totals; safe parsing; POST /api/v1/poslog."""
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import override_settings

from inventory import adapters
from inventory.models import InventoryEvent, ReceivedDocument, RejectedEvent, TillTransaction
from tests.controltower.factories import source_token

from .factories import BarcodeFactory, LocationFactory, SKUFactory, SourceSystemFactory, UnitConversionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

FIXTURES = Path(__file__).parent / "fixtures" / "poslog"
NRF = "http://www.nrf-arts.org/IXRetail/namespace/"


def fixture(name):
    return (FIXTURES / name).read_bytes()


def poslog(transactions, namespace=NRF):
    return f'<POSLog xmlns="{namespace}">{transactions}</POSLog>'.encode()


def transaction(lines, store="S001", end="2026-11-23T10:15:00+01:00", attributes="", body_attributes=""):
    return (
        f"<Transaction {attributes}><RetailStoreID>{store}</RetailStoreID><WorkstationID>1</WorkstationID>"
        f"<SequenceNumber>9</SequenceNumber><BusinessDayDate>2026-11-23</BusinessDayDate>"
        f"<EndDateTime>{end}</EndDateTime><OperatorID>7</OperatorID>"
        f"<RetailTransaction {body_attributes}>{lines}</RetailTransaction></Transaction>"
    )


def sale(item="SKU00001", quantity="1", sequence=1, attributes="", quantity_attributes=""):
    return (
        f"<LineItem {attributes}><SequenceNumber>{sequence}</SequenceNumber><Sale><ItemID>{item}</ItemID>"
        f"<Quantity {quantity_attributes}>{quantity}</Quantity></Sale></LineItem>"
    )


@pytest.fixture
def till():
    return SourceSystemFactory(code="POSLOG-TILLS", kind="pos")


@pytest.fixture
def shop():
    store = LocationFactory(code="S001", timezone="Europe/Berlin")
    everyday = SKUFactory(code="SKU00001")
    UnitConversionFactory(sku=everyday, unit="CS12", factor=12)
    mug = SKUFactory(code="MUG")
    BarcodeFactory(sku=mug, code="4006381333931")
    apples = SKUFactory(code="APPLES", base_unit="G")
    UnitConversionFactory(sku=apples, unit="KGM", factor=1000)
    return store


def answers(report):
    return [
        (r["status"], r.get("reason") or r["errors"]) if r["status"] in ("ignored", "rejected") else r["status"]
        for r in report.as_dict()["results"]
    ]


def test_the_registry_lists_poslog_for_xml_with_its_key_rule():
    adapter = adapters.for_content_type("application/xml; charset=utf-8", ["poslog"])

    assert adapter.name == "poslog"
    assert adapters.for_content_type("text/xml", ["poslog"]).name == "poslog"  # EPCIS XML takes it too
    assert "store/workstation/sequence/day/line" in adapter.key_rule


def test_sales_returns_units_and_ignored_lines_of_a_document(till, shop):
    report = adapters.get("poslog").receive(till, fixture("sales-and-returns.xml"))

    assert answers(report) == [
        "accepted", "accepted", "accepted", "accepted", "accepted", "accepted",
        ("ignored", "non-inventory line"), ("ignored", "control transaction"),
    ]
    assert report.counts == {"accepted": 6, "duplicate": 0, "conflict": 0, "rejected": 0, "ignored": 2}
    lines = {
        e.transaction_id: (e.type, e.sku.code, e.quantity, e.entered_unit)
        for e in InventoryEvent.objects.select_related("sku")
    }
    assert lines == {
        "S001/2/501/2026-11-23/1": ("sale", "MUG", 2, "EA"),  # GTIN with a leading zero, matched by barcode
        "S001/2/501/2026-11-23/2": ("sale", "SKU00001", 1, "EA"),
        "S001/2/501/2026-11-23/3": ("return", "SKU00001", 1, "EA"),
        "S001/2/501/2026-11-23/4": ("return", "SKU00001", 2, "EA"),  # a negative sale
        "S001/2/501/2026-11-23/5": ("sale", "SKU00001", 12, "CS12"),
        "S001/2/501/2026-11-23/6": ("sale", "APPLES", 500, "KGM"),
    }
    first = InventoryEvent.objects.get(transaction_id="S001/2/501/2026-11-23/1")
    assert first.cashier == "0042"
    assert first.reference == "S001/2/501/2026-11-23"
    assert first.occurred_at == datetime(2026, 11, 23, 9, 15, tzinfo=dt_timezone.utc)
    assert report.as_dict()["results"][6] == {
        "transaction_id": "S001/2/501/2026-11-23/7", "status": "ignored",
        "reason": "non-inventory line", "detail": "Tender",
    }


def test_posting_a_document_twice_changes_nothing(till, shop):
    adapter = adapters.get("poslog")
    adapter.receive(till, fixture("sales-and-returns.xml"))
    ledger = list(InventoryEvent.objects.order_by("id").values_list("id", "quantity"))

    again = adapter.receive(till, fixture("sales-and-returns.xml"))

    assert again.counts == {"accepted": 0, "duplicate": 6, "conflict": 0, "rejected": 0, "ignored": 2}
    assert list(InventoryEvent.objects.order_by("id").values_list("id", "quantity")) == ledger
    assert TillTransaction.objects.count() == 1


def test_training_suspended_void_and_service_lines_move_nothing(till, shop):
    report = adapters.get("poslog").receive(till, fixture("not-counted.xml"))

    results = report.as_dict()["results"]
    assert [(r["status"], r.get("reason", ""), r.get("detail", "")) for r in results] == [
        ("ignored", "training mode", ""),
        ("ignored", "not finished", "Suspended"),
        ("ignored", "not finished", "Suspended"),
        ("accepted", "", ""),  # the resumed transaction carries the suspended one's lines, once
        ("accepted", "", ""),
        ("ignored", "void", "line voided"),
        ("ignored", "void", "line cancelled"),
        ("ignored", "void", "voided by line 6"),  # undone by a voiding line of the opposite quantity
        ("ignored", "void", "line voided"),
        ("ignored", "non-stock item", "Service"),
    ]
    assert results[3]["transaction_id"] == "S001/8/3/2026-11-23/1"  # BusinessUnit/UnitID of type RetailStore
    assert sorted(InventoryEvent.objects.values_list("quantity", flat=True)) == [1, 3]
    statuses = dict(TillTransaction.objects.values_list("sequence", "status"))
    assert statuses == {"10": "training mode", "11": "not finished", "3": "counted"}


def test_a_training_flag_written_as_an_element_is_read_too(till, shop):
    body = poslog(transaction(sale()).replace("<OperatorID>", "<TrainingModeFlag>true</TrainingModeFlag><OperatorID>"))

    report = adapters.get("poslog").receive(till, body)

    assert answers(report) == [("ignored", "training mode")]
    assert not InventoryEvent.objects.exists()


def test_a_voided_line_flagged_as_rung_up_leaves_a_return_of_the_same_item_alone(till, shop):
    body = poslog(transaction(
        sale(quantity="-2", sequence=1) + sale(quantity="2", sequence=2, attributes='VoidFlag="true"')))

    report = adapters.get("poslog").receive(till, body)

    assert answers(report) == ["accepted", ("ignored", "void")]
    assert InventoryEvent.objects.get().type == "return"


def test_unknown_store_item_and_unit_are_rejected_naming_the_field_and_kept(till, shop):
    body = poslog(
        transaction(sale("NOPE-ITEM") + sale(quantity_attributes='UnitOfMeasureCode="PALLET"', sequence=2))
        + transaction(sale(), store="S999").replace(
            "<SequenceNumber>9</SequenceNumber>", "<SequenceNumber>10</SequenceNumber>")
    )

    report = adapters.get("poslog").receive(till, body)

    errors = [r["errors"] for r in report.as_dict()["results"]]
    assert list(errors[0]) == ["sku"] and "NOPE-ITEM" in errors[0]["sku"][0]
    assert list(errors[1]) == ["unit"] and "PALLET" in errors[1]["unit"][0]
    assert "location" in errors[2] and "S999" in errors[2]["location"][0]
    assert RejectedEvent.objects.filter(source=till).count() == 3


def test_a_till_time_without_offset_is_its_stores_local_time(till, shop):
    body = poslog(transaction(sale(), end="2026-07-01T12:00:00"))

    adapters.get("poslog").receive(till, body)

    assert InventoryEvent.objects.get().occurred_at == datetime(2026, 7, 1, 10, 0, tzinfo=dt_timezone.utc)


def test_apples_sold_by_the_pound_are_weighed_in_grams(till, shop):
    UnitConversionFactory(sku=SKUFactory(code="APPLES"), unit="LBR", factor=Decimal("453.59237"))
    ncr = 'xmlns:acs="http://www.ncr.com/rsd/acs/tlog/markup/poslog/2.1" acs:weightItem="true"'
    body = poslog(transaction(sale("APPLES", "0.42", attributes=ncr) + sale("APPLES", "-0.42", sequence=2)))

    report = adapters.get("poslog").receive(till, body)

    assert report.counts["accepted"] == 2
    # 0.42 lb is 190.5088 g: the nearest gram (docs/domain.md, the one rounding rule).
    assert sorted(InventoryEvent.objects.values_list("type", "entered_quantity", "entered_unit", "quantity")) == [
        ("return", Decimal("0.42"), "LBR", 191), ("sale", Decimal("0.42"), "LBR", 191),
    ]


@override_settings(POSLOG_WEIGHT_UNIT="KGM")
def test_a_weighed_line_without_a_unit_is_in_the_tills_weight_unit(till, shop):
    ncr = 'xmlns:acs="http://www.ncr.com/rsd/acs/tlog/markup/poslog/2.1" acs:weightItem="true"'
    body = poslog(transaction(sale("APPLES", "0.25", attributes=ncr) + sale("APPLES", "0.75", sequence=2)))

    report = adapters.get("poslog").receive(till, body)

    assert report.counts["accepted"] == 2
    assert sorted(InventoryEvent.objects.values_list("quantity", "entered_unit")) == [(250, "KGM"), (750, "KGM")]


def test_the_tills_totals_are_kept_for_the_store_day_check(till, shop):
    adapters.get("poslog").receive(till, fixture("sales-and-returns.xml"))

    kept = TillTransaction.objects.get()
    assert (kept.store, kept.location, kept.workstation, kept.sequence) == ("S001", shop, "2", "501")
    assert (kept.grand_amount, kept.tax_amount, kept.cashier, kept.currency) == (
        Decimal("49.38"), Decimal("7.88"), "0042", "EUR")
    assert (kept.status, kept.sale_lines, kept.return_lines, kept.ignored_lines) == ("counted", 4, 2, 1)


@pytest.mark.parametrize("grand", ["NaN", "sNaN", "Infinity", "1e30", "12,50", ""])
def test_a_total_that_is_no_amount_is_kept_as_none(till, shop, grand):
    body = poslog(transaction(sale() + f'<Total TotalType="TransactionGrandAmount">{grand}</Total>'))

    report = adapters.get("poslog").receive(till, body)

    assert report.counts["accepted"] == 1
    assert TillTransaction.objects.get().grand_amount is None


def test_a_till_posts_only_its_own_stores_sales(till, shop):
    till.lane_locations.set([LocationFactory(code="S002")])
    body = poslog(transaction(sale()) + transaction(sale(), store="S002").replace(
        "<SequenceNumber>9</SequenceNumber>", "<SequenceNumber>10</SequenceNumber>"))

    report = adapters.get("poslog").receive(till, body)

    results = report.as_dict()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert results[0]["errors"] == {"location": ["Source POSLOG-TILLS does not feed location S001 (its lane: S002)."]}


@override_settings(INGEST_MAX_EVENTS=2)
def test_a_document_longer_than_a_batch_is_posted_in_batches_and_answered_in_order(till, shop):
    body = poslog(transaction("".join(sale(quantity=str(n), sequence=n) for n in range(1, 6))))

    report = adapters.get("poslog").receive(till, body)

    assert [r.transaction_id for r in report.results] == [f"S001/1/9/2026-11-23/{n}" for n in range(1, 6)]
    assert report.counts["accepted"] == 5
    assert sorted(InventoryEvent.objects.values_list("quantity", flat=True)) == [1, 2, 3, 4, 5]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE POSLog [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<POSLog xmlns="http://www.nrf-arts.org/IXRetail/namespace/">&b;</POSLog>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE POSLog [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<POSLog xmlns="http://www.nrf-arts.org/IXRetail/namespace/"><Transaction>&x;</Transaction></POSLog>"""


@pytest.mark.parametrize("body, message", [
    (BILLION_LAUGHS, "The document declares a DTD or an entity: refused, never expanded or fetched."),
    (EXTERNAL, "The document declares a DTD or an entity: refused, never expanded or fetched."),
    (b"<POSLog", "The body is not well-formed XML: "),
    (b"", "The body is not well-formed XML: "),
    (b'<POSLog xmlns="urn:other"/>', "The document must be a POSLog in the namespace "),
    (b"<Transaction/>", "The document must be a POSLog in the namespace "),
])
def test_a_document_that_cannot_be_read_is_refused_in_one_line(till, body, message):
    with pytest.raises(adapters.Unparseable) as refused:
        adapters.get("poslog").receive(till, body)

    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd or the entities is echoed
    assert not InventoryEvent.objects.exists()
    kept = ReceivedDocument.objects.get()  # kept as sent, for the integration admin to open
    assert (kept.format, kept.status, bytes(kept.body), kept.error) == ("poslog", "refused", body, str(refused.value))


def test_the_endpoint_answers_per_line_and_refuses_other_types_and_people(api_client, till, shop, people):
    from controltower.models import Role
    from tests.controltower.factories import person_token

    auth = {"HTTP_AUTHORIZATION": f"Token {source_token(till)}"}
    posted = api_client.post("/api/v1/poslog", data=fixture("sales-and-returns.xml"),
                             content_type="application/xml", **auth)
    wrong_type = api_client.post("/api/v1/poslog", data=b"{}", content_type="application/json", **auth)
    entity = api_client.post("/api/v1/poslog", data=BILLION_LAUGHS, content_type="application/xml", **auth)
    person = api_client.post(
        "/api/v1/poslog", data=fixture("sales-and-returns.xml"), content_type="application/xml",
        HTTP_AUTHORIZATION=f"Token {person_token(people[Role.ADMIN].owner)}",
    )

    assert posted.status_code == 200
    assert posted.json()["counts"] == {"accepted": 6, "duplicate": 0, "conflict": 0, "rejected": 0, "ignored": 2}
    assert wrong_type.status_code == 415
    assert wrong_type.json()["detail"].endswith("send one of application/xml, text/xml.")
    assert entity.status_code == 400
    assert entity.json() == {"detail": "The document declares a DTD or an entity: refused, never expanded or fetched."}
    assert person.status_code == 403
    assert InventoryEvent.objects.count() == 6
