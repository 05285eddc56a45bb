"""A feed is stale when it has been silent longer than its expected interval:
every kind of message counts as a sign of life, a source with no expected
interval never is stale, and tills' silence counts only while their stores
trade (not at night, not on a holiday)."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from exceptions.findings import CaseKind
from exceptions.reconciliation.feeds import stale_feed
from inventory.feeds import source_health
from inventory.ledger import ingest_events
from inventory.models import Holiday, SourceSystem, TradingHours
from inventory.purchase_orders import import_po_lines
from inventory.snapshots import ingest_snapshot
from inventory.sources import is_stale
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


def stale_codes(now):
    return {finding.reference for finding in stale_feed(now=now) if finding.kind == CaseKind.STALE_FEED}


@pytest.fixture
def erp():
    LocationFactory(code="S001")
    SKUFactory(code="SKU00001")
    return SourceSystemFactory(code="ERP-X", kind=SourceSystem.Kind.ERP, expected_interval_s=3600)


def test_an_erp_that_only_sends_snapshots_is_alive(erp):
    assert "ERP-X" in stale_codes(T0)  # never sent anything

    ingest_snapshot(erp, (T0 - timedelta(minutes=5)).isoformat(), [{"location": "S001", "sku": "SKU00001",
                                                                     "quantity": 3}], received_at=T0)

    assert "ERP-X" not in stale_codes(T0 + timedelta(minutes=50))
    assert "ERP-X" in stale_codes(T0 + timedelta(minutes=61))


def test_an_erp_that_only_sends_po_lines_is_alive(erp):
    import_po_lines([{"po_number": "PO-1", "line": 1, "location": "S001", "sku": "SKU00001", "quantity": 10}],
                    source=erp)
    erp.refresh_from_db()

    assert erp.last_event_at is not None
    assert not is_stale(erp, erp.last_event_at, erp.last_event_at + timedelta(minutes=59))


def test_a_snapshot_whose_every_line_is_refused_is_still_a_sign_of_life(erp):
    report = ingest_snapshot(erp, (T0 - timedelta(minutes=5)).isoformat(),
                             [{"location": "S001", "sku": "NOPE", "quantity": 1}], received_at=T0)
    assert report.snapshot is None
    erp.refresh_from_db()
    assert erp.last_event_at == T0


def test_a_source_with_no_expected_interval_is_never_stale():
    source = SourceSystemFactory(code="ON-DEMAND", kind=SourceSystem.Kind.ERP, expected_interval_s=None)

    assert "ON-DEMAND" not in stale_codes(T0)
    assert not is_stale(source, T0 - timedelta(days=300), T0)
    LocationFactory(code="S001")
    _, _, health = source_health(T0)
    row = next(row for row in health if row.source.code == "ON-DEMAND")
    assert (row.stale, row.interval_words) == (False, "when it has something")


@pytest.fixture
def till():
    """Tills of a Berlin store open 08:00-20:00 every day, expected every hour."""
    store = LocationFactory(code="B001", timezone="Europe/Berlin")
    SKUFactory(code="SKU00001")
    for weekday in range(7):
        TradingHours.objects.create(location=store, weekday=weekday, opens=time(8), closes=time(20))
    source = SourceSystemFactory(code="TILLS-B", kind=SourceSystem.Kind.POS, expected_interval_s=3600)
    source.lane_locations.set([store])
    return source


def berlin(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), BERLIN)


def sale_at(till, moment):
    ingest_events(till, [{"transaction_id": f"T-{moment:%d%H%M}", "type": "sale", "location": "B001",
                          "sku": "SKU00001", "quantity": 1, "occurred_at": moment.isoformat()}],
                  received_at=moment)


def test_tills_are_not_stale_at_night_while_their_store_is_closed(till):
    evening = date(2026, 11, 24)
    sale_at(till, berlin(evening, 19, 50))
    morning = evening + timedelta(days=1)

    assert "TILLS-B" not in stale_codes(berlin(evening, 23, 30))
    assert "TILLS-B" not in stale_codes(berlin(morning, 7, 59))
    assert "TILLS-B" not in stale_codes(berlin(morning, 8, 45))  # 10 + 45 trading minutes
    assert "TILLS-B" in stale_codes(berlin(morning, 8, 55))  # 10 + 55: over the hour
    summary = next(f.summary for f in stale_feed(now=berlin(morning, 8, 55)) if f.reference == "TILLS-B")
    assert summary == "TILLS-B has sent nothing for 65 min of its stores' trading time (expected every 60 min)"


def test_tills_are_not_stale_over_a_store_holiday(till):
    day = date(2026, 12, 24)
    sale_at(till, berlin(day, 19, 30))
    Holiday.objects.create(date=day + timedelta(days=1), location=till.lane_locations.get(), name="Christmas")

    assert not is_stale(till, berlin(day, 19, 30), berlin(day + timedelta(days=1), 18, 0))
    assert is_stale(till, berlin(day, 19, 30), berlin(day + timedelta(days=2), 9, 0))


def test_tills_of_stores_in_two_time_zones_count_each_trading_minute_once(till):
    lisbon = LocationFactory(code="L001", timezone="Europe/Lisbon")  # an hour behind Berlin
    for weekday in range(7):
        TradingHours.objects.create(location=lisbon, weekday=weekday, opens=time(8), closes=time(20))
    till.lane_locations.add(lisbon)
    evening = date(2026, 11, 24)
    sale_at(till, berlin(evening, 19, 30))

    # Berlin closes at 20:00, Lisbon at 21:00 Berlin time: 90 trading minutes, counted once.
    assert not is_stale(till, berlin(evening, 19, 30), berlin(evening, 20, 29))
    assert is_stale(till, berlin(evening, 19, 30), berlin(evening, 20, 31))


def test_an_ecommerce_feed_counts_the_night_too(till):
    web = SourceSystemFactory(code="WEB", kind=SourceSystem.Kind.ECOM, expected_interval_s=3600)
    web.lane_locations.set(till.lane_locations.all())
    evening = date(2026, 11, 24)

    assert is_stale(web, berlin(evening, 20, 30), berlin(evening, 21, 31))
