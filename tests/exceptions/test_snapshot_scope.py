"""A snapshot speaks only for what it covers: a `lines` snapshot for the
location x SKU x state lines it lists, a `full` one for every SKU of the
locations it names. A run resolves only the cases a later covering
snapshot says are gone; every other case stays exactly as it was."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exceptions import reconciliation
from exceptions.findings import CaseKind
from exceptions.models import Case, CaseHistory
from exceptions.reconciliation import run_reconciliation
from inventory.ledger import ingest_events
from inventory.models import SKU, Location, SourceSystem
from inventory.snapshots import ingest_snapshot
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
MISMATCH, FINANCIAL = CaseKind.SNAPSHOT_MISMATCH, CaseKind.FINANCIAL_VARIANCE


def ago(hours):
    return (NOW - timedelta(hours=hours)).isoformat()


@pytest.fixture
def estate():
    """Stores A and B, SKUs X and Y at 10.00, 40 X and 12 Y received at each."""
    pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)
    for code in ("A", "B"):
        LocationFactory(code=code)
    for code in ("X", "Y"):
        SKUFactory(code=code, unit_cost=Decimal("10.00"))
    events = [
        {"transaction_id": f"r-{loc}-{sku}", "type": "receipt", "location": loc, "sku": sku,
         "quantity": qty, "occurred_at": ago(10), "reference": "PO1"}
        for loc in ("A", "B") for sku, qty in (("X", 40), ("Y", 12))
    ]
    assert ingest_events(pos, events).counts["accepted"] == 4


@pytest.fixture
def wms():
    return SourceSystemFactory(code="WMS", kind=SourceSystem.Kind.WMS)


@pytest.fixture
def erp():
    return SourceSystemFactory(code="ERP", kind=SourceSystem.Kind.ERP)


def line(location, sku, quantity, **extra):
    return {"location": location, "sku": sku, "quantity": quantity, **extra}


def snapshot(source, hours, lines, **kwargs):
    report = ingest_snapshot(source, ago(hours), lines, **kwargs)
    assert not report.rejected
    return report.snapshot


def case_at(kind, location):
    return Case.objects.get(kind=kind, location__code=location)


def frozen(case):
    """Everything a run could change on a case, its history included."""
    case = Case.objects.get(pk=case.pk)
    history = list(CaseHistory.objects.filter(case=case).values_list("action", "field", "to_value", "at"))
    numbers = (case.status, case.severity, case.quantity_at_risk, case.value_at_risk, case.summary,
               case.details, case.resolved_at, case.auto_resolved)
    return numbers, history


def test_a_one_line_snapshot_of_a_leaves_bs_mismatch_case_until_a_snapshot_covers_b(estate, wms):
    snapshot(wms, 3, [line("A", "X", 30), line("A", "Y", 12), line("B", "X", 30), line("B", "Y", 12)],
             scope="full")
    assert len(run_reconciliation(MISMATCH).opened) == 2
    b_case = case_at(MISMATCH, "B")
    before = frozen(b_case)

    snapshot(wms, 2, [line("A", "X", 40)])
    report = run_reconciliation(MISMATCH)
    again = run_reconciliation(MISMATCH)

    assert report.resolved == [case_at(MISMATCH, "A").pk]
    assert case_at(MISMATCH, "A").status == Case.Status.RESOLVED
    assert frozen(b_case) == before
    assert (again.opened, again.updated, again.resolved) == ([], [], [])

    snapshot(wms, 1, [line("B", "X", 40)])
    assert run_reconciliation(MISMATCH).resolved == [b_case.pk]
    b_case.refresh_from_db()
    assert b_case.status == Case.Status.RESOLVED and b_case.auto_resolved


def test_the_latest_covering_snapshot_is_compared_for_each_key(estate, wms):
    full = snapshot(wms, 3, [line("A", "X", 30), line("B", "X", 30)], scope="full")
    snapshot(wms, 2, [line("A", "X", 40)])

    findings = reconciliation.snapshot_mismatch()

    # A X from the later one-line snapshot (right); the rest from the full
    # one: X off by 10 at B, Y (not listed) zero against 12 at A and B.
    assert sorted((key(f), f.details["observed"], f.details["expected"]) for f in findings) == [
        (("A", "Y"), 0, 12), (("B", "X"), 30, 40), (("B", "Y"), 0, 12),
    ]
    assert {f.details["snapshot"] for f in findings} == {full.pk}


def key(finding):
    return Location.objects.get(pk=finding.location_id).code, SKU.objects.get(pk=finding.sku_id).code


def test_a_full_snapshot_counts_an_unlisted_sku_of_its_locations_as_zero(estate, wms):
    snapshot(wms, 1, [line("A", "X", 40)], scope="full")

    [finding] = reconciliation.snapshot_mismatch()

    assert (finding.details["observed"], finding.details["expected"]) == (0, 12)
    # No snapshot line to name (the drift class may name ledger lines).
    assert finding.reference == "WMS:available" and ("snapshot_line" not in dict(finding.lineage))
    assert "not listed in a full snapshot" in finding.summary
    # B is not named by the snapshot: nothing is said about it.
    assert key(finding) == ("A", "Y")


@pytest.mark.parametrize("scope, found", [("lines", []), ("full", [("A", "Y")])])
def test_lines_says_nothing_of_what_it_does_not_list_full_says_zero(estate, wms, scope, found):
    snapshot(wms, 1, [line("A", "X", 40)], scope=scope)

    assert [key(f) for f in reconciliation.snapshot_mismatch()] == found


def test_a_full_snapshot_clears_a_case_of_a_sku_it_does_not_list_once_the_ledger_is_zero(estate, wms):
    pos = SourceSystem.objects.get(code="POS")
    snapshot(wms, 3, [line("A", "Y", 5)])
    run_reconciliation(MISMATCH)
    case = case_at(MISMATCH, "A")
    # Y is written off at A; a full snapshot of A that lists only X speaks for Y too.
    ingest_events(pos, [{"transaction_id": "adj", "type": "adjustment", "location": "A", "sku": "Y",
                         "quantity": -12, "state": "available", "reason": "shrink",
                         "occurred_at": ago(2.5)}])
    snapshot(wms, 1, [line("A", "X", 40)], scope="full")

    assert run_reconciliation(MISMATCH).resolved == [case.pk]


def test_a_one_line_erp_valuation_leaves_bs_financial_case_until_a_valuation_covers_b(estate, erp):
    values = {"X": "400.00", "Y": "120.00"}
    snapshot(erp, 3, [line(loc, sku, qty, value="999.00" if sku == "X" else values[sku])
                      for loc in ("A", "B") for sku, qty in (("X", 40), ("Y", 12))],
             kind="valuation", scope="full")
    assert len(run_reconciliation(FINANCIAL).opened) == 2
    b_case = case_at(FINANCIAL, "B")
    before = frozen(b_case)

    snapshot(erp, 2, [line("A", "X", 40, value="400.00")], kind="valuation")
    report = run_reconciliation(FINANCIAL)

    assert report.resolved == [case_at(FINANCIAL, "A").pk]
    assert frozen(b_case) == before

    snapshot(erp, 1, [line("B", "X", 40, value="400.00")], kind="valuation")
    assert run_reconciliation(FINANCIAL).resolved == [b_case.pk]


def test_a_full_valuation_values_an_unlisted_sku_at_zero(estate, erp):
    snapshot(erp, 1, [line("A", "X", 40, value="400.00")], kind="valuation", scope="full")

    [finding] = reconciliation.financial_variance()

    assert (finding.details["observed_value"], finding.details["expected_value"]) == ("0.00", "120.00")


def test_a_case_of_another_source_is_not_cleared_by_this_sources_snapshot(estate, wms, erp):
    snapshot(erp, 3, [line("A", "X", 30)])
    run_reconciliation(MISMATCH)
    case = case_at(MISMATCH, "A")
    before = frozen(case)

    snapshot(wms, 1, [line("A", "X", 40), line("A", "Y", 12)], scope="full")
    run_reconciliation(MISMATCH)

    assert frozen(case) == before


def test_a_full_snapshot_does_not_count_stock_in_transit_as_missing(estate, wms):
    pos = SourceSystem.objects.get(code="POS")
    report = ingest_events(pos, [{"transaction_id": "t1", "type": "transfer_out", "location": "A", "sku": "X",
                                  "quantity": 10, "to_location": "B", "reference": "T1", "occurred_at": ago(5)}])
    assert report.counts["accepted"] == 1

    snapshot(wms, 1, [line("A", "X", 30), line("A", "Y", 12), line("B", "X", 40), line("B", "Y", 12)],
             scope="full")

    assert reconciliation.snapshot_mismatch() == []


def test_a_snapshot_is_compared_while_it_covers_a_key_no_later_one_covers(estate, wms):
    from exceptions.reconciliation.snapshots import compared_snapshots

    old = snapshot(wms, 4, [line("A", "X", 30), line("B", "X", 30)], scope="full")
    mid = snapshot(wms, 3, [line("B", "X", 40)])
    new = snapshot(wms, 2, [line("A", "X", 40), line("A", "Y", 12)], scope="full")

    # The old full snapshot still speaks for B's Y (not listed: zero), and only for it.
    assert [item.snapshot.pk for item in compared_snapshots()] == [new.pk, mid.pk, old.pk]
    [finding] = reconciliation.snapshot_mismatch()
    assert (key(finding), finding.details["snapshot"], finding.details["observed"]) == (("B", "Y"), old.pk, 0)

    newest = snapshot(wms, 1, [line("B", "X", 40), line("B", "Y", 12)], scope="full")
    assert [item.snapshot.pk for item in compared_snapshots()] == [newest.pk, new.pk]
    assert reconciliation.snapshot_mismatch() == []
