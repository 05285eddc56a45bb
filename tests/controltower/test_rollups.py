"""The KPI rollups (controltower.rollups): what the incremental runs write
equals a from-scratch computation, late and duplicate events included; each
metric is rolled up along the dimensions it honours."""
from datetime import timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from controltower import metrics, rollups
from controltower.models import KpiDay
from inventory import ledger
from tests.inventory.factories import LocationFactory, RegionFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db


def event(txn, type_, location, sku, quantity, occurred_at):
    return {"transaction_id": txn, "type": type_, "location": location.code, "sku": sku.code,
            "quantity": quantity, "occurred_at": occurred_at.isoformat()}


def table():
    """Every rollup row, as comparable tuples (not when it was computed)."""
    return sorted(
        (row.metric, row.dimension, row.member, row.day, row.value, row.sample, row.records_url, row.detail)
        for row in KpiDay.objects.all()
    )


def value(metric, dimension, member, day):
    return KpiDay.objects.get(metric=metric, dimension=dimension, member=member, day=day).value


@pytest.fixture
def estate():
    north = RegionFactory(code="NORTH")
    return {
        "pos": SourceSystemFactory(code="POS"),
        "s1": LocationFactory(code="S1", region=north),
        "s2": LocationFactory(code="S2", region=north),
        "sku": SKUFactory(code="A"),
    }


def test_incremental_rollups_equal_a_from_scratch_computation_after_late_and_duplicate_events(estate):
    pos, s1, s2, sku = estate["pos"], estate["s1"], estate["s2"], estate["sku"]
    now = timezone.now()
    day = lambda n: (now - timedelta(days=n)).astimezone(dt_timezone.utc).date()  # noqa: E731
    at = lambda n, hours=0: now - timedelta(days=n, hours=hours)  # noqa: E731
    first = [
        event("R1", "receipt", s1, sku, 10, at(3)),
        event("C1", "cycle_count", s1, sku, 10, at(2)),  # equals the record: exact
        event("R2", "receipt", s2, sku, 5, at(2)),
        event("S2", "sale", s2, sku, 1, at(1)),
    ]
    ledger.ingest_events(pos, first, received_at=at(0, hours=2))
    rollups.roll_up(now=at(0, hours=1))
    assert value("inventory_accuracy_exact", "location", "S1", day(2)) == Decimal(100)
    assert value("inventory_accuracy_exact", "region", "NORTH", day(2)) == Decimal(100)

    # A late sale before the count (the count is now 1 over the record), the
    # first batch resent whole (duplicates), and a line naming no known SKU.
    late = [event("S1", "sale", s1, sku, 1, at(3, hours=-1)), {**event("X", "sale", s1, sku, 1, at(1)), "sku": "NOPE"}]
    ledger.ingest_events(pos, first + late, received_at=at(0, hours=0.5))
    rollups.roll_up(now=now)
    assert value("inventory_accuracy_exact", "location", "S1", day(2)) == Decimal(0)
    incremental = table()

    rollups.roll_up_since(day(3), now=now)
    assert table() == incremental
    assert {row[3] for row in incremental} == {day(3), day(2), day(1), day(0)}


def test_a_metric_is_rolled_up_only_along_the_dimensions_it_honours(estate):
    rollups.roll_up_since(timezone.now().astimezone(dt_timezone.utc).date())
    dimensions = lambda key: set(KpiDay.objects.filter(metric=key).values_list("dimension", flat=True))  # noqa: E731
    assert dimensions("inventory_accuracy_exact") == {"estate", "location", "region"}
    assert dimensions("event_acceptance_rate") == {"estate", "source"}
    assert dimensions("item_master_completeness") == {"estate", "location", "region"}  # the SKUs they carry
    assert set(KpiDay.objects.filter(dimension="location").values_list("member", flat=True)) == {"S1", "S2"}


def test_no_data_is_stored_as_no_data(estate):
    today = timezone.now().astimezone(dt_timezone.utc).date()
    rollups.roll_up_since(today)
    row = KpiDay.objects.get(metric="inventory_accuracy_exact", dimension="location", member="S1", day=today)
    assert row.value is None and row.sample == 0


def test_the_command_recomputes_from_a_day_and_refuses_a_bad_one(estate, capsys):
    today = timezone.now().astimezone(dt_timezone.utc).date()
    call_command("rollup_kpis", "--since", (today - timedelta(days=1)).isoformat())
    assert "2 day(s)" in capsys.readouterr().out
    assert set(KpiDay.objects.values_list("day", flat=True)) == {today - timedelta(days=1), today}
    with pytest.raises(CommandError, match="'yesterday' is not a date"):
        call_command("rollup_kpis", "--since", "yesterday")
    with pytest.raises(CommandError, match="is after today"):
        call_command("rollup_kpis", "--since", (today + timedelta(days=2)).isoformat())


def test_a_late_transfer_line_rolls_every_day_it_changes(estate):
    """A transfer_out that reaches the tower days after its transfer_in gives
    the transfer a lead time on the day it was received and closes it on the
    days between: incremental still equals from scratch."""
    pos, s1, s2, sku = estate["pos"], estate["s1"], estate["s2"], estate["sku"]
    now = timezone.now()
    day = lambda n: (now - timedelta(days=n)).astimezone(dt_timezone.utc).date()  # noqa: E731
    at = lambda n, hours=0: now - timedelta(days=n, hours=hours)  # noqa: E731
    out = {**event("T-OUT", "transfer_out", s1, sku, 4, at(4)), "to_location": "S2", "reference": "TR1"}
    arrived = {**event("T-IN", "transfer_in", s2, sku, 4, at(3)), "reference": "TR1"}
    ledger.ingest_events(pos, [event("R", "receipt", s1, sku, 10, at(5)), arrived], received_at=at(3))
    rollups.roll_up(now=at(2))
    assert value("transfer_lead_time", "location", "S2", day(3)) is None  # shipped unknown yet

    ledger.ingest_events(pos, [out], received_at=at(1))
    rollups.roll_up(now=now)
    assert value("transfer_lead_time", "location", "S2", day(3)) == Decimal(86400)
    # A day nothing arrived on, rolled up before the shipment was known: its
    # value covers the 7 days to it (Metric.rollup_days), so it was recomputed.
    assert metrics.get("transfer_lead_time").rollup_days == 7
    assert value("transfer_lead_time", "location", "S2", day(2)) == Decimal(86400)
    incremental = table()
    rollups.roll_up_since(min(row[3] for row in incremental), now=now)
    assert table() == incremental


def test_a_batched_metric_reads_for_many_scopes_what_it_reads_for_each(estate):
    """measure_many (the rollups' one read for every member) equals the
    one-scope compute (gates, boards) for every metric and scope."""
    pos, s1, s2, sku = estate["pos"], estate["s1"], estate["s2"], estate["sku"]
    now = timezone.now()
    at = lambda n, hours=0: now - timedelta(days=n, hours=hours)  # noqa: E731
    ledger.ingest_events(pos, [
        event("R1", "receipt", s1, sku, 10, at(1, 3)), event("C1", "cycle_count", s1, sku, 9, at(1, 2)),
        event("R2", "receipt", s2, sku, 5, at(1, 2)), {**event("A1", "adjustment", s2, sku, -2, at(1, 1)),
                                                      "reason": "SHRINK"},
        {**event("T1", "transfer_out", s1, sku, 2, at(1, 1)), "to_location": "S2", "reference": "TR"},
        {**event("T2", "transfer_in", s2, sku, 2, at(1)), "reference": "TR"},
    ], received_at=at(0, 20))
    window = rollups.day_window(rollups.utc_today(at(1)))
    scopes = [metrics.Scope(), *(scope for name in ("location", "region", "source")
                                 for scope in rollups.dimension(name).members().values())]
    for metric in metrics.metrics():
        assert metric.measure_many(scopes, window) == [metric.compute(scope, window) for scope in scopes], metric.key


def test_the_worst_members_are_ranked_in_the_database_as_the_tiles_read_them():
    """Per metric, the `limit` worst of the values `latest` reads (a member's latest of the look-back):
    the lowest first where higher is better, else the highest; the same value by member code."""
    day = rollups.utc_today()

    def rolled(metric, member, value, days_ago=0):
        KpiDay.objects.create(metric=metric, dimension="location", member=member, day=day - timedelta(days=days_ago),
                              value=None if value is None else Decimal(value), sample=1, computed_at=timezone.now())

    for member, value in [("S3", "90"), ("S1", "90"), ("S2", "70"), ("S4", "99")]:
        rolled("inventory_accuracy_exact", member, value)
    rolled("inventory_accuracy_exact", "S5", None)  # nothing today: its latest value is of three days ago
    rolled("inventory_accuracy_exact", "S5", "10", days_ago=3)
    rolled("inventory_accuracy_exact", "S6", "5", days_ago=rollups.LOOK_BACK_DAYS + 1)  # older than the look-back
    rolled("sync_latency_p95", "S1", "100")
    rolled("sync_latency_p95", "S2", "600")
    rolled("sync_latency_p95", "S3", "50")
    members = ["S1", "S2", "S3", "S4", "S5", "S6"]
    found = rollups.worst(["inventory_accuracy_exact", "sync_latency_p95"], "location", members, day,
                          {"inventory_accuracy_exact"}, 3)
    # S1 and S3 tie at 90% for the third place: S1 by its code. Latency: lower is better, the highest first.
    assert found == {"inventory_accuracy_exact": {"S5", "S2", "S1"}, "sync_latency_p95": {"S2", "S1", "S3"}}
    assert rollups.worst(["sync_latency_p95"], "location", members, day, set(), 1) == {"sync_latency_p95": {"S2"}}
    latest = rollups.latest(["inventory_accuracy_exact"], "location", members, day)
    assert {member for (_, member), row in latest.items() if row.value is not None} == {"S1", "S2", "S3", "S4", "S5"}
