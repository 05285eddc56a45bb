"""Cycle count variances (inventory.counts): stored per count at posting,
kept right when late lines arrive, accuracy per location from them, and the
API that reads them, narrowed to what a person may see."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.test import override_settings

from controltower.models import Role
from inventory import counts, ledger
from inventory.models import CountVariance, Location, Position
from tests.controltower.factories import make_user, person_token, source_token
from tests.inventory.factories import LocationFactory, RegionFactory, SKUFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)


def event(txn, type_, location, sku, quantity, minutes, **extra):
    return {
        "transaction_id": txn, "type": type_, "location": location.code, "sku": sku.code,
        "quantity": quantity, "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(), **extra,
    }


def post(source, *events):
    report = ledger.ingest_events(source, list(events))
    assert report.counts["accepted"] == len(events), report.results


def variance(txn):
    row = CountVariance.objects.get(event__transaction_id=txn)
    return row.record, row.variance, row.within_tolerance


@pytest.fixture
def skus():
    return [SKUFactory(code=f"SKU{n}", unit_cost=Decimal("2.00")) for n in range(1, 5)]


class TestStoredVariance:
    def test_each_count_stores_counted_minus_the_record_as_of_its_time(self, pos, store, sku):
        post(pos,
             event("r", "receipt", store, sku, 10, 0),
             event("s", "sale", store, sku, 1, 10),
             event("c", "cycle_count", store, sku, 6, 30),
             event("s2", "sale", store, sku, 2, 40))  # after the count: on top of it, not in its record
        row = CountVariance.objects.get(event__transaction_id="c")
        assert (row.location, row.sku, row.state, row.counted_at, row.counted) == (store, sku, "available",
                                                                                   T0 + timedelta(minutes=30), 6)
        assert (row.record, row.variance, row.within_tolerance) == (9, -3, False)
        assert Position.objects.get(location=store, sku=sku).available == 4

    def test_a_later_count_is_compared_with_the_earlier_count_and_the_lines_since(self, pos, store, sku):
        post(pos, event("r", "receipt", store, sku, 50, 0), event("c1", "cycle_count", store, sku, 40, 10))
        post(pos, event("s", "sale", store, sku, 5, 20), event("c2", "cycle_count", store, sku, 35, 30))
        assert variance("c1") == (50, -10, False)
        assert variance("c2") == (35, 0, True)

    def test_a_count_with_nothing_on_record_before_it_has_no_variance(self, pos, store, sku):
        """The opening balance a migration loads: nothing to compare it with."""
        post(pos, event("open", "cycle_count", store, sku, 40, 0, reason="OPENING_BALANCE"))
        assert variance("open") == (None, None, None)

    def test_a_late_sale_before_the_count_changes_its_variance_not_the_position(self, pos, store, sku):
        post(pos, event("r", "receipt", store, sku, 10, 0), event("c", "cycle_count", store, sku, 7, 30))
        assert variance("c") == (10, -3, False)
        # An offline till replays a sale of 3 that happened before the count.
        post(pos, event("late", "sale", store, sku, 3, 20))
        assert variance("c") == (7, 0, True)
        assert Position.objects.get(location=store, sku=sku).available == 7
        assert ledger.rebuild_positions().differences == []

    def test_a_late_line_changes_only_the_count_that_holds_it(self, pos, store, sku):
        post(pos,
             event("r", "receipt", store, sku, 20, 0),
             event("c1", "cycle_count", store, sku, 20, 10),
             event("c2", "cycle_count", store, sku, 20, 30))
        post(pos, event("late", "sale", store, sku, 2, 20))  # between the two counts
        assert variance("c1") == (20, 0, True)
        assert variance("c2") == (18, 2, False)  # 2 of 18: beyond 1 unit and 5%

    def test_a_count_arriving_late_changes_the_record_of_the_next_count(self, pos, store, sku):
        post(pos, event("r", "receipt", store, sku, 20, 0), event("c2", "cycle_count", store, sku, 15, 30))
        assert variance("c2") == (20, -5, False)
        post(pos, event("c1", "cycle_count", store, sku, 16, 10))
        assert variance("c1") == (20, -4, False)
        assert variance("c2") == (16, -1, True)
        assert Position.objects.get(location=store, sku=sku).available == 15

    def test_a_count_of_the_destination_holds_the_transfer_arriving_late(self, pos, store, sku):
        dc = LocationFactory(code="DC1", kind=Location.Kind.DC)
        post(pos, event("r", "receipt", dc, sku, 100, 0), event("c", "cycle_count", store, sku, 10, 30))
        assert variance("c") == (None, None, None)
        post(pos,
             event("out", "transfer_out", dc, sku, 10, 5, to_location=store.code, reference="T1"),
             event("in", "transfer_in", store, sku, 10, 20, reference="T1"))
        assert variance("c") == (10, 0, True)

    def test_repair_recomputes_every_variance(self, pos, store, sku):
        post(pos, event("r", "receipt", store, sku, 10, 0), event("c", "cycle_count", store, sku, 7, 30))
        CountVariance.objects.all().delete()
        ledger.rebuild_positions(repair=True)
        assert variance("c") == (10, -3, False)


class TestTolerance:
    @pytest.mark.parametrize("kind, record, counted, within", [
        ("store", 10, 9, True),  # one unit off
        ("store", 10, 8, False),  # 2 of 10: beyond 1 unit and 5%
        ("store", 60, 57, True),  # 3 of 60: 5%
        ("store", 60, 56, False),
        ("dc", 400, 398, True),  # 0.5%
        ("dc", 400, 397, False),
        ("dc", 10, 9, False),  # no units allowance at the DC
    ])
    def test_units_or_percent_of_the_record(self, pos, sku, kind, record, counted, within):
        location = LocationFactory(code="L1", kind=kind)
        post(pos, event("r", "receipt", location, sku, record, 0), event("c", "cycle_count", location, sku, counted, 30))
        assert variance("c") == (record, counted - record, within)

    @override_settings(RECONCILIATION={"count_tolerance": {"store": {"units": 0, "percent": "0"}}})
    def test_the_tolerance_is_a_setting(self, pos, store, sku):
        post(pos, event("r", "receipt", store, sku, 10, 0), event("c", "cycle_count", store, sku, 9, 30))
        assert variance("c") == (10, -1, False)


class TestAccuracy:
    def count(self, pos, location, sku, record, counted, minutes, txn):
        post(pos, event(f"{txn}-r", "receipt", location, sku, record, minutes - 1),
             event(txn, "cycle_count", location, sku, counted, minutes))

    def test_exact_and_within_tolerance_per_pair_never_netting(self, pos, store, skus):
        self.count(pos, store, skus[0], 10, 10, 10, "a")  # exact
        self.count(pos, store, skus[1], 10, 11, 10, "b")  # +1: within tolerance, not exact
        self.count(pos, store, skus[2], 10, 7, 10, "c")  # -3 ...
        self.count(pos, store, skus[3], 10, 13, 10, "d")  # ... and +3: they never net to a match
        figure = counts.accuracy([store.pk])[store.pk]
        assert (figure.counted, figure.exact, figure.within_tolerance) == (4, 1, 2)
        assert figure.share_exact == Decimal(25) and figure.share_within_tolerance == Decimal(50)

    def test_a_pair_is_judged_by_its_latest_count_in_the_period(self, pos, store, sku):
        self.count(pos, store, sku, 10, 7, 10, "first")  # wrong ...
        post(pos, event("second", "cycle_count", store, sku, 7, 60))  # ... then right: the record is 7
        assert counts.accuracy([store.pk])[store.pk].exact == 1
        until_second = counts.accuracy([store.pk], until=T0 + timedelta(minutes=30))[store.pk]
        assert (until_second.counted, until_second.exact) == (1, 0)

    def test_nothing_counted_is_no_data_not_zero(self, pos, store, sku):
        other = LocationFactory(code="S-EMPTY")
        self.count(pos, store, sku, 10, 10, 10, "a")
        post(pos, event("open", "cycle_count", other, sku, 5, 0))  # an opening balance is no count to judge
        figures = counts.accuracy([store.pk, other.pk], since=T0)
        assert figures[store.pk].share_exact == Decimal(100)
        assert figures[other.pk].counted == 0
        assert figures[other.pk].share_exact is None and figures[other.pk].share_within_tolerance is None
        later = counts.accuracy([store.pk], since=T0 + timedelta(days=1))[store.pk]
        assert later.share_exact is None


@pytest.fixture
def estate(pos, sku):
    north, south = RegionFactory(code="NORTH"), RegionFactory(code="SOUTH")
    a1, b1 = LocationFactory(code="A1", region=north), LocationFactory(code="B1", region=south)
    post(pos,
         event("ra", "receipt", a1, sku, 10, 0), event("ca", "cycle_count", a1, sku, 10, 30),
         event("rb", "receipt", b1, sku, 10, 0), event("cb", "cycle_count", b1, sku, 6, 30))
    return {"A1": a1, "B1": b1}


def get(client, url, user=None, key=None, **params):
    key = key or person_token(user)
    return client.get(url, params, HTTP_AUTHORIZATION=f"Token {key}")


class TestApi:
    def test_count_variances_are_narrowed_to_the_persons_stores(self, client, estate):
        manager = make_user(Role.STORE_MANAGER, [estate["B1"]], username="b-manager")
        response = get(client, "/api/v1/count-variances", manager)
        assert response.status_code == 200
        [row] = response.json()["results"]
        assert (row["location"], row["transaction_id"], row["counted"], row["record"], row["variance"],
                row["value"], row["within_tolerance"]) == ("B1", "cb", 6, 10, -4, "-10.00", False)
        planner = make_user(Role.PLANNER, username="planner")
        assert {r["location"] for r in get(client, "/api/v1/count-variances", planner).json()["results"]} == {
            "A1", "B1"}
        beyond = get(client, "/api/v1/count-variances", planner, beyond_tolerance="true").json()["results"]
        assert [r["location"] for r in beyond] == ["B1"]

    def test_accuracy_per_location_in_scope(self, client, estate):
        lead = make_user(Role.REGIONAL_OPS, region=estate["A1"].region, username="north-lead")
        response = get(client, "/api/v1/accuracy", lead)
        assert response.status_code == 200
        assert response.json()["results"] == [{
            "location": "A1", "kind": "store", "since": None, "until": None, "counted_pairs": 1, "exact": 1,
            "within_tolerance": 1, "accuracy": "100.00", "accuracy_within_tolerance": "100.00",
        }]
        planner = make_user(Role.PLANNER, username="planner")
        rows = get(client, "/api/v1/accuracy", planner, since=(T0 + timedelta(days=1)).isoformat()).json()["results"]
        assert [(r["location"], r["counted_pairs"], r["accuracy"]) for r in rows] == [("A1", 0, None), ("B1", 0, None)]
        b1 = get(client, "/api/v1/accuracy", planner, location="B1").json()["results"]
        assert [(r["location"], r["accuracy"], r["accuracy_within_tolerance"]) for r in b1] == [("B1", "0.00", "0.00")]

    def test_a_bad_period_is_a_400_naming_the_parameter(self, client, estate):
        planner = make_user(Role.PLANNER, username="planner")
        response = get(client, "/api/v1/accuracy", planner, since="yesterday")
        assert response.status_code == 400 and "since" in response.json()["errors"]
        response = get(client, "/api/v1/accuracy", planner, since=T0.isoformat(), until=T0.isoformat())
        assert response.status_code == 400 and "until" in response.json()["errors"]

    def test_the_positions_api_carries_the_latest_count_variance(self, client, estate, pos, sku):
        manager = make_user(Role.STORE_MANAGER, [estate["B1"]], username="b-manager")
        [row] = get(client, "/api/v1/positions", manager).json()["results"]
        assert (row["last_count_variance"], row["last_counted_at"]) == (-4, "2026-11-20T09:30:00Z")

    def test_a_source_system_reads_no_counts(self, client, estate, pos):
        for url in ("/api/v1/count-variances", "/api/v1/accuracy"):
            assert get(client, url, key=source_token(pos)).status_code == 403

    def test_both_are_in_the_openapi_schema(self, client):
        paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
        assert {"/api/v1/count-variances", "/api/v1/accuracy"} <= set(paths)
        names = {p["name"] for p in paths["/api/v1/accuracy"]["get"]["parameters"]}
        assert {"location", "since", "until", "limit", "offset"} <= names
