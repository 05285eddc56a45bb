"""The inventory metrics of the registry (inventory.metrics), each on small
hand-built data whose right value is known: no data is None (never 0% or
100%), the scope narrows, the window is half-open (since <= t < until), and
the records URL lists the records behind the number."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

import pytest

from controltower.metrics import Scope, Window, get, measure
from controltower.models import Role
from inventory import ledger
from inventory.masterdata import import_skus
from inventory.models import BarcodeClash
from inventory.ledger.repair import replay_rejections
from tests.controltower.factories import make_user
from tests.inventory.factories import (
    LocationFactory,
    PositionFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)
from tests.records import records_behind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)
EVER = Window(since=None, until=T0 + timedelta(days=3650))
ESTATE = Scope()


def event(txn, type_, location, sku, quantity, occurred_at, **extra):
    return {"transaction_id": txn, "type": type_, "location": location.code, "sku": sku.code,
            "quantity": quantity, "occurred_at": occurred_at.isoformat(), **extra}


def post(source, events, received_at):
    return ledger.ingest_events(source, events, received_at=received_at).counts


def records(client, url):
    """The records behind a records URL, as an admin reads them (tests.records)."""
    return records_behind(client, url, make_user(Role.ADMIN, username="records-admin"))


class TestItemMasterCompleteness:
    def test_share_of_active_skus_with_cost_category_base_unit_and_sound_conversions(self, client):
        SKUFactory(code="GOOD")
        UnitConversionFactory(sku=SKUFactory(code="GOOD-CASE"), unit="CS12", factor=12)
        SKUFactory(code="NO-COST", unit_cost=Decimal("0"))
        SKUFactory(code="NO-CATEGORY", category="")
        UnitConversionFactory(sku=SKUFactory(code="ZERO-CASE"), unit="CS6", factor=0)
        UnitConversionFactory(sku=SKUFactory(code="EA-IS-TWO"), unit="EA", factor=2)
        SKUFactory(code="OLD", unit_cost=Decimal("0"), active=False)  # not active: not counted

        measured = measure("item_master_completeness", ESTATE, EVER)
        assert measured.value == Decimal(200) / 6  # GOOD and GOOD-CASE of six active SKUs
        assert measured.reading.sample == 6
        assert measured.reading.detail == {"complete": 2, "incomplete": 4}
        listed = records(client, measured.reading.records_url)
        assert sorted((row["SKU"], row["Item master check"]) for row in listed) == [
            ("EA-IS-TWO", "a conversion the item master refuses"), ("GOOD", "complete"), ("GOOD-CASE", "complete"),
            ("NO-CATEGORY", "no category"), ("NO-COST", "no unit cost"),
            ("ZERO-CASE", "a conversion the item master refuses"),
        ]

    def test_over_locations_it_reads_the_skus_they_carry(self, client):
        good, no_cost = SKUFactory(code="GOOD"), SKUFactory(code="NO-COST", unit_cost=Decimal("0"))
        SKUFactory(code="NO-CATEGORY", category="")  # carried nowhere: only the estate counts it
        store, other, empty = LocationFactory(code="S001"), LocationFactory(code="S002"), LocationFactory(code="S003")
        PositionFactory(location=store, sku=good)
        PositionFactory(location=store, sku=no_cost)
        PositionFactory(location=other, sku=good)
        at_store = measure("item_master_completeness", Scope.of(locations=[store.pk]), EVER)
        assert (at_store.value, at_store.reading.sample) == (Decimal(50), 2)
        assert measure("item_master_completeness", Scope.of(locations=[other.pk]), EVER).value == Decimal(100)
        assert measure("item_master_completeness", Scope.of(locations=[store.pk, other.pk]), EVER).value == 50
        assert measure("item_master_completeness", ESTATE, EVER).value == Decimal(100) / 3
        assert measure("item_master_completeness", Scope.of(locations=[empty.pk]), EVER).value is None
        listed = records(client, at_store.reading.records_url)
        assert sorted(row["SKU"] for row in listed) == ["GOOD", "NO-COST"]

    def test_no_active_sku_is_no_data(self):
        SKUFactory(code="OLD", active=False)
        measured = measure("item_master_completeness", ESTATE, EVER)
        assert measured.value is None and measured.text == "no data"


class TestDuplicateBarcodes:
    ROW = {"description": "x", "category": "Grocery", "unit_cost": "1.00", "base_unit": "EA", "conversions": ""}

    def test_barcodes_an_import_tried_to_give_a_second_sku(self, client):
        SKUFactory(code="HOLDER").barcodes.create(code="4000000000017")
        report = import_skus([
            self.ROW | {"code": "A", "barcodes": "4000000000017"},  # held by HOLDER in the tower
            self.ROW | {"code": "B", "barcodes": "4000000000024"},
            self.ROW | {"code": "C", "barcodes": "4000000000024;4000000000017"},  # B has it earlier in the file
        ])
        assert [r.code for r in report.refused] == ["A", "C"]
        assert sorted(BarcodeClash.objects.values_list("barcode", "sku_code", "held_by")) == [
            ("4000000000017", "A", "HOLDER"), ("4000000000017", "C", "HOLDER"), ("4000000000024", "C", "B"),
        ]
        measured = measure("duplicate_barcodes", ESTATE, EVER)
        assert (measured.value, measured.reading.sample) == (Decimal(2), 3)  # two barcodes, three refusals
        refused = records(client, measured.reading.records_url)
        assert sorted((r["Barcode"], r["Refused for SKU"]) for r in refused) == [
            ("4000000000017", "A"), ("4000000000017", "C"), ("4000000000024", "C")]

    def test_the_window_counts_refusals_made_in_it(self):
        SKUFactory(code="HOLDER")
        BarcodeClash.objects.create(barcode="1", sku_code="A", held_by="HOLDER", refused_at=T0)
        BarcodeClash.objects.create(barcode="2", sku_code="A", held_by="HOLDER", refused_at=T0 + timedelta(days=1))
        assert measure("duplicate_barcodes", ESTATE, Window(T0, T0 + timedelta(days=1))).value == Decimal(1)
        none = measure("duplicate_barcodes", ESTATE, Window(T0 + timedelta(seconds=1), T0 + timedelta(days=1)))
        assert (none.value, none.text) == (Decimal(0), "0")  # a clean item master is a real zero

    def test_no_item_master_is_no_data(self):
        assert measure("duplicate_barcodes", ESTATE, EVER).value is None

    def test_over_locations_it_counts_clashes_of_the_skus_they_carry(self, client):
        held, other_sku = SKUFactory(code="HOLDER"), SKUFactory(code="ELSEWHERE")
        store, other = LocationFactory(code="S001"), LocationFactory(code="S002")
        PositionFactory(location=store, sku=held)
        PositionFactory(location=other, sku=other_sku)
        BarcodeClash.objects.create(barcode="1", sku_code="NEW", held_by="HOLDER", refused_at=T0)
        BarcodeClash.objects.create(barcode="2", sku_code="ELSEWHERE", held_by="X", refused_at=T0)
        at_store = measure("duplicate_barcodes", Scope.of(locations=[store.pk]), EVER)
        assert (at_store.value, at_store.reading.sample) == (Decimal(1), 1)
        assert measure("duplicate_barcodes", ESTATE, EVER).value == Decimal(2)
        assert [row["Barcode"] for row in records(client, at_store.reading.records_url)] == ["1"]
        # A store carrying nothing has no item master to judge: no data.
        assert measure("duplicate_barcodes", Scope.of(locations=[LocationFactory().pk]), EVER).value is None


class TestConversionConflicts:
    def test_carried_skus_with_a_conversion_the_item_master_refuses(self, client):
        store, other = LocationFactory(code="S001"), LocationFactory(code="S002")
        good, bad = SKUFactory(code="GOOD"), SKUFactory(code="ZERO-CASE")
        UnitConversionFactory(sku=good, unit="CS12", factor=12)
        UnitConversionFactory(sku=bad, unit="CS6", factor=0)
        UnitConversionFactory(sku=SKUFactory(code="EA-IS-TWO"), unit="EA", factor=2)  # carried by nobody
        PositionFactory(location=store, sku=good)
        PositionFactory(location=store, sku=bad)
        PositionFactory(location=other, sku=good)
        at_store = measure("conversion_conflicts", Scope.of(locations=[store.pk]), EVER)
        assert (at_store.value, at_store.reading.sample) == (Decimal(1), 2)
        assert measure("conversion_conflicts", Scope.of(locations=[other.pk]), EVER).value == Decimal(0)
        assert measure("conversion_conflicts", ESTATE, EVER).value == Decimal(2)
        assert [row["SKU"] for row in records(client, at_store.reading.records_url)] == ["ZERO-CASE"]
        assert measure("conversion_conflicts", Scope.of(locations=[LocationFactory().pk]), EVER).value is None


@pytest.fixture
def feeds():
    store, other = LocationFactory(code="S001"), LocationFactory(code="S002")
    sku = SKUFactory(code="SKU1")
    return {"store": store, "other": other, "sku": sku,
            "till": SourceSystemFactory(code="POS-A"), "web": SourceSystemFactory(code="ECOM")}


class TestEventAcceptanceRate:
    def test_taken_over_taken_rejected_and_conflicts_per_source(self, feeds, client):
        till, web, store, sku = feeds["till"], feeds["web"], feeds["store"], feeds["sku"]
        at = T0 - timedelta(minutes=5)
        assert post(till, [event("t1", "receipt", store, sku, 5, at), event("t2", "sale", store, sku, 1, at),
                           event("t3", "sale", store, sku, 1, at),
                           event("t4", "sale", store, sku, 1, at) | {"sku": "NOPE"}],
                    received_at=T0) == {"accepted": 3, "duplicate": 0, "conflict": 0, "rejected": 1}
        # A resend (duplicate) is not counted; a conflict is a refusal.
        assert post(till, [event("t1", "receipt", store, sku, 5, at), event("t2", "sale", store, sku, 2, at)],
                    received_at=T0 + timedelta(minutes=1))["conflict"] == 1
        post(web, [event("w1", "sale", store, sku, 1, at) | {"sku": "NOPE"}], received_at=T0)

        till_only = measure("event_acceptance_rate", Scope.of(sources=[till.pk]), EVER)
        assert till_only.value == Decimal(60)  # 3 taken of 5 received (3 + 1 rejected + 1 conflict)
        assert till_only.reading.sample == 5
        assert till_only.reading.detail == {"accepted": 3, "refused": 2}
        assert measure("event_acceptance_rate", ESTATE, EVER).value == Decimal(50)  # 3 of 6
        assert len(records(client, till_only.reading.records_url)) == 2  # the refusals behind the gap

    def test_the_window_is_half_open_on_the_time_received(self, feeds):
        till, store, sku = feeds["till"], feeds["store"], feeds["sku"]
        at = T0 - timedelta(hours=1)
        post(till, [event("a", "receipt", store, sku, 5, at)], received_at=T0)
        post(till, [event("b", "sale", store, sku, 1, at) | {"sku": "NOPE"}], received_at=T0 + timedelta(hours=1))
        scope = Scope.of(sources=[till.pk])
        assert measure("event_acceptance_rate", scope, Window(T0, T0 + timedelta(hours=1))).value == Decimal(100)
        assert measure("event_acceptance_rate", scope, Window(T0, T0 + timedelta(hours=2))).value == Decimal(50)
        assert measure("event_acceptance_rate", scope,
                       Window(T0 + timedelta(seconds=1), T0 + timedelta(hours=1))).value is None

    def test_a_replayed_rejection_counts_once_as_the_rejection_it_was(self, feeds):
        till, store = feeds["till"], feeds["store"]
        at = T0 - timedelta(minutes=5)
        post(till, [event("ok", "receipt", store, feeds["sku"], 5, at),
                    event("late-sku", "receipt", store, feeds["sku"], 5, at) | {"sku": "NEW1"}], received_at=T0)
        SKUFactory(code="NEW1")
        assert replay_rejections(till)["accepted"] == 1
        measured = measure("event_acceptance_rate", Scope.of(sources=[till.pk]), EVER)
        assert (measured.value, measured.reading.sample) == (Decimal(50), 2)

    def test_no_events_or_no_sources_is_no_data(self, feeds):
        assert measure("event_acceptance_rate", ESTATE, EVER).value is None
        assert measure("event_acceptance_rate", Scope.of(sources=[]), EVER).value is None


class TestSyncLatencyP95:
    def post_latencies(self, source, location, sku, seconds, received_at, prefix):
        events = [event(f"{prefix}{n}", "receipt", location, sku, 1, received_at - timedelta(seconds=s))
                  for n, s in enumerate(seconds)]
        assert post(source, events, received_at)["accepted"] == len(seconds)

    def test_nearest_rank_p95_in_seconds_per_source_and_location(self, feeds, client):
        till, web, store, other, sku = feeds["till"], feeds["web"], feeds["store"], feeds["other"], feeds["sku"]
        self.post_latencies(till, store, sku, range(1, 21), T0, "a")  # 1..20 s: rank 19 of 20
        self.post_latencies(till, other, sku, [500, 600], T0, "b")
        self.post_latencies(web, store, sku, [900], T0, "c")

        at_store = measure("sync_latency_p95", Scope.of(locations=[store.pk], sources=[till.pk]), EVER)
        assert (at_store.value, at_store.reading.sample) == (Decimal(19), 20)
        assert at_store.text == "19 s"
        assert len(records(client, at_store.reading.records_url)) == 20
        # Every location of the till: 22 lines, rank ceil(20.9) = 21: the 500 s line.
        assert measure("sync_latency_p95", Scope.of(sources=[till.pk]), EVER).value == Decimal(500)
        assert measure("sync_latency_p95", ESTATE, EVER).value == Decimal(600)  # rank 22 of 23

    def test_the_same_percentile_per_event_type(self, feeds):
        till, store, sku = feeds["till"], feeds["store"], feeds["sku"]
        self.post_latencies(till, store, sku, range(1, 11), T0, "r")  # receipts 1..10 s
        sales = [event(f"s{n}", "sale", store, sku, 1, T0 - timedelta(seconds=300 + n)) for n in range(3)]
        assert post(till, sales, T0)["accepted"] == 3
        reading = measure("sync_latency_p95", Scope.of(locations=[store.pk]), EVER).reading
        assert reading.detail == {"by_event_type": {"receipt": Decimal(10), "sale": Decimal(302)}}
        assert reading.value == Decimal(302)  # rank 13 of 13

    def test_milliseconds_are_kept(self, feeds):
        self.post_latencies(feeds["till"], feeds["store"], feeds["sku"], [1.5], T0, "m")
        assert measure("sync_latency_p95", ESTATE, EVER).value == Decimal("1.5")

    def test_window_edges_and_no_data(self, feeds):
        self.post_latencies(feeds["till"], feeds["store"], feeds["sku"], [10], T0, "x")
        assert measure("sync_latency_p95", ESTATE, Window(None, T0)).value is None  # received at until: next window
        assert measure("sync_latency_p95", ESTATE, Window(T0, T0 + timedelta(seconds=1))).value == Decimal(10)
        assert measure("sync_latency_p95", Scope.of(locations=[feeds["other"].pk]), EVER).value is None


class TestInventoryAccuracy:
    def test_exact_and_within_tolerance_shares_of_counted_pairs(self, feeds, client):
        till, store, other = feeds["till"], feeds["store"], feeds["other"]
        exact, near, far, elsewhere = (SKUFactory(code=f"C{n}") for n in range(4))
        opening = [event(f"r{n}", "receipt", loc, sku, 50, T0)
                   for n, (loc, sku) in enumerate([(store, exact), (store, near), (store, far), (other, elsewhere)])]
        post(till, opening, received_at=T0 + timedelta(minutes=1))
        counted_at = T0 + timedelta(hours=1)
        post(till, [event("c-exact", "cycle_count", store, exact, 50, counted_at),
                    event("c-near", "cycle_count", store, near, 49, counted_at),  # 1 unit off: within a store's
                    event("c-far", "cycle_count", store, far, 40, counted_at),  # 10 off: beyond
                    event("c-else", "cycle_count", other, elsewhere, 50, counted_at)],
             received_at=counted_at + timedelta(minutes=1))

        scope = Scope.of(locations=[store.pk])
        exact_share = measure("inventory_accuracy_exact", scope, EVER)
        assert (exact_share.value, exact_share.reading.sample) == (Decimal(100) / 3, 3)
        assert measure("inventory_accuracy_tolerance", scope, EVER).value == Decimal(200) / 3
        assert measure("inventory_accuracy_exact", ESTATE, EVER).value == Decimal(50)  # 2 of 4 pairs
        rows = records(client, exact_share.reading.records_url)  # the three counts behind it, one exact
        assert sorted((r["Location"], r["SKU"], r["Exact"]) for r in rows) == [
            (store.code, "C0", "yes"), (store.code, "C1", "no"), (store.code, "C2", "no")]

        # The window is on the count time, half-open.
        assert measure("inventory_accuracy_exact", scope, Window(None, counted_at)).value is None
        assert measure("inventory_accuracy_exact", scope, Window(counted_at, counted_at + timedelta(seconds=1))
                       ).reading.sample == 3

    def test_nothing_counted_is_no_data(self, feeds):
        assert measure("inventory_accuracy_exact", ESTATE, EVER).value is None
        assert measure("inventory_accuracy_tolerance", Scope.of(locations=[]), EVER).value is None


@pytest.mark.parametrize("key", [
    "item_master_completeness", "duplicate_barcodes", "conversion_conflicts", "event_acceptance_rate",
    "sync_latency_p95", "open_transfers", "orders_in_flight", "unposted_returns", "stores_without_target_feed",
    "inventory_accuracy_exact", "inventory_accuracy_tolerance",
])
def test_the_metrics_reference_gives_each_metric_its_registry_definition(key):
    page = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "metrics.md").read_text()
    metric = get(key)
    assert f"### {key}\n\n**{metric.label}.** {metric.definition}\n" in page


class TestSyncLatencyP50:
    def test_the_same_rule_as_p95_at_the_median(self, feeds):
        till, store, other, sku = feeds["till"], feeds["store"], feeds["other"], feeds["sku"]
        events = [event(f"a{n}", "receipt", store, sku, 1, T0 - timedelta(seconds=s)) for n, s in enumerate(range(1, 11))]
        events.append(event("b", "receipt", other, sku, 1, T0 - timedelta(seconds=900)))
        post(till, events, T0)
        at_store = measure("sync_latency_p50", Scope.of(locations=[store.pk]), EVER)
        assert (at_store.value, at_store.reading.sample) == (Decimal(5), 10)  # 1..10 s: rank 5 of 10
        assert measure("sync_latency_p50", ESTATE, EVER).value == Decimal(6)  # rank 6 of 11
        assert measure("sync_latency_p95", ESTATE, EVER).value == Decimal(900)
        assert measure("sync_latency_p50", Scope.of(sources=[feeds["web"].pk]), EVER).value is None


class TestManualAdjustments:
    def test_count_units_and_value_at_cost_without_netting_or_cycle_counts(self, feeds, client):
        till, store, other = feeds["till"], feeds["store"], feeds["other"]
        cheap, dear = SKUFactory(code="CHEAP", unit_cost=Decimal("1.25")), SKUFactory(code="DEAR", unit_cost=Decimal("10"))
        post(till, [
            event("adj-down", "adjustment", store, cheap, -4, T0, reason="SHRINK"),  # 4 units, 5.00
            event("adj-up", "adjustment", store, dear, 2, T0 + timedelta(hours=1), reason="FOUND"),  # 2 units, 20.00
            event("adj-other", "adjustment", other, dear, -1, T0, reason="SHRINK"),
            event("count", "cycle_count", store, dear, 7, T0),  # a count is no adjustment
            event("adj-late", "adjustment", store, dear, -3, T0 + timedelta(days=1), reason="SHRINK"),  # next day
        ], received_at=T0 + timedelta(days=2))
        day = Window(T0 - timedelta(hours=9), T0 + timedelta(hours=15))
        scope = Scope.of(locations=[store.pk])

        volume = measure("manual_adjustment_volume", scope, day)
        assert (volume.value, volume.reading.sample) == (Decimal(2), 2)
        assert volume.reading.detail == {"units": 6, "value_at_cost": Decimal("25.00")}
        value = measure("manual_adjustment_value", scope, day)
        assert (value.value, value.text) == (Decimal("25.00"), "25.00")
        assert value.reading.detail == {"adjustments": 2, "units": 6}
        listed = records(client, volume.reading.records_url)
        assert sorted(e["Transaction"] for e in listed) == ["adj-down", "adj-up"]
        assert measure("manual_adjustment_volume", ESTATE, day).value == Decimal(3)
        assert measure("manual_adjustment_value", ESTATE, EVER).value == Decimal("65.00")

    def test_no_adjustment_is_zero_and_no_location_is_no_data(self, feeds):
        assert measure("manual_adjustment_volume", ESTATE, EVER).value == Decimal(0)
        assert measure("manual_adjustment_value", Scope.of(locations=[]), EVER).value is None


class TestTransferLeadTime:
    def ship(self, source, reference, to, sku, shipped, received=None, quantity=6):
        dc = LocationFactory(code=f"DC-{reference}")
        lines = [event(f"{reference}-out", "transfer_out", dc, sku, quantity, shipped,
                       to_location=to.code, reference=reference)]
        if received is not None:
            lines.append(event(f"{reference}-in", "transfer_in", to, sku, quantity, received, reference=reference))
        post(source, lines, received_at=T0 + timedelta(days=10))

    def test_median_of_in_minus_out_of_transfers_received_in_the_window_and_open_ones_by_age(self, feeds):
        till, store, other, sku = feeds["till"], feeds["store"], feeds["other"], feeds["sku"]
        day_end = T0 + timedelta(days=1)
        for n, hours in enumerate((10, 20, 30)):  # received on T0's day after 10, 20, 30 h
            self.ship(till, f"TR{n}", store, sku, T0 - timedelta(hours=hours), received=T0)
        self.ship(till, "TR-OTHER", other, sku, T0 - timedelta(hours=2), received=T0)
        self.ship(till, "TR-NEXT", store, sku, T0 - timedelta(hours=50), received=day_end + timedelta(hours=1))
        self.ship(till, "TR-OPEN", store, sku, T0 - timedelta(days=4))
        scope, window = Scope.of(locations=[store.pk]), Window(T0 - timedelta(hours=9), day_end - timedelta(hours=9))

        measured = measure("transfer_lead_time", scope, window)
        assert (measured.value, measured.reading.sample) == (Decimal(20 * 3600), 3)
        assert measured.text == "20.0 h"
        # At the window's end TR-NEXT (shipped 50 h before T0) is still in transit, as is TR-OPEN.
        assert measured.reading.detail == {"open_under_1_day": 0, "open_1_to_3_days": 1, "open_3_to_7_days": 1,
                                           "open_over_7_days": 0}
        assert measure("transfer_lead_time", ESTATE, window).value == Decimal(10 * 3600)  # rank 2 of 4

    def test_nothing_received_is_no_data(self, feeds):
        self.ship(feeds["till"], "TR-OPEN", feeds["store"], feeds["sku"], T0)
        measured = measure("transfer_lead_time", ESTATE, Window(None, T0 + timedelta(hours=1)))
        assert measured.value is None and measured.reading.sample == 0
        assert measured.reading.detail["open_under_1_day"] == 1
        assert measure("transfer_lead_time", ESTATE, EVER).reading.detail["open_over_7_days"] == 1
