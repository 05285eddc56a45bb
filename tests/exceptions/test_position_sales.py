"""The sales summary phantom inventory reads (PositionSales) equals a sum
from scratch over the ledger after new lines, late lines for old days,
reversals, the look-back moving on (a first sale day that left the window
then reads as the window's first day), and a refresh stopped halfway. Run
on SQLite and on PostgreSQL (make test-postgres)."""
from collections import defaultdict
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection, transaction

from exceptions.models import PositionSales, PositionSalesWindow
from exceptions.reconciliation.position_sales import refresh, window_days
from inventory.ledger import ingest_events, reversal_of
from inventory.models import InventoryEvent
from inventory.sources import control_tower_source
from tests.conftest import on_postgres
from tests.threads import run_at_once
from tests.inventory.factories import InventoryEventFactory, LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=dt_timezone.utc)
LOOKBACK = 56


def sell(source, location, sku, *times, received_at=None):
    return InventoryEvent.objects.bulk_create([
        InventoryEventFactory.build(source=source, location=location, sku=sku, type="sale", quantity=1,
                                    occurred_at=at, received_at=received_at or at,
                                    transaction_id=f"sale-{location.pk}-{sku.pk}-{at.isoformat()}")
        for at in times
    ])


def from_scratch(now, moved_from=None, summed_whole=()):
    """{(location, sku): (sale days, lines, squares, first day, last day, last at)} from every sale line not reversed.
    `moved_from`: the run the summary moved on from; a position that sold on a day that has left the window
    since, unless summed again whole, starts on the window's first day."""
    first, last = window_days(now, LOOKBACK)
    gone = window_days(moved_from, LOOKBACK)[0] if moved_from else first
    reversed_ids = {int(ref.split()[1]) for ref in
                    InventoryEvent.objects.filter(type="reversal").values_list("reference", flat=True)}
    daily = defaultdict(lambda: defaultdict(list))
    for line in InventoryEvent.objects.filter(type="sale").exclude(id__in=reversed_ids):
        day = line.occurred_at.astimezone(dt_timezone.utc).date()
        if gone <= day <= last:
            daily[(line.location_id, line.sku_id)][day].append(line.occurred_at)
    sums = {}
    for pair, days in daily.items():
        kept = {day: times for day, times in days.items() if day >= first}
        if kept:
            clamped = len(kept) < len(days) and pair not in summed_whole
            sums[pair] = (len(kept), sum(len(t) for t in kept.values()), sum(len(t) ** 2 for t in kept.values()),
                          first if clamped else min(kept), max(kept), max(max(t) for t in kept.values()))
    return sums


def summary():
    return {(s.location_id, s.sku_id): (s.sale_days, s.sales, s.squares, s.first_day, s.last_day, s.last_at)
            for s in PositionSales.objects.all()}


@pytest.fixture
def estate():
    till = SourceSystemFactory(code="POS-A")
    stores, skus = [LocationFactory(code=f"S{n}") for n in range(2)], [SKUFactory(code=f"K{n}") for n in range(3)]
    for n, (store, sku) in enumerate((s, k) for s in stores for k in skus):
        # A sale every (n + 1) days over 70 days, two on some days, one before the look-back.
        sell(till, store, sku, *(NOW - timedelta(days=d, hours=h) for d in range(0, 70, n + 1)
                                 for h in ((1, 5) if d % 3 == 0 else (2,))))
    return till, stores, skus


def test_the_first_refresh_builds_it_from_the_ledger(estate):
    refresh(NOW, LOOKBACK)
    assert summary() == from_scratch(NOW) and len(summary()) == 6
    window = PositionSalesWindow.objects.get()
    assert (window.first_day, window.last_day) == window_days(NOW, LOOKBACK)
    assert window.watermark == InventoryEvent.objects.latest("id").pk


def test_late_lines_new_lines_and_a_moving_look_back_are_taken_in(estate):
    till, stores, skus = estate
    refresh(NOW, LOOKBACK)
    # An offline till's replay arrives today for days 30 to 33 ago, on a pair that had none then.
    sell(till, stores[1], skus[2], *(NOW - timedelta(days=d, hours=3) for d in range(30, 34)), received_at=NOW)
    # A new pair's first sales, yesterday.
    new_sku = SKUFactory(code="NEW")
    sell(till, stores[0], new_sku, NOW - timedelta(days=1, hours=4), NOW - timedelta(days=1, hours=6))
    later = NOW + timedelta(days=3, hours=5)  # three days on: three days leave the window, three enter
    refresh(later, LOOKBACK)
    # The two pairs with new lines are summed again whole; the others lose three days and gain three.
    summed_whole = {(stores[1].pk, skus[2].pk), (stores[0].pk, new_sku.pk)}
    assert summary() == from_scratch(later, moved_from=NOW, summed_whole=summed_whole)
    assert summary() != from_scratch(later)  # some first sale days left the window: they read as its first day
    assert summary()[(stores[0].pk, new_sku.pk)][:3] == (1, 2, 4)
    refresh(later, LOOKBACK)  # again, nothing new: the same
    assert summary() == from_scratch(later, moved_from=NOW, summed_whole=summed_whole)
    # Back in time (a run with an earlier now): built again from the ledger.
    refresh(NOW, LOOKBACK)
    assert summary() == from_scratch(NOW)


def test_a_reversed_sale_no_longer_counts(estate):
    till, stores, skus = estate
    refresh(NOW, LOOKBACK)
    line = InventoryEvent.objects.filter(location=stores[0], sku=skus[0], type="sale").order_by("occurred_at")[20]
    before = summary()[(stores[0].pk, skus[0].pk)]
    report = ingest_events(control_tower_source(), [reversal_of(line, "duplicate")], keep_rejections=False,
                           reversals=True)
    assert report.results[0].status == "accepted"
    refresh(NOW, LOOKBACK)
    assert summary() == from_scratch(NOW)
    assert summary()[(stores[0].pk, skus[0].pk)][1] == before[1] - 1


def test_a_refresh_stopped_halfway_leaves_it_as_it_was(estate):
    till, stores, skus = estate
    refresh(NOW, LOOKBACK)
    before, window = summary(), PositionSalesWindow.objects.values().get()
    sell(till, stores[0], skus[1], NOW - timedelta(days=10, hours=7))

    class Killed(Exception):
        pass

    with pytest.raises(Killed), transaction.atomic():  # the run's transaction, its worker killed after the refresh
        refresh(NOW + timedelta(days=1), LOOKBACK)
        assert summary() != before
        raise Killed
    assert summary() == before and PositionSalesWindow.objects.values().get() == window
    refresh(NOW + timedelta(days=1), LOOKBACK)
    assert summary() == from_scratch(NOW + timedelta(days=1), moved_from=NOW,
                                     summed_whole={(stores[0].pk, skus[1].pk)})


def test_a_position_whose_sale_days_all_left_the_window_goes(estate):
    till, stores, skus = estate
    once = SKUFactory(code="ONCE")
    sell(till, stores[0], once, NOW - timedelta(days=LOOKBACK - 1, hours=1))  # the window's first whole day
    refresh(NOW, LOOKBACK)
    assert (stores[0].pk, once.pk) in summary()
    refresh(NOW + timedelta(days=1), LOOKBACK)
    assert (stores[0].pk, once.pk) not in summary()
    assert summary() == from_scratch(NOW + timedelta(days=1), moved_from=NOW)


@pytest.mark.parametrize("days", [3, LOOKBACK - 4])
def test_a_look_back_that_moves_on_several_days_at_once_takes_them_all(estate, days):
    """Runs missed for days (a stopped beat), even most of the look-back: every day leaving and
    entering is taken at once."""
    refresh(NOW, LOOKBACK)
    refresh(NOW + timedelta(days=days), LOOKBACK)
    assert summary() and summary() == from_scratch(NOW + timedelta(days=days), moved_from=NOW)


@pytest.mark.skipif(not on_postgres(), reason="needs PostgreSQL: SQLite serialises writers, no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_move_the_window_on_once(estate):
    refresh(NOW, LOOKBACK)
    results = run_at_once([lambda: refresh(NOW + timedelta(days=1), LOOKBACK)] * 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert summary() == from_scratch(NOW + timedelta(days=1), moved_from=NOW)


@pytest.mark.skipif(not on_postgres(), reason="UNLOGGED is PostgreSQL's")
def test_postgresql_writes_no_wal_for_the_summary_and_checks_no_foreign_key_per_row():
    """A crash empties the summary and its window row together (the next refresh builds it anew), and the
    day's million writes skip the WAL and the deferred foreign-key checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relpersistence FROM pg_class WHERE relname IN "
                       "('exceptions_positionsales', 'exceptions_positionsaleswindow')")
        assert dict(cursor.fetchall()) == {"exceptions_positionsales": "u", "exceptions_positionsaleswindow": "u"}
        cursor.execute("SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' "
                       "AND conrelid = 'exceptions_positionsales'::regclass")
        assert cursor.fetchone()[0] == 0
