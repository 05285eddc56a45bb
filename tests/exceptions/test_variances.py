"""The variances screen (exceptions.variances, exceptions.views.variances):
active snapshot and financial variances by location and category with their
drift class, the value at risk from the rollups, count variances worst first;
filters, scoping and the CSV exports."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower import rollups
from controltower.metrics import Scope, Window, measure
from controltower.models import Role
from exceptions import variances
from exceptions.models import CaseLink
from inventory.models import CountVariance
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import InventoryEventFactory, LocationFactory, RegionFactory, SKUFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate():
    north, south = RegionFactory(code="NORTH"), RegionFactory(code="SOUTH")
    stores = {
        "S1": LocationFactory(code="S1", region=north),
        "S2": LocationFactory(code="S2", region=north),
        "S9": LocationFactory(code="S9", region=south),
    }
    skus = {
        "MILK": SKUFactory(code="MILK", category="Dairy", unit_cost=Decimal("1.50")),
        "CHEESE": SKUFactory(code="CHEESE", category="Dairy", unit_cost=Decimal("4.00")),
        "TV": SKUFactory(code="TV", category="Electronics", unit_cost=Decimal("300.00")),
    }
    return stores, skus


def mismatch(store, sku, units, drift="timing_lag", kind="snapshot_mismatch", **fields):
    fields.setdefault("value_at_risk", units * sku.unit_cost)
    return CaseFactory(kind=kind, location=store, sku=sku, drift=drift, quantity_at_risk=units,
                       reference=f"ERP:available:{sku.code}:{units}", **fields)


@pytest.fixture
def cases(estate):
    stores, skus = estate
    return {
        "milk": mismatch(stores["S1"], skus["MILK"], 10),
        "cheese": mismatch(stores["S1"], skus["CHEESE"], 5),  # same location, category and drift as milk
        "tv": mismatch(stores["S2"], skus["TV"], 2, drift="unit_of_measure"),
        "south": mismatch(stores["S9"], skus["MILK"], 4, drift="unexplained"),
        "money": mismatch(stores["S1"], skus["TV"], 0, drift="cost_mismatch", kind="financial_variance",
                          value_at_risk=Decimal("120.00")),
        "resolved": mismatch(stores["S1"], skus["MILK"], 99, drift="duplicate", status="resolved",
                             resolved_at=timezone.now()),
    }


def rows(user, kind="snapshot_mismatch", **filters):
    found, errors = variances.read_filters(user, filters)
    assert errors == {}
    return [(r["location__code"], r["sku__category"], r["drift"], r["cases"], r["units"], r["value"])
            for r in variances.by_location_and_category(user, kind, found)]


def test_active_variances_by_location_category_and_drift_largest_value_first(cases):
    planner = make_user(Role.PLANNER)
    assert rows(planner) == [
        ("S2", "Electronics", "unit_of_measure", 1, 2, Decimal("600.00")),
        ("S1", "Dairy", "timing_lag", 2, 15, Decimal("35.00")),
        ("S9", "Dairy", "unexplained", 1, 4, Decimal("6.00")),
    ]
    assert rows(planner, kind="financial_variance") == [
        ("S1", "Electronics", "cost_mismatch", 1, 0, Decimal("120.00"))]


def test_each_row_links_to_its_cases_in_the_queue(cases):
    found, _ = variances.read_filters(make_user(Role.PLANNER), {})
    row = variances.by_location_and_category(make_user(Role.FINANCE), "snapshot_mismatch", found)[0]
    assert row["url"] == "/cases/?kind=snapshot_mismatch&status=active&location=S2&drift=unit_of_measure"


@pytest.mark.parametrize("filters,expected", [
    ({"location": "S1"}, {"S1"}),
    ({"region": "NORTH"}, {"S1", "S2"}),
    ({"category": "Electronics"}, {"S2"}),
    ({"drift": "unexplained"}, {"S9"}),
])
def test_the_filters(cases, filters, expected):
    assert {row[0] for row in rows(make_user(Role.PLANNER), **filters)} == expected


def test_a_filter_value_out_of_reach_is_an_error_naming_the_field(cases):
    manager = make_user(Role.STORE_MANAGER, locations=[cases["milk"].location])
    found, errors = variances.read_filters(manager, {"location": "S9", "region": "SOUTH", "drift": "gremlins"})
    assert set(errors) == {"location", "region", "drift"}
    assert "S9" in errors["location"] and "gremlins" in errors["drift"]
    assert found == variances.Filters()


def test_the_drift_summary_names_every_class_with_its_cases(cases):
    found, _ = variances.read_filters(make_user(Role.PLANNER), {})
    summary = {d["drift"]: d["cases"] for d in variances.by_drift(make_user(Role.PLANNER), "snapshot_mismatch", found)}
    assert summary == {"timing_lag": 2, "duplicate": 0, "missing_event": 0, "unit_of_measure": 1, "unexplained": 1}
    money = variances.by_drift(make_user(Role.PLANNER), "financial_variance", found)
    assert {d["drift"]: d["cases"] for d in money}["cost_mismatch"] == 1


def test_a_store_manager_sees_only_their_store(cases, estate):
    stores, _ = estate
    manager = make_user(Role.STORE_MANAGER, locations=[stores["S2"]])
    assert {row[0] for row in rows(manager)} == {"S2"}
    assert variances.trend_member(manager, variances.Filters()) == ("location", "S2")
    two_stores = make_user(Role.STORE_MANAGER, locations=[stores["S1"], stores["S2"]])
    assert variances.trend_member(two_stores, variances.Filters()) is None
    regional = make_user(Role.REGIONAL_OPS, region=stores["S1"].region)
    assert variances.trend_member(regional, variances.Filters()) == ("region", "NORTH")
    assert variances.trend_member(make_user(Role.FINANCE), variances.Filters()) == ("estate", "")


def count(store, sku, variance, days_ago=1, within=False):
    event = InventoryEventFactory(type="cycle_count", location=store, sku=sku, quantity=10,
                                  occurred_at=timezone.now() - timedelta(days=days_ago))
    return CountVariance.objects.create(
        event=event, location=store, sku=sku, state="available", counted_at=event.occurred_at, counted=10,
        record=10 - variance, variance=variance, within_tolerance=within, computed_at=timezone.now())


def test_count_variances_worst_first_by_value_at_cost_with_their_cases(estate):
    stores, skus = estate
    small = count(stores["S1"], skus["MILK"], -20)  # 30.00
    worst = count(stores["S2"], skus["TV"], 1)  # 300.00
    count(stores["S1"], skus["CHEESE"], 1, within=True)  # within tolerance: not shown
    count(stores["S1"], skus["CHEESE"], -50, days_ago=variances.COUNT_DAYS + 1)  # too old
    case = CaseFactory(kind="count_variance", location=stores["S2"], sku=skus["TV"])
    CaseLink.objects.create(case=case, kind=CaseLink.Kind.EVENT, object_id=worst.event_id)

    found = variances.count_variances(make_user(Role.PLANNER), variances.Filters())
    assert [(row.pk, row.value, row.case_id) for row in found] == [
        (worst.pk, Decimal("300"), case.pk), (small.pk, Decimal("30"), None)]
    only_s1, _ = variances.read_filters(make_user(Role.PLANNER), {"location": "S1"})
    assert [row.pk for row in variances.count_variances(make_user(Role.PLANNER), only_s1)] == [small.pk]


def test_the_value_at_risk_metric_counts_what_was_active_at_the_end_of_the_window(estate):
    stores, skus = estate
    now = timezone.now()
    mismatch(stores["S1"], skus["MILK"], 10, opened_at=now - timedelta(days=3))  # 15.00, still active
    mismatch(stores["S2"], skus["TV"], 1, opened_at=now - timedelta(days=3), status="resolved",
             resolved_at=now - timedelta(days=1))  # 300.00 until a day ago
    mismatch(stores["S1"], skus["TV"], 0, kind="financial_variance", drift="cost_mismatch",
             value_at_risk=Decimal("999"), opened_at=now - timedelta(days=3))  # not a snapshot mismatch

    two_days_ago = Window(now - timedelta(days=3), now - timedelta(days=2))
    assert measure("variance_value_at_risk", Scope(), two_days_ago).reading.value == Decimal("315.00")
    now_reading = measure("variance_value_at_risk", Scope(), Window(now - timedelta(hours=1), now)).reading
    assert (now_reading.value, now_reading.sample) == (Decimal("15.00"), 1)
    assert "kind=snapshot_mismatch" in now_reading.records_url
    at_s2 = measure("variance_value_at_risk", Scope.of(locations=[stores["S2"].pk]), Window(None, now)).reading
    assert at_s2.value == Decimal("0")


# --- the views ------------------------------------------------------------------------

def test_the_page_for_a_planner(client, cases):
    client.force_login(make_user(Role.PLANNER))
    response = client.get(reverse("variances"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Operational (on-hand snapshots)" in html and "Financial (ERP valuation snapshots)" in html
    assert "Unit-of-measure error" in html and "600.00" in html
    assert "Snapshot variance value at risk" in html and "no data" in html  # nothing rolled up yet


def test_the_tile_and_trend_read_the_rollup(client, cases):
    rollups.roll_day(rollups.utc_today())
    client.force_login(make_user(Role.FINANCE))
    html = client.get(reverse("variances")).content.decode()
    assert "641" in html  # 600 + 35 + 6 at the end of today: the tile in the metric's unit
    assert "data-figure=" in html


def test_a_filter_is_applied_in_place_and_a_bad_one_named(client, cases):
    client.force_login(make_user(Role.PLANNER))
    fragment = client.get(reverse("variances"), {"region": "SOUTH"}, HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="variance-body").content.decode()
    assert fragment.lstrip().startswith('<div id="variance-body">')
    assert "S9" in fragment and ">S2<" not in fragment
    bad = client.get(reverse("variances"), {"location": "NOPE"}).content.decode()
    assert "Location: No location &#x27;NOPE&#x27; in your scope." in bad


def test_the_store_managers_page_holds_only_their_store(client, cases, estate):
    stores, _ = estate
    client.force_login(make_user(Role.STORE_MANAGER, locations=[stores["S9"]]))
    html = client.get(reverse("variances")).content.decode()
    assert "S9" in html and ">S1<" not in html and ">S2<" not in html


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_each_table_exports_as_csv_with_the_filters(client, cases, estate):
    stores, skus = estate
    count(stores["S1"], skus["MILK"], -20)
    client.force_login(make_user(Role.FINANCE))
    operational = read_csv(client.get(reverse("variances-operational-csv"), {"region": "NORTH"}))
    assert operational[0] == ["location", "region", "category", "drift", "cases", "units_at_risk", "value_at_risk"]
    assert operational[1:] == [["S2", "NORTH", "Electronics", "unit_of_measure", "1", "2", "600.00"],
                               ["S1", "NORTH", "Dairy", "timing_lag", "2", "15", "35.00"]]
    financial = read_csv(client.get(reverse("variances-financial-csv")))
    assert financial[1][:4] == ["S1", "NORTH", "Electronics", "cost_mismatch"]
    counts = read_csv(client.get(reverse("variances-counts-csv")))
    assert counts[1][:3] == ["S1", "MILK", "Dairy"] and counts[1][7] == "-20"
    bad = client.get(reverse("variances-counts-csv"), {"drift": "gremlins"})
    assert bad.status_code == 400 and "drift:" in bad.content.decode()
