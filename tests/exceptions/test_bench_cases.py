"""The case-screen bench at a tiny scale: the data it builds has the shape it
reports, every page it times answers 200 in each person's scope, and a
second run reuses the cases instead of rebuilding them."""
import pytest

from exceptions.models import Case, CaseHistory, CaseLink
from tests.bench.cases import REFERENCE, bench_cases

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the bench runs VACUUM on PostgreSQL
    pytest.mark.usefixtures("default_routing"),  # it routes and times cases by the default SLA data
]

PAGES = {"queue", "case page", "counts (htmx)", "my stores", "home"}


def run():
    return bench_cases(locations=6, skus=30, active=60, done=40, repeats=1, case_pages=3)


def test_bench_builds_the_cases_it_reports_and_times_every_page_for_each_person():
    result = run()

    bench = Case.objects.filter(reference__startswith=REFERENCE)
    assert (result["active_cases"], result["done_cases"]) == (60, 40)
    assert bench.filter(status__in=Case.ACTIVE).count() == 60
    assert set(bench.values_list("status", flat=True)) == set(Case.Status.values)
    assert 0 < result["breached_cases"] < 60
    # Made by the product's own path: every active case has its ledger event and history.
    active_ids = bench.filter(status__in=Case.ACTIVE).values("pk")
    assert CaseLink.objects.filter(case__in=active_ids, kind=CaseLink.Kind.EVENT).count() == 60
    assert CaseHistory.objects.filter(case__in=active_ids, action="opened").count() == 60

    by_person = {}
    for row in result["pages"]:
        by_person.setdefault(row["person"], {})[row["page"]] = row
    assert set(by_person) == {"store manager", "regional ops lead", "planner (whole estate)"}
    for pages in by_person.values():
        assert PAGES < set(pages)
        assert {"queue ?severity=1", "queue ?breached=true", "queue ?status=done"} < set(pages)
        assert all(row["p95_ms"] > 0 and row["queries"] > 0 for row in pages.values())
    manager = by_person["store manager"]["queue"]
    planner = by_person["planner (whole estate)"]["queue"]
    assert (manager["stores_in_scope"], planner["stores_in_scope"]) == (2, 6)
    assert 0 < manager["cases_in_scope"] < planner["cases_in_scope"] == 60
    assert result["worst_p95_ms"] == max(row["p95_ms"] for row in result["pages"])

    again = run()
    assert again["setup_seconds"] == 0
    assert Case.objects.filter(reference__startswith=REFERENCE).count() == 100
