"""The ledger rules of DOMAIN.md, through inventory.ledger.ingest_events."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from inventory import ledger
from inventory.models import (
    CountAnchor,
    CountVariance,
    InventoryEvent,
    Position,
    RejectedEvent,
    SourceSystem,
    Transfer,
)
from tests.inventory.factories import (
    BarcodeFactory,
    LocationFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)


def at(minutes):
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def store():
    return LocationFactory(code="S001")


@pytest.fixture
def sku():
    return SKUFactory(code="SKU1")


@pytest.fixture
def pos():
    return SourceSystemFactory(code="POS-1", kind=SourceSystem.Kind.POS)


def event(txn, type_, store, sku, quantity, minutes, **extra):
    return {
        "transaction_id": txn,
        "type": type_,
        "location": store.code,
        "sku": sku.code,
        "quantity": quantity,
        "occurred_at": at(minutes),
        **extra,
    }


def position(store, sku):
    return Position.objects.get(location=store, sku=sku)


def statuses(report):
    return [r.status for r in report.results]


def assert_matches_ledger():
    assert ledger.rebuild_positions().differences == []


class TestMoves:
    def test_receipt_then_sale(self, pos, store, sku):
        report = ledger.ingest_events(pos, [
            event("r1", "receipt", store, sku, 10, 0, reference="PO-1"),
            event("s1", "sale", store, sku, 3, 10),
        ])
        assert statuses(report) == ["accepted", "accepted"]
        assert position(store, sku).available == 7
        assert_matches_ledger()

    def test_flagged_receipt_lands_in_pending_inspection(self, pos, store, sku):
        ledger.ingest_events(pos, [event("r1", "receipt", store, sku, 4, 0, to_state="pending_inspection")])
        p = position(store, sku)
        assert (p.available, p.pending_inspection) == (0, 4)

    def test_order_flow_reserve_pick_pack_stage_fulfil(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("r", "receipt", store, sku, 10, 0),
            event("a", "reserve", store, sku, 4, 1),
            event("b", "pick", store, sku, 4, 2),
            event("c", "pack", store, sku, 4, 3),
            event("d", "stage", store, sku, 3, 4),
            event("e", "fulfil", store, sku, 3, 5),
        ])
        p = position(store, sku)
        assert (p.available, p.reserved, p.picked, p.packed, p.staged) == (6, 0, 0, 1, 0)
        assert p.on_hand == 7
        assert_matches_ledger()

    def test_release_returns_reserved_stock(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("r", "receipt", store, sku, 10, 0),
            event("a", "reserve", store, sku, 4, 1),
            event("b", "release", store, sku, 3, 2),
        ])
        p = position(store, sku)
        assert (p.available, p.reserved, p.atp) == (9, 1, 9)

    def test_return_never_goes_straight_to_available(self, pos, store, sku):
        report = ledger.ingest_events(pos, [event("x", "return", store, sku, 2, 0, to_state="available")])
        assert report.results[0].status == "rejected"
        assert "to_state" in report.results[0].errors
        ledger.ingest_events(pos, [event("y", "return", store, sku, 2, 0)])
        assert position(store, sku).returned == 2

    def test_disposition_and_write_off(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("r", "return", store, sku, 5, 0),
            event("d1", "disposition", store, sku, 2, 1, to_state="available"),
            event("d2", "disposition", store, sku, 1, 2, to_state="damaged"),
            event("d3", "disposition", store, sku, 1, 3, to_state="written_off"),
            event("w", "write_off", store, sku, 1, 4),
        ])
        p = position(store, sku)
        assert (p.returned, p.available, p.damaged) == (1, 2, 0)
        assert InventoryEvent.objects.get(transaction_id="d3").reason == "written_off"
        assert_matches_ledger()

    def test_transfer_keeps_a_transfer_record(self, pos, store, sku):
        dc = LocationFactory(code="DC1", kind="dc")
        ledger.ingest_events(pos, [
            event("r", "receipt", dc, sku, 20, 0),
            event("o", "transfer_out", dc, sku, 12, 1, to_location=store.code, reference="TR-9"),
            event("i", "transfer_in", store, sku, 10, 60, reference="TR-9"),
        ])
        assert position(dc, sku).available == 8
        p = position(store, sku)
        assert (p.in_transit, p.available, p.on_hand) == (2, 10, 10)
        transfer = Transfer.objects.get(reference="TR-9", sku=sku)
        assert (transfer.from_location, transfer.to_location) == (dc, store)
        assert (transfer.quantity_shipped, transfer.quantity_received, transfer.outstanding) == (12, 10, 2)
        assert_matches_ledger()

    def test_adjustment_is_signed_and_needs_a_reason(self, pos, store, sku):
        report = ledger.ingest_events(pos, [
            event("a1", "adjustment", store, sku, -3, 0, reason="SHRINK"),
            event("a2", "adjustment", store, sku, 5, 1, reason="FOUND", to_state="damaged"),
            event("a3", "adjustment", store, sku, 5, 2),
        ])
        assert statuses(report) == ["accepted", "accepted", "rejected"]
        assert report.results[2].errors == {"reason": ["An adjustment needs a reason code."]}
        p = position(store, sku)
        assert (p.available, p.damaged) == (-3, 5)

    def test_atp_is_available_minus_safety_stock_never_negative(self, pos, store, sku):
        ledger.ingest_events(pos, [event("r", "receipt", store, sku, 5, 0)])
        p = position(store, sku)
        p.safety_stock = 3
        assert p.atp == 2
        p.safety_stock = 9
        assert p.atp == 0


class TestUnitsAndBarcodes:
    def test_case_quantity_is_stored_in_base_units(self, pos, store, sku):
        UnitConversionFactory(sku=sku, unit="CS12", factor=12)
        ledger.ingest_events(pos, [event("r", "receipt", store, sku, 2, 0, unit="CS12")])
        line = InventoryEvent.objects.get(transaction_id="r")
        assert (line.quantity, line.entered_quantity, line.entered_unit) == (24, 2, "CS12")
        assert position(store, sku).available == 24

    def test_barcode_resolves_the_sku(self, pos, store, sku):
        BarcodeFactory(code="4006381333931", sku=sku)
        raw = event("r", "receipt", store, sku, 1, 0)
        del raw["sku"]
        raw["barcode"] = "4006381333931"
        assert statuses(ledger.ingest_events(pos, [raw])) == ["accepted"]
        assert InventoryEvent.objects.get(transaction_id="r").sku == sku

    def test_fraction_of_a_case_must_be_whole_base_units(self, pos, store, sku):
        UnitConversionFactory(sku=sku, unit="CS12", factor=12)
        report = ledger.ingest_events(pos, [
            event("ok", "receipt", store, sku, "0.5", 0, unit="CS12"),
            event("bad", "receipt", store, sku, "0.3", 0, unit="CS12"),
            event("each", "sale", store, sku, "1.5", 0),
        ])
        assert statuses(report) == ["accepted", "rejected", "rejected"]
        assert "quantity" in report.results[1].errors
        assert "not a whole number" in report.results[2].errors["quantity"][0]
        assert position(store, sku).available == 6


class TestIdempotency:
    def test_same_key_same_content_is_a_duplicate_not_applied_again(self, pos, store, sku):
        first = ledger.ingest_events(pos, [event("s1", "receipt", store, sku, 5, 0)])
        again = ledger.ingest_events(pos, [event("s1", "receipt", store, sku, 5, 0)])
        assert statuses(first) == ["accepted"]
        assert statuses(again) == ["duplicate"]
        assert position(store, sku).available == 5
        assert InventoryEvent.objects.count() == 1

    def test_same_key_different_content_is_a_conflict_kept_for_a_case(self, pos, store, sku):
        ledger.ingest_events(pos, [event("s1", "receipt", store, sku, 5, 0)])
        report = ledger.ingest_events(pos, [event("s1", "receipt", store, sku, 6, 0)])
        assert statuses(report) == ["conflict"]
        assert "transaction_id" in report.results[0].errors
        assert position(store, sku).available == 5
        kept = RejectedEvent.objects.get(kind=RejectedEvent.Kind.CONFLICT)
        assert kept.transaction_id == "s1"

    def test_duplicate_inside_one_batch(self, pos, store, sku):
        report = ledger.ingest_events(pos, [
            event("s1", "receipt", store, sku, 5, 0),
            event("s1", "receipt", store, sku, 5, 0),
            event("s1", "receipt", store, sku, 7, 0),
        ])
        assert statuses(report) == ["accepted", "duplicate", "conflict"]
        assert report.counts == {"accepted": 1, "duplicate": 1, "conflict": 1, "rejected": 0}

    def test_same_transaction_id_from_another_source_is_a_different_event(self, pos, store, sku):
        erp = SourceSystemFactory(code="ERP", kind=SourceSystem.Kind.ERP)
        ledger.ingest_events(pos, [event("1", "receipt", store, sku, 5, 0)])
        report = ledger.ingest_events(erp, [event("1", "receipt", store, sku, 5, 0)])
        assert statuses(report) == ["accepted"]
        assert position(store, sku).available == 10


class TestSalesAreFacts:
    def test_sale_beyond_stock_is_posted_and_available_goes_negative(self, pos, store, sku):
        report = ledger.ingest_events(pos, [
            event("r", "receipt", store, sku, 2, 0),
            event("s", "sale", store, sku, 5, 1),
        ])
        assert statuses(report) == ["accepted", "accepted"]
        p = position(store, sku)
        assert p.available == -3
        assert p.negative_available
        assert p.atp == 0


class TestCycleCounts:
    def test_count_sets_the_state(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("r", "receipt", store, sku, 10, 0),
            event("c", "cycle_count", store, sku, 7, 30),
            event("s", "sale", store, sku, 2, 60),
        ])
        assert position(store, sku).available == 5
        assert_matches_ledger()

    def test_late_event_before_the_count_changes_variance_not_position(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("r", "receipt", store, sku, 10, 0),
            event("c", "cycle_count", store, sku, 7, 30),
        ])
        count = CountVariance.objects.get(event__transaction_id="c")
        assert (count.record, count.variance) == (10, -3)
        # An offline till replays a sale of 2 that happened before the count.
        ledger.ingest_events(pos, [event("late", "sale", store, sku, 2, 20)])
        assert position(store, sku).available == 7
        count.refresh_from_db()
        assert (count.record, count.variance) == (8, -1)
        assert_matches_ledger()

    def test_late_event_after_the_count_applies_on_top(self, pos, store, sku):
        ledger.ingest_events(pos, [event("c", "cycle_count", store, sku, 7, 30)])
        ledger.ingest_events(pos, [event("late", "sale", store, sku, 2, 45)])
        assert position(store, sku).available == 5

    def test_count_arriving_after_later_events_keeps_them(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("r", "receipt", store, sku, 10, 0),
            event("s", "sale", store, sku, 1, 50),
        ])
        # The count happened at minute 30 but arrives now: the sale at 50 is on top.
        ledger.ingest_events(pos, [event("c", "cycle_count", store, sku, 8, 30)])
        assert position(store, sku).available == 7
        assert_matches_ledger()

    def test_older_count_arriving_late_changes_nothing(self, pos, store, sku):
        ledger.ingest_events(pos, [event("c2", "cycle_count", store, sku, 8, 60)])
        ledger.ingest_events(pos, [event("c1", "cycle_count", store, sku, 3, 30)])
        assert position(store, sku).available == 8
        anchor = CountAnchor.objects.get(location=store, sku=sku, state="available")
        assert anchor.counted_quantity == 8
        assert_matches_ledger()

    def test_newer_count_moves_the_anchor(self, pos, store, sku):
        ledger.ingest_events(pos, [event("c1", "cycle_count", store, sku, 3, 30)])
        ledger.ingest_events(pos, [
            event("s", "sale", store, sku, 1, 40),
            event("c2", "cycle_count", store, sku, 8, 60),
            event("r", "receipt", store, sku, 2, 70),
        ])
        assert position(store, sku).available == 10
        anchor = CountAnchor.objects.get(location=store, sku=sku, state="available")
        assert (anchor.counted_quantity, anchor.counted_at) == (8, T0 + timedelta(minutes=60))
        assert anchor.event == InventoryEvent.objects.get(transaction_id="c2")
        assert_matches_ledger()

    def test_count_only_covers_its_own_state(self, pos, store, sku):
        ledger.ingest_events(pos, [event("c", "cycle_count", store, sku, 7, 30)])
        ledger.ingest_events(pos, [event("late", "damage", store, sku, 2, 20)])
        p = position(store, sku)
        # available was counted after the damage, damaged was not counted.
        assert (p.available, p.damaged) == (7, 2)
        assert_matches_ledger()

    def test_count_and_events_in_one_batch(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("s-after", "sale", store, sku, 1, 40),
            event("c", "cycle_count", store, sku, 9, 30),
            event("s-before", "sale", store, sku, 4, 10),
        ])
        assert position(store, sku).available == 8
        assert_matches_ledger()


class TestBadInput:
    @pytest.mark.parametrize(
        "change, field",
        [
            ({"location": "NOPE"}, "location"),
            ({"sku": "NOPE"}, "sku"),
            ({"type": "teleport"}, "type"),
            ({"unit": "PALLET"}, "unit"),
            ({"quantity": -2}, "quantity"),
            ({"quantity": "abc"}, "quantity"),
            ({"occurred_at": None}, "occurred_at"),
            ({"occurred_at": "2026-11-20T09:00:00"}, "occurred_at"),
            ({"occurred_at": "yesterday"}, "occurred_at"),
            ({"transaction_id": ""}, "transaction_id"),
        ],
    )
    def test_rejected_with_field_error_and_rest_of_batch_goes_in(self, pos, store, sku, change, field):
        bad = {**event("bad", "sale", store, sku, 1, 0), **change}
        report = ledger.ingest_events(pos, [event("good", "receipt", store, sku, 3, 0), bad])
        assert statuses(report) == ["accepted", "rejected"]
        assert field in report.results[1].errors
        assert position(store, sku).available == 3
        kept = RejectedEvent.objects.get()
        assert kept.cause == field
        assert kept.payload == bad

    def test_event_in_the_future_is_rejected(self, pos, store, sku):
        future = (datetime.now(dt_timezone.utc) + timedelta(hours=2)).isoformat()
        report = ledger.ingest_events(pos, [{**event("f", "sale", store, sku, 1, 0), "occurred_at": future}])
        assert report.results[0].errors == {"occurred_at": ["Is in the future."]}

    def test_not_an_object(self, pos):
        report = ledger.ingest_events(pos, ["nope"])
        assert report.results[0].status == "rejected"
        assert "non_field_errors" in report.results[0].errors

    def test_batch_limit(self, pos, settings):
        settings.INGEST_MAX_EVENTS = 2
        with pytest.raises(ledger.IngestError, match="At most 2 events"):
            ledger.ingest_events(pos, [{}, {}, {}])

    def test_replay_after_master_data_fix(self, pos, store, sku):
        missing = {**event("x", "receipt", store, sku, 4, 0), "sku": "NEW-SKU"}
        ledger.ingest_events(pos, [missing])
        assert ledger.replay_rejections() == {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 1}
        assert RejectedEvent.objects.filter(replayed_at__isnull=True).count() == 1
        new_sku = SKUFactory(code="NEW-SKU")
        assert ledger.replay_rejections()["accepted"] == 1
        assert Position.objects.get(location=store, sku=new_sku).available == 4
        assert RejectedEvent.objects.get().replay_status == "accepted"
        assert RejectedEvent.objects.count() == 1


class TestLatencyAndSource:
    def test_latency_is_kept_and_source_last_seen(self, pos, store, sku):
        received = T0 + timedelta(minutes=5)
        ledger.ingest_events(pos, [event("r", "receipt", store, sku, 1, 0)], received_at=received)
        line = InventoryEvent.objects.get()
        assert line.latency_ms == 5 * 60 * 1000
        pos.refresh_from_db()
        assert pos.last_event_at == received


class TestRebuild:
    def test_check_finds_and_repair_fixes_a_drifted_position(self, pos, store, sku):
        ledger.ingest_events(pos, [event("r", "receipt", store, sku, 10, 0)])
        Position.objects.filter(location=store, sku=sku).update(available=99)
        report = ledger.rebuild_positions()
        assert report.differences == [("S001", "SKU1", "available", 99, 10)]
        assert position(store, sku).available == 99
        ledger.rebuild_positions(repair=True)
        assert position(store, sku).available == 10
        assert_matches_ledger()

    def test_fold_as_of_a_time(self, pos, store, sku):
        ledger.ingest_events(pos, [
            event("r", "receipt", store, sku, 10, 0),
            event("s", "sale", store, sku, 4, 60),
        ])
        as_of = T0 + timedelta(minutes=30)
        assert ledger.fold_ledger(as_of=as_of)[(store.id, sku.id, "available")] == 10
