"""The retailer simulator at a small size: its ground truth, its determinism,
its posting through the tower's services, and the recall of the kinds the
tower finds deterministically."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F

from inventory.models import (
    SKU,
    IngestDay,
    InventoryEvent,
    Journey,
    JourneyStep,
    Location,
    Position,
    ReceivedDocument,
    Snapshot,
    SourceSystem,
    TillTransaction,
)
from rollout.models import InjectedFault, Simulation, TrainingRecord, Wave
from rollout.simulator import START, SimulationExists, score, simulate
from rollout.simulator.faults import FAULTS, RatesError, parse_rates
from rollout.simulator.scoring import seen_cases, catches

pytestmark = pytest.mark.django_db

# The kinds the tower finds by rule, each injected often enough to be seen in a few days.
DETERMINISTIC = {
    "same_key_duplicate": 0.02, "new_key_replay": 0.02, "case_as_each": 0.2, "transfer_never_received": 0.2,
    "return_never_dispositioned": 0.3, "reservation_never_released": 0.5, "silent_feed": 0.1,
    "missed_cost_change": 0.3, "unknown_sku_burst": 0.3, "late_replay": 0.3,
}


def rates(**given):
    return {**dict.fromkeys(FAULTS, 0.0), **given}


def small(seed=3, days=6, **given):
    return simulate(stores=3, skus=10, days=days, seed=seed, rates=rates(**given))


def ledger_fingerprint():
    return sorted(InventoryEvent.objects.values_list(
        "source__code", "transaction_id", "type", "location__code", "sku__code", "quantity", "occurred_at",
        "received_at"))


def faults_fingerprint():
    return sorted(InjectedFault.objects.values_list("kind", "location", "sku", "source", "reference", "occurred_at"))


def test_a_run_builds_the_retailer_and_records_its_faults_as_ground_truth():
    simulation = small(**DETERMINISTIC)
    stores = Location.objects.filter(code__startswith="SIM", kind=Location.Kind.STORE)
    assert stores.count() == 3
    assert Location.objects.filter(code__startswith="SIM").exclude(kind=Location.Kind.STORE).count() == 2
    assert SKU.objects.filter(code__startswith="SIM", base_unit="G").exists()  # weighed items
    assert {w.status for w in Wave.objects.all()} == {Wave.Status.LIVE, Wave.Status.PREPARING}
    assert TrainingRecord.objects.exists()
    assert SourceSystem.objects.filter(code__startswith="SIM-POS-", generation="legacy").exists()
    assert SourceSystem.objects.filter(code__startswith="SIM-POS-", generation="target").exists()
    faults = InjectedFault.objects.filter(simulation=simulation)
    assert set(simulation.summary["faults"]) == set(faults.values_list("kind", flat=True))
    assert {"same_key_duplicate", "return_never_dispositioned", "case_as_each"} <= set(simulation.summary["faults"])
    for fault in faults:
        assert START <= fault.occurred_at + timedelta(hours=1) <= simulation.ends_at
        if fault.location:
            assert Location.objects.filter(code=fault.location).exists()
    # Every kind of message went in: sales, orders through their steps, snapshots.
    assert Journey.objects.filter(kind="order_to_fulfilment", state__in=["collected", "shipped"]).exists()
    assert Journey.objects.filter(kind="return_to_refund", state="settled").exists()
    assert Snapshot.objects.filter(kind=Snapshot.Kind.VALUATION).exists()


def test_a_seed_gives_the_same_run():
    runs = []
    for _ in range(2):
        with transaction.atomic():
            small(seed=5, days=4, same_key_duplicate=0.05, case_as_each=0.3, return_never_dispositioned=0.3)
            runs.append((ledger_fingerprint(), faults_fingerprint()))
            transaction.set_rollback(True)
    assert runs[0][0] and runs[0][1]
    assert runs[0] == runs[1]
    with transaction.atomic():
        small(seed=6, days=2)
        assert ledger_fingerprint() != runs[0][0]
        transaction.set_rollback(True)


def test_everything_goes_through_the_tower_ingest_on_the_simulated_clock():
    simulation = small(days=5, same_key_duplicate=0.05)
    days = IngestDay.objects.filter(source__code__startswith="SIM-")
    sent = simulation.summary["sent"]
    # The tower's own counts per source and day: every event the sources sent;
    # and the journey service holds every step.
    assert sum(days.values_list("received", flat=True)) == sent["events"]
    assert JourneyStep.objects.count() == sent["journey steps"]
    assert sum(days.values_list("duplicates", flat=True)) == simulation.summary["faults"]["same_key_duplicate"]
    assert {d.day for d in days} <= {(START + timedelta(days=n)).date() for n in range(-1, 6)}
    # Received after they occurred, at the sources' pushes, never at the wall clock.
    assert not InventoryEvent.objects.filter(received_at__lt=START - timedelta(hours=1)).exists()
    assert not InventoryEvent.objects.filter(received_at__gt=simulation.ends_at).exists()
    assert all(e.received_at >= e.occurred_at for e in InventoryEvent.objects.all())
    assert SourceSystem.objects.get(code="SIM-WMS").last_event_at <= simulation.ends_at
    # The tills' sales and returns came as POSLog documents, a retail transaction a line, with the cashier.
    till_lines = InventoryEvent.objects.filter(source__code__startswith="SIM-POS-", type__in=["sale", "return"])
    assert till_lines.exists()
    assert ReceivedDocument.objects.filter(format="poslog", source__code__startswith="SIM-POS-").exists()
    assert TillTransaction.objects.filter(source__code__startswith="SIM-POS-").count() == till_lines.count()
    assert not till_lines.filter(cashier="").exists()
    # The West's tills weigh in pounds: a decimal factor, rounded to whole grams.
    assert till_lines.filter(location__code__startswith="SIMW", entered_unit="LBR").exists()


def test_a_clean_run_books_what_happened_and_opens_almost_no_cases():
    simulation = small(days=6)
    assert simulation.summary["faults"] == {}
    result = score(simulation)
    assert all(kind.injected == 0 for kind in result.kinds)
    assert result.false_share is not None and result.false_share < 0.02
    # With nothing going wrong between systems, no position is below zero.
    assert not Position.objects.filter(available__lt=0).exists()


@pytest.fixture
def faulted_run():
    simulate(stores=4, skus=12, days=10, seed=11, rates=rates(**DETERMINISTIC))
    return score()


def test_the_deterministic_kinds_reach_their_recall(faulted_run):
    seen = {kind.kind: kind for kind in faulted_run.kinds if kind.injected}
    assert {"new_key_replay", "case_as_each", "return_never_dispositioned", "transfer_never_received",
            "late_replay", "same_key_duplicate"} <= set(seen)
    for kind in seen.values():
        if kind.nature != "statistical" and kind.kind != "new_key_replay":
            assert kind.recall >= kind.target, (kind.kind, kind.injected, kind.found)
    # Replays under new keys of the JSON feeds (WMS, ecommerce, the tills' counts).
    replays = InjectedFault.objects.filter(kind="new_key_replay", details__format="events")
    cases = seen_cases()
    assert replays.count() >= 5
    found = sum(any(catches(fault, case) for case in cases) for fault in replays)
    assert found / replays.count() >= 0.95
    # Under 2% of the pairs that sold is the bench's target; of this run's 48 pairs one case is 2%.
    assert faulted_run.false_cases <= 1


def test_a_till_line_replayed_under_a_new_key_is_suspected(faulted_run):
    replays = InjectedFault.objects.filter(kind="new_key_replay", details__format="poslog")
    cases = seen_cases()
    assert replays.exists()
    assert all(any(catches(fault, case) for case in cases) for fault in replays)


def test_phantom_stock_strikes_steady_sellers_and_phantom_inventory_finds_it():
    """The shelves of fast movers (a line a day or more at a store) empty
    after their first two weeks and a week before the end; the tower's
    nightly phantom_inventory runs see their sales stop, whatever the
    counts find too."""
    simulation = simulate(stores=3, skus=10, days=21, seed=4, rates=rates(phantom_stock=0.5))
    faults = InjectedFault.objects.filter(kind="phantom_stock")
    assert faults.count() >= 5
    fast = set(SKU.objects.filter(code__in=[f.sku for f in faults]).values_list("code", flat=True))
    daily_sales = {sku: InventoryEvent.objects.filter(type="sale", sku__code=sku, occurred_at__lt=START + timedelta(
        days=14)).count() / (3 * 14) for sku in fast}
    assert min(daily_sales.values()) >= 0.75, daily_sales  # a line a day expected: a steady seller, not a slow one
    assert {(f.occurred_at - START).days for f in faults} == {14}  # after two weeks, a week before the end
    result = score(simulation)
    phantom = {kind.kind: kind for kind in result.kinds}["phantom_stock"]
    assert phantom.recall >= phantom.target
    cases = [case for case in seen_cases() if case.kind == "phantom_inventory"]
    pairs = {(f.location, f.sku) for f in faults}
    assert cases and all((case.location, case.sku) in pairs for case in cases)


def test_one_simulation_a_database():
    small(days=1)
    with pytest.raises(SimulationExists):
        small(days=1)
    assert Simulation.objects.count() == 1


def test_the_rates_are_read_with_the_kind_named():
    assert parse_rates("silent_feed=0.5")["silent_feed"] == 0.5
    assert parse_rates("silent_feed=0.5")["late_replay"] == FAULTS["late_replay"].rate
    assert set(parse_rates("0").values()) == {0.0}
    with pytest.raises(RatesError, match="stale"):
        parse_rates("stale=0.1")
    with pytest.raises(RatesError, match="silent_feed"):
        parse_rates("silent_feed=lots")


def test_the_command_runs_scores_and_prints_a_summary():
    out = StringIO()
    call_command("simulate", stores=2, skus=8, days=2, seed=1, faults="0", score=True, stdout=out)
    text = out.getvalue()
    assert "Simulated 2 stores" in text
    assert "none (a clean run)" in text
    assert "What the tower caught" in text and "silent_feed" in text
    with pytest.raises(CommandError, match="already holds a simulation"):
        call_command("simulate", stores=2, skus=8, days=2, stdout=StringIO())
    with pytest.raises(CommandError, match="KIND=RATE"):
        call_command("simulate", faults="nonsense", stdout=StringIO())


def test_a_late_replay_is_one_fault_per_offline_window_with_the_pairs_its_lines_touched(faulted_run):
    windows = list(InjectedFault.objects.filter(kind="late_replay"))
    days, stores = 10, 4
    assert windows and len(windows) <= days * stores  # at most one a store-day, the rate's opportunity
    assert len({fault.reference for fault in windows}) == len(windows)
    replayed = 0
    for fault in windows:
        assert fault.details["lines"] >= len(fault.details["skus"]) >= 1
        assert set(fault.details["book"]) == set(fault.details["skus"])
        # The ledger's lines of the window, received hours late, are at the pairs it names.
        late = InventoryEvent.objects.filter(
            location__code=fault.location, occurred_at__gte=fault.occurred_at, occurred_at__lt=fault.details["until"],
            received_at__gte=F("occurred_at") + timedelta(hours=5))
        assert set(late.values_list("sku__code", flat=True)) <= set(fault.details["skus"])
        replayed += late.count()
    assert replayed
    result = {kind.kind: kind for kind in faulted_run.kinds}["late_replay"]
    assert result.injected + result.confounded == len(windows)
    assert result.found == result.injected
