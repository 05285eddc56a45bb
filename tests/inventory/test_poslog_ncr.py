"""The POSLog adapter on a real till export: NCR ACS's POSLog of store 9 on
1 October 2017 (shared/fixtures/poslog/ncr-acs-poslog.xml, BSD-3-Clause,
from github.com/kjbreil/poslog; skipped when shared/ is not beside the
checkout). Every line item is accounted for, with the numbers below, and
posting the file twice changes nothing."""
import re
from collections import Counter
from decimal import Decimal

import pytest

from inventory import adapters
from inventory.models import InventoryEvent, ReceivedDocument, RejectedEvent, TillTransaction
from tests.shared import shared_file

from .factories import (
    BarcodeFactory,
    ExternalIdFactory,
    LocationFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

pytestmark = pytest.mark.django_db

# Department 34 (frozen food) is not on the tower's item master in this test:
# its lines are rejected naming the sku, kept for replay.
UNKNOWN_DEPARTMENT = "34"


@pytest.fixture
def ncr():
    return shared_file("fixtures", "poslog", "ncr-acs-poslog.xml").read_bytes()


@pytest.fixture
def tills(ncr):
    """The tills as a source; store 9 is the tower's S009 through the source's
    foreign identifiers; every item of the export is a SKU known by its
    12-digit UPC (the till sends 14 digits), weighed ones counted in grams."""
    source = SourceSystemFactory(code="NCR-ACS", kind="pos")
    ExternalIdFactory(source=source, external_id="9", location=LocationFactory(code="S009", timezone="America/Chicago"))
    text = ncr.decode()
    weighed = set(re.findall(r'weightItem="true"><SequenceNumber>\d+</SequenceNumber><Sale ItemType="Stock">'
                             r'<POSIdentity POSIDType="GTIN"><POSItemID>(\d+)<', text))
    items = re.findall(r'<Sale ItemType="[^"]+"><POSIdentity POSIDType="GTIN"><POSItemID>(\d+)</POSItemID>'
                       r'<Qualifier>\d+</Qualifier></POSIdentity><ItemID>\d+</ItemID>'
                       r'<MerchandiseHierarchy Level="Department"[^>]*>(\d+)<', text)
    for gtin, department in dict(items).items():
        if department == UNKNOWN_DEPARTMENT:
            continue
        sku = SKUFactory(code=f"NCR-{gtin}", base_unit="G" if gtin in weighed else "EA")
        BarcodeFactory(sku=sku, code=gtin[-12:])
        if gtin in weighed:  # the tills weigh in pounds (settings.POSLOG_WEIGHT_UNIT)
            UnitConversionFactory(sku=sku, unit="LBR", factor=Decimal("453.59237"))
    return source


def test_every_line_of_the_ncr_export_is_accounted_for(tills, ncr):
    report = adapters.get("poslog").receive(tills, ncr)

    results = report.results
    assert len(results) == 1050  # 1,041 line items in 42 retail transactions, 9 control transactions
    assert report.counts == {"accepted": 526, "duplicate": 0, "conflict": 0, "rejected": 17, "ignored": 507}
    assert Counter(r.reason for r in results if r.status == "ignored") == {
        "non-inventory line": 489,  # tenders, tax, loyalty rewards, CRM variables, age checks...
        "control transaction": 9,  # sign-on, sign-off, no sale
        "void": 8,  # 4 voiding lines and the 4 lines they undo
        "non-stock item": 1,  # a bottle deposit refund (acs:NegativeItem)
    }
    assert Counter(tuple(r.errors) for r in results if r.status == "rejected") == {
        ("sku",): 17,  # department 34, not on this item master
    }
    # No returns in this export: its corrections are line voids.
    assert Counter(InventoryEvent.objects.values_list("type", "entered_unit")) == {
        ("sale", "EA"): 362, ("sale", "LBR"): 164,
    }
    units = Counter()
    for unit, quantity in InventoryEvent.objects.values_list("entered_unit", "quantity"):
        units[unit] += quantity
    assert units == {"EA": 452, "LBR": 82625}  # 82,625 g of produce sold by the pound
    apples = InventoryEvent.objects.get(transaction_id="9/1/376/2017-10-01/32")
    assert (apples.entered_quantity, apples.quantity) == (Decimal("1.14"), 517)  # 517.0932 g, rounded
    assert apples.occurred_at.isoformat() == "2017-10-01T20:15:41+00:00"  # 15:15:41 in Chicago (CDT)
    assert RejectedEvent.objects.filter(source=tills).count() == 17
    assert set(InventoryEvent.objects.values_list("location__code", flat=True)) == {"S009"}
    assert set(InventoryEvent.objects.values_list("cashier", flat=True)) == {"91", "92", "94", "254", "437", "745"}
    assert TillTransaction.objects.filter(status="counted").count() == 42
    document = ReceivedDocument.objects.get()  # as integration health shows it
    assert (document.format, document.lines, document.accepted, document.rejected, document.ignored) == (
        "poslog", 1050, 526, 17, 507)
    assert document.ignored_by_reason == {
        "non-inventory line": 489, "control transaction": 9, "void": 8, "non-stock item": 1}
    assert document.rejected_by_cause == {"sku": 17}


def test_posting_the_ncr_export_twice_changes_nothing(tills, ncr):
    adapter = adapters.get("poslog")
    adapter.receive(tills, ncr)
    ledger = list(InventoryEvent.objects.order_by("id").values_list("id", "transaction_id", "quantity"))
    tills_kept = list(TillTransaction.objects.order_by("id").values_list("id", "grand_amount", "status"))

    again = adapter.receive(tills, ncr)

    assert again.counts == {"accepted": 0, "duplicate": 526, "conflict": 0, "rejected": 17, "ignored": 507}
    assert list(InventoryEvent.objects.order_by("id").values_list("id", "transaction_id", "quantity")) == ledger
    assert list(TillTransaction.objects.order_by("id").values_list("id", "grand_amount", "status")) == tills_kept


def test_the_small_ncr_export_sells_honeycrisp_apples_by_the_pound():
    source = SourceSystemFactory(code="NCR-ACS", kind="pos")
    ExternalIdFactory(source=source, external_id="9", location=LocationFactory(code="S009", timezone="America/Chicago"))
    apples = SKUFactory(code="APPLE-HONEYCRISP-ORG", base_unit="G")
    BarcodeFactory(sku=apples, code="000000067591")
    UnitConversionFactory(sku=apples, unit="LBR", factor=Decimal("453.59237"))
    small = shared_file("fixtures", "poslog", "ncr-acs-small.xml").read_bytes()

    report = adapters.get("poslog").receive(source, small)

    assert report.counts == {"accepted": 1, "duplicate": 0, "conflict": 0, "rejected": 0, "ignored": 23}
    sale = InventoryEvent.objects.get()
    assert (sale.transaction_id, sale.type, sale.sku, sale.entered_quantity, sale.entered_unit, sale.quantity) == (
        "9/34/161/2017-09-30/1", "sale", apples, Decimal("0.42"), "LBR", 191)  # 190.5088 g
    assert (sale.cashier, sale.occurred_at.isoformat()) == ("94", "2017-10-01T07:02:54+00:00")
    kept = TillTransaction.objects.get()
    assert (kept.business_day.isoformat(), kept.grand_amount, kept.sale_lines, kept.ignored_lines) == (
        "2017-09-30", Decimal("1.07"), 1, 22)
