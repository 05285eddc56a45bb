"""Every snapshot mismatch and financial variance carries why it differs
(exceptions.reconciliation.drift): each class from a ledger built through
ingest, the unexplained case, the timing lag that clears itself, the API
field and the case page words."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from exceptions import reconciliation
from exceptions.findings import CaseKind, Drift
from exceptions.models import Case, CaseHistory, CaseLink
from exceptions.reconciliation import run_reconciliation
from inventory.ledger import ingest_events
from inventory.models import InventoryEvent, SourceSystem, Transfer
from inventory.snapshots import ingest_snapshot
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import (
    LocationFactory,
    PurchaseOrderLineFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def post(source, *events, received_at=None):
    report = ingest_events(source, list(events), received_at=received_at)
    assert report.counts.get("rejected", 0) == 0, report.counts
    return report


def ev(txn, type, location, sku, quantity, at, **extra):
    return {"transaction_id": txn, "type": type, "location": location.code, "sku": sku.code,
            "quantity": quantity, "occurred_at": at.isoformat(), **extra}


def says(source, as_of, quantity, store, sku, received_at=None, **line):
    line = {"location": store.code, "sku": sku.code, "quantity": quantity, **line}
    ingest_snapshot(source, as_of.isoformat(), [line], received_at=received_at)


@pytest.fixture
def pos():
    return SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)


@pytest.fixture
def wms():
    return SourceSystemFactory(code="WMS", kind=SourceSystem.Kind.WMS)


@pytest.fixture
def erp():
    return SourceSystemFactory(code="ERP", kind=SourceSystem.Kind.ERP)


@pytest.fixture
def store():
    return LocationFactory(code="S012")


@pytest.fixture
def sku():
    return SKUFactory(code="SKU00001", unit_cost=Decimal("10.00"))


@pytest.fixture
def stocked(pos, store, sku):
    """40 received five hours ago (PO1 has its PO line)."""
    PurchaseOrderLineFactory(po_number="PO1", line=1, location=store, sku=sku, quantity_ordered=40,
                             quantity_received=40, status="closed")
    post(pos, ev("r1", "receipt", store, sku, 40, ago(hours=5), reference="PO1"), received_at=ago(hours=5))


def the_finding():
    [finding] = reconciliation.snapshot_mismatch()
    return finding


def test_late_lines_that_equal_the_difference_are_a_timing_lag(pos, wms, store, sku, stocked):
    says(wms, ago(hours=1), 40, store, sku, received_at=ago(minutes=50))
    # A sale before the snapshot time that reached the tower after the snapshot did.
    post(pos, ev("s1", "sale", store, sku, 3, ago(minutes=70)))
    sale = InventoryEvent.objects.get(transaction_id="s1")

    finding = the_finding()

    assert (finding.details["difference"], finding.drift) == (3, Drift.TIMING_LAG)
    assert finding.details["drift"]["late_net"] == -3
    assert ("event", sale.pk) in finding.lineage
    assert "reached the tower after the snapshot arrived" in finding.details["drift"]["explanation"]


def test_late_lines_that_do_not_add_up_leave_the_difference_unexplained(pos, wms, store, sku, stocked):
    says(wms, ago(hours=1), 45, store, sku, received_at=ago(minutes=50))
    post(pos, ev("s1", "sale", store, sku, 3, ago(minutes=70)))  # late, but 3 of the 8

    finding = the_finding()

    assert (finding.details["difference"], finding.drift) == (8, Drift.UNEXPLAINED)
    assert finding.details["drift"]["explanation"].startswith("No late lines, suspected duplicates")


def test_a_young_snapshot_is_a_timing_lag_that_resolves_itself_when_the_late_events_arrive(pos, wms, store, sku):
    # The WMS knows a receipt the tower has not received yet; the snapshot is a
    # minute old and the sources deliver within 5 min (the default target).
    says(wms, ago(minutes=1), 10, store, sku)
    run_reconciliation(CaseKind.SNAPSHOT_MISMATCH)
    case = Case.objects.get(kind=CaseKind.SNAPSHOT_MISMATCH)
    assert case.drift == Drift.TIMING_LAG and case.status == Case.Status.OPEN
    assert case.details["drift"]["latency_window_s"] == 300

    post(pos, ev("r1", "receipt", store, sku, 10, ago(minutes=2), reference="PO9"))
    report = run_reconciliation(CaseKind.SNAPSHOT_MISMATCH)

    case.refresh_from_db()
    assert report.resolved == [case.pk]
    assert case.status == Case.Status.RESOLVED and case.auto_resolved


def test_a_rerun_changes_the_class_once_the_latency_window_has_passed(pos, wms, store, sku):
    says(wms, ago(minutes=1), 10, store, sku)
    run_reconciliation(CaseKind.SNAPSHOT_MISMATCH)
    SourceSystem.objects.update(latency_target_s=30)

    run_reconciliation(CaseKind.SNAPSHOT_MISMATCH)

    case = Case.objects.get(kind=CaseKind.SNAPSHOT_MISMATCH)
    assert case.drift == Drift.UNEXPLAINED and case.details["drift"]["class"] == "unexplained"
    assert CaseHistory.objects.filter(case=case, field="drift", from_value="timing_lag",
                                      to_value="unexplained").exists()


def test_a_suspected_duplicate_before_the_snapshot_time_explains_it(pos, wms, store, sku, stocked):
    post(pos, ev("s1", "sale", store, sku, 2, ago(hours=3)), ev("s1-replay", "sale", store, sku, 2, ago(hours=3)),
         received_at=ago(hours=3))
    first, repeat = InventoryEvent.objects.filter(type="sale").order_by("id")
    duplicate = CaseFactory(kind=CaseKind.SUSPECTED_DUPLICATE, location=store, sku=sku,
                            reference=f"events {first.pk}+{repeat.pk}")
    CaseLink.objects.bulk_create([CaseLink(case=duplicate, kind="event", object_id=e.pk) for e in (first, repeat)])
    # The WMS saw one sale: 38; the ledger counted both: 36.
    says(wms, ago(hours=1), 38, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    assert (finding.details["difference"], finding.drift) == (2, Drift.DUPLICATE)
    assert finding.details["drift"]["duplicate_cases"] == [duplicate.pk]
    assert ("event", repeat.pk) in finding.lineage

    # A duplicate a person has settled explains nothing any more.
    Case.objects.filter(pk=duplicate.pk).update(status=Case.Status.RESOLVED)
    assert the_finding().drift == Drift.UNEXPLAINED


def test_a_transfer_not_received_is_a_missing_event(pos, wms, store, sku, stocked):
    dc = LocationFactory(code="DC01", kind="dc")
    post(pos, ev("r-dc", "receipt", dc, sku, 50, ago(hours=6), reference="PO1"))
    post(pos, ev("t1", "transfer_out", dc, sku, 6, ago(hours=4), reference="T1", to_location="S012"))
    # The store put the 6 on the shelf; no transfer_in was ever posted.
    says(wms, ago(hours=1), 46, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    assert (finding.details["difference"], finding.drift) == (6, Drift.MISSING_EVENT)
    assert ("transfer", Transfer.objects.get(reference="T1").pk) in finding.lineage
    assert finding.details["drift"]["explanation"].startswith("Transfer T1 shipped 6 and 0 were received")


def test_a_return_not_dispositioned_is_a_missing_event(pos, wms, store, sku, stocked):
    post(pos, ev("ret1", "return", store, sku, 4, ago(hours=3)), received_at=ago(hours=3))
    # The store shelved the returned 4 without a disposition.
    says(wms, ago(hours=1), 44, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    assert finding.drift == Drift.MISSING_EVENT
    assert "a return of 4" in finding.details["drift"]["explanation"].lower()


def test_an_open_po_line_never_received_is_a_missing_event(wms, store, sku, stocked):
    po = PurchaseOrderLineFactory(po_number="PO2", line=1, location=store, sku=sku, quantity_ordered=10,
                                  quantity_received=0, status="open", expected_at=ago(hours=4))
    says(wms, ago(hours=1), 50, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    assert finding.drift == Drift.MISSING_EVENT
    assert ("po_line", po.pk) in finding.lineage


def test_a_receipt_without_its_po_line_is_a_missing_event(pos, wms, store, sku, stocked):
    post(pos, ev("r2", "receipt", store, sku, 7, ago(hours=3), reference="NOPO"), received_at=ago(hours=3))
    says(wms, ago(hours=1), 40, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    assert (finding.details["difference"], finding.drift) == (-7, Drift.MISSING_EVENT)
    assert "matches no PO line" in finding.details["drift"]["explanation"]


def test_a_pack_entered_as_one_unit_is_a_unit_of_measure_error(pos, wms, store, sku, stocked):
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)
    # One case of 12, entered as 1.
    post(pos, ev("r2", "receipt", store, sku, 1, ago(hours=3), reference="PO1"), received_at=ago(hours=3))
    says(wms, ago(hours=1), 52, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    assert (finding.details["difference"], finding.drift) == (11, Drift.UNIT_OF_MEASURE)
    assert (finding.details["drift"]["unit"], finding.details["drift"]["factor"]) == ("CS12", 12)
    assert ("event", InventoryEvent.objects.get(transaction_id="r2").pk) in finding.lineage


def test_the_receipt_not_the_sale_is_the_line_entered_in_the_wrong_unit(pos, erp, store, sku):
    """Receipts and transfers carry case packs; a sale of one is one. Both lines
    are 1 unit, so (12 - 1) x 1 fits either: the receipt is named (the sale was)."""
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)
    post(pos, ev("count", "cycle_count", store, sku, 5, ago(hours=5)), received_at=ago(hours=5))
    post(pos, ev("sale", "sale", store, sku, 1, ago(hours=4)), received_at=ago(hours=4))
    post(pos, ev("receipt", "receipt", store, sku, 1, ago(hours=3)), received_at=ago(hours=3))
    says(erp, ago(hours=1), 16, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    receipt = InventoryEvent.objects.get(transaction_id="receipt")
    assert (finding.details["difference"], finding.drift) == (11, Drift.UNIT_OF_MEASURE)
    events = [pk for kind, pk in finding.lineage if kind == "event"]
    assert events == [receipt.pk]
    explanation = finding.details["drift"]["explanation"]
    assert explanation.startswith(f"Line {receipt.pk} (receipt of 1) looks like 1 CS12 entered as 1:")
    assert "sale" not in explanation


def test_a_line_already_entered_in_packs_is_not_a_pack_entered_as_one_unit(pos, erp, store, sku):
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)
    post(pos, ev("count", "cycle_count", store, sku, 5, ago(hours=5)), received_at=ago(hours=5))
    post(pos, ev("receipt", "receipt", store, sku, 1, ago(hours=3), unit="CS12"), received_at=ago(hours=3))
    # 5 + 12 in the ledger, 28 in the ERP: +11, as if a pack had been entered as one unit, but
    # this line was entered in packs (and a unit entered as a pack would leave the ERP below).
    says(erp, ago(hours=1), 28, store, sku, received_at=ago(hours=1))

    assert the_finding().drift != Drift.UNIT_OF_MEASURE


def test_a_quantity_in_packs_is_a_unit_of_measure_error(wms, store, sku, stocked):
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)
    says(wms, ago(hours=1), 480, store, sku, received_at=ago(hours=1))

    finding = the_finding()

    assert finding.drift == Drift.UNIT_OF_MEASURE
    assert "The source's 480 is the ledger's 40 x 12 (CS12)" in finding.details["drift"]["explanation"]


def test_without_the_conversion_the_same_difference_is_unexplained(wms, store, sku, stocked):
    says(wms, ago(hours=1), 480, store, sku, received_at=ago(hours=1))

    assert the_finding().drift == Drift.UNEXPLAINED


def test_erp_value_with_agreeing_quantities_is_a_cost_mismatch(erp, store, sku, stocked):
    says(erp, ago(hours=1), 40, store, sku, received_at=ago(hours=1), value="520.00")

    [finding] = reconciliation.financial_variance()

    assert finding.drift == Drift.COST_MISMATCH
    assert finding.details["drift"]["erp_unit_cost"] == "13.00"
    assert finding.details["drift"]["explanation"] == (
        "The quantities agree (40); the ERP values them at 13.00 a unit, the SKU's unit cost is 10.00."
    )


def test_erp_quantity_off_by_late_lines_is_a_timing_lag_not_a_cost_mismatch(pos, erp, store, sku, stocked):
    says(erp, ago(hours=1), 40, store, sku, received_at=ago(minutes=50), value="400.00")
    post(pos, ev("s1", "sale", store, sku, 10, ago(minutes=70)))

    [finding] = reconciliation.financial_variance()

    assert finding.drift == Drift.TIMING_LAG


def test_other_kinds_carry_no_drift_class(pos, store, sku):
    post(pos, ev("s1", "sale", store, sku, 3, ago(hours=1)))
    run_reconciliation(CaseKind.NEGATIVE_STOCK)

    assert Case.objects.get(kind=CaseKind.NEGATIVE_STOCK).drift == ""


def test_api_gives_the_class_and_its_words_and_filters_by_it(client, pos, wms, store, sku, stocked):
    says(wms, ago(hours=1), 40, store, sku, received_at=ago(minutes=50))
    post(pos, ev("s1", "sale", store, sku, 3, ago(minutes=70)))
    run_reconciliation(CaseKind.SNAPSHOT_MISMATCH)
    post(pos, ev("s2", "sale", store, sku, 50, ago(minutes=10)))
    run_reconciliation(CaseKind.NEGATIVE_STOCK)
    case = Case.objects.get(kind=CaseKind.SNAPSHOT_MISMATCH)
    client.force_login(make_user("admin"))

    body = client.get(f"/api/v1/cases/{case.pk}").json()
    assert body["drift"] == "timing_lag"
    assert body["drift_explanation"].startswith("1 ledger line at this location and SKU occurred before")
    assert [r["id"] for r in client.get("/api/v1/cases?drift=timing_lag").json()["results"]] == [case.pk]
    assert client.get("/api/v1/cases?drift=unexplained").json()["count"] == 0
    assert client.get("/api/v1/cases?drift=bogus").status_code == 400
    assert "drift_explanation" in client.get("/api/schema/").content.decode()


def test_case_page_says_why_it_differs(client, pos, wms, store, sku, stocked):
    says(wms, ago(hours=1), 40, store, sku, received_at=ago(minutes=50))
    post(pos, ev("s1", "sale", store, sku, 3, ago(minutes=70)))
    run_reconciliation(CaseKind.SNAPSHOT_MISMATCH)
    case = Case.objects.get(kind=CaseKind.SNAPSHOT_MISMATCH)
    client.force_login(make_user("admin"))

    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()

    assert "Why it differs: Timing lag</h2>" in page
    assert "it moves available by -3, the whole difference of +3" in page
