"""sync_findings: findings in, the right set of open cases out."""
from decimal import Decimal

import pytest

from exceptions.findings import Finding
from exceptions.models import Case, CaseHistory, CaseLink
from exceptions.services.sync import sync_findings
from tests.conftest import on_postgres
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SKUFactory
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db


def finding(location, sku, quantity=3, severity=2, **kwargs):
    return Finding(
        kind="negative_stock", location_id=location.pk, sku_id=sku.pk, severity=severity,
        quantity_at_risk=quantity, value_at_risk=Decimal("2.50") * quantity,
        summary=f"POS sold {quantity} more than the store had; available is -{quantity}", **kwargs,
    )


@pytest.fixture
def store():
    return LocationFactory()


def test_new_finding_opens_a_routed_case_with_due_times_and_lineage(store):
    sku = SKUFactory()
    report = sync_findings("negative_stock", [finding(store, sku, lineage=[("event", 11), ("event", 12)])])
    case = Case.objects.get()
    assert report.opened == [case.pk]
    assert case.status == Case.Status.OPEN
    assert case.owner.code == "STORE-OPS"
    assert case.opened_at < case.warning_due_at < case.resolution_due_at
    assert sorted(CaseLink.objects.values_list("object_id", flat=True)) == [11, 12]
    assert CaseHistory.objects.filter(case=case, action="opened").count() == 1


def test_routing_most_specific_rule_wins(store):
    sku = SKUFactory()
    sync_findings("negative_stock", [finding(store, sku, severity=1)])
    sync_findings("stale_feed", [Finding(kind="stale_feed", location_id=None, sku_id=None, reference="POS-1",
                                         severity=1)])
    assert Case.objects.get(kind="negative_stock").owner.code == "REGIONAL-OPS"  # severity 1 rule
    assert Case.objects.get(kind="stale_feed").owner.code == "INTEGRATION"  # a kind rule beats a severity rule


def test_same_finding_again_updates_the_case_not_a_second_one(store):
    sku = SKUFactory()
    sync_findings("negative_stock", [finding(store, sku, quantity=3, lineage=[("event", 1)])])
    report = sync_findings("negative_stock", [finding(store, sku, quantity=5, lineage=[("event", 2)],
                                                      details={"observed": -5, "expected": 0})])
    case = Case.objects.get()
    assert case.details == {"observed": -5, "expected": 0}
    assert report.updated == [case.pk] and report.opened == []
    assert case.quantity_at_risk == 5 and case.value_at_risk == Decimal("12.50")
    assert "-5" in case.summary
    assert CaseLink.objects.filter(case=case).count() == 2
    change = CaseHistory.objects.get(case=case, field="quantity_at_risk")
    assert (change.from_value, change.to_value) == ("3", "5")


def test_unchanged_finding_writes_nothing(store):
    sku = SKUFactory()
    sync_findings("negative_stock", [finding(store, sku)])
    rows = CaseHistory.objects.count()
    report = sync_findings("negative_stock", [finding(store, sku)])
    assert report.as_dict() == {"opened": 0, "updated": 0, "reopened": 0, "resolved": 0}
    assert CaseHistory.objects.count() == rows


def test_cleared_condition_resolves_its_case_with_a_note(store):
    gone, staying = SKUFactory(), SKUFactory()
    sync_findings("negative_stock", [finding(store, gone), finding(store, staying)])
    report = sync_findings("negative_stock", [finding(store, staying)])
    case = Case.objects.get(sku=gone)
    assert report.resolved == [case.pk]
    assert case.status == Case.Status.RESOLVED and case.auto_resolved
    assert CaseHistory.objects.filter(case=case, note="condition cleared").exists()
    assert Case.objects.get(sku=staying).status == Case.Status.OPEN


def test_clearing_leaves_other_kinds_and_out_of_scope_cases_alone(store):
    other_store = LocationFactory()
    sku = SKUFactory()
    sync_findings("negative_stock", [finding(store, sku), finding(other_store, sku)])
    sync_findings("stale_feed", [Finding(kind="stale_feed", location_id=None, sku_id=None, reference="POS-1")])
    report = sync_findings("negative_stock", [], scope={"location_id__in": [store.pk]})
    assert report.resolved == [Case.objects.get(location=store).pk]
    assert Case.objects.get(location=other_store).status == Case.Status.OPEN
    assert Case.objects.get(kind="stale_feed").status == Case.Status.OPEN


def test_finding_back_reopens_the_resolved_case(store):
    sku = SKUFactory()
    sync_findings("negative_stock", [finding(store, sku)])
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.RESOLVED, resolution_code="counted", root_cause="shrink",
        resolved_by=make_user("store_manager", [store]),
    )
    report = sync_findings("negative_stock", [finding(store, sku)])
    case.refresh_from_db()
    assert report.reopened == [case.pk] and report.opened == []
    assert case.status == Case.Status.OPEN and case.reopen_count == 1 and case.resolved_by is None
    assert Case.objects.count() == 1


def test_a_settled_suspected_duplicate_stays_resolved(store):
    sku = SKUFactory()
    duplicate = Finding(kind="suspected_duplicate", location_id=store.pk, sku_id=sku.pk, reference="sale:7:8")
    sync_findings("suspected_duplicate", [duplicate])
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.RESOLVED, resolution_code="not_a_duplicate", root_cause="process_non_compliance",
        resolved_by=make_user("store_manager", [store]),
    )
    report = sync_findings("suspected_duplicate", [duplicate])
    case.refresh_from_db()
    assert report.reopened == []
    assert case.status == Case.Status.RESOLVED and case.reopen_count == 0


def test_a_person_resolved_count_variance_reopens_only_for_a_new_count(store):
    """A store manager who resolved a count's variance (the count was right,
    the record followed it) is not overruled by the same count at the next
    run; a later count still beyond tolerance is new evidence."""
    sku = SKUFactory()

    def variance(count, record):
        return Finding(kind="count_variance", location_id=store.pk, sku_id=sku.pk, reference="available",
                       severity=4, quantity_at_risk=abs(8 - record), details={"count": count, "record": record})

    sync_findings("count_variance", [variance("POS:c1", 10)])
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.RESOLVED, resolution_code="count_confirmed", root_cause="shrink",
        resolved_by=make_user("store_manager", [store]),
    )
    late_line = sync_findings("count_variance", [variance("POS:c1", 11)])  # same count, a late line in its record
    case.refresh_from_db()
    assert late_line.reopened == [] and case.status == Case.Status.RESOLVED and case.details["record"] == 11
    recount = sync_findings("count_variance", [variance("POS:c2", 11)])
    case.refresh_from_db()
    assert recount.reopened == [case.pk] and case.status == Case.Status.OPEN and case.reopen_count == 1


def test_an_auto_resolved_count_variance_reopens_when_it_is_back(store):
    sku = SKUFactory()
    found = Finding(kind="count_variance", location_id=store.pk, sku_id=sku.pk, reference="available",
                    details={"count": "POS:c1"})
    sync_findings("count_variance", [found])
    sync_findings("count_variance", [])  # cleared by a late line
    assert sync_findings("count_variance", [found]).reopened == [Case.objects.get().pk]


def test_finding_of_another_kind_is_refused(store):
    with pytest.raises(ValueError, match="another kind"):
        sync_findings("stale_feed", [finding(store, SKUFactory())])
    assert not Case.objects.exists()


def test_many_findings_sync_in_bulk(store, django_assert_max_num_queries):
    skus = SKUFactory.create_batch(300)
    with django_assert_max_num_queries(40):
        report = sync_findings("negative_stock", [finding(store, sku, lineage=[("event", sku.pk)]) for sku in skus])
    assert len(report.opened) == 300
    with django_assert_max_num_queries(40):
        report = sync_findings("negative_stock", [finding(store, sku, quantity=4) for sku in skus[:200]])
    assert (len(report.updated), len(report.resolved)) == (200, 100)


@pytest.mark.skipif(not on_postgres(), reason="needs PostgreSQL: SQLite serialises writers, no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_case_per_fingerprint(default_routing):
    store = LocationFactory()
    skus = SKUFactory.create_batch(50)
    findings = [finding(store, sku) for sku in skus]

    results = run_at_once([lambda: sync_findings("negative_stock", findings)] * 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Case.objects.count() == 50
    assert CaseHistory.objects.filter(action="opened").count() == 50
