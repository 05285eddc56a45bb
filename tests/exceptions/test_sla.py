"""The SLA clock runs only in trading hours, in the location's time zone."""
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from controltower.models import Role
from exceptions.findings import Finding
from exceptions.models import Case
from exceptions.services import actions, sync
from exceptions.services.sla import add_business_minutes, business_minutes_between
from inventory.models import Holiday, Location, TradingHours
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SKUFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args):
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def store():
    return LocationFactory(timezone="Europe/Berlin", kind=Location.Kind.STORE)


def test_case_opened_at_night_starts_counting_at_opening(store):
    # Tuesday 2026-11-17 22:00: closed until 08:00 Wednesday.
    due = add_business_minutes(berlin(2026, 11, 17, 22, 0), 240, store)
    assert due == berlin(2026, 11, 18, 12, 0)


def test_saturday_evening_rolls_over_short_sunday_to_monday(store):
    # Sat 19:00 -> 1 h on Saturday, 6 h on Sunday (10-16), 1 h Monday.
    due = add_business_minutes(berlin(2026, 11, 21, 19, 0), 8 * 60, store)
    assert due == berlin(2026, 11, 23, 9, 0)


def test_holiday_is_skipped_for_its_region_only(store):
    Holiday.objects.create(date=date(2026, 12, 25), region=store.region, name="Christmas")
    other = LocationFactory(timezone="Europe/Berlin")
    start = berlin(2026, 12, 24, 19, 0)
    assert add_business_minutes(start, 120, store) == berlin(2026, 12, 26, 9, 0)
    assert add_business_minutes(start, 120, other) == berlin(2026, 12, 25, 9, 0)


def test_location_hours_override_the_store_default(store):
    TradingHours.objects.create(location=store, weekday=0, opens=time(6), closes=time(22))
    # Monday is the only day this store has hours of its own.
    assert add_business_minutes(berlin(2026, 11, 23, 21, 0), 120, store) == berlin(2026, 11, 30, 7, 0)


def test_dc_runs_around_the_clock():
    dc = LocationFactory(kind=Location.Kind.DC, timezone="Europe/Berlin")
    assert add_business_minutes(berlin(2026, 11, 21, 23, 0), 120, dc) == berlin(2026, 11, 22, 1, 0)


def test_autumn_dst_change_adds_no_hour_to_a_store(store):
    # 2026-10-25: clocks go back at 03:00. Sat 19:00 + 2 h = Sun 11:00 local.
    due = add_business_minutes(berlin(2026, 10, 24, 19, 0), 120, store)
    assert due == berlin(2026, 10, 25, 11, 0)
    assert due.astimezone(UTC) == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)


def test_autumn_dst_night_is_25_hours_for_a_dc():
    dc = LocationFactory(kind=Location.Kind.DC, timezone="Europe/Berlin")
    start = berlin(2026, 10, 25, 0, 0)
    assert business_minutes_between(start, berlin(2026, 10, 26, 0, 0), dc) == 25 * 60


def test_spring_dst_change(store):
    # 2026-03-29 (Sunday): clocks go forward at 02:00; the store still opens 10:00 local.
    due = add_business_minutes(berlin(2026, 3, 28, 19, 30), 60, store)
    assert due == berlin(2026, 3, 29, 10, 30)
    assert due.astimezone(UTC) == datetime(2026, 3, 29, 8, 30, tzinfo=UTC)
    dc = LocationFactory(kind=Location.Kind.DC, timezone="Europe/Berlin")
    assert business_minutes_between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0), dc) == 23 * 60


def test_minutes_between_counts_only_trading_time(store):
    # Friday 18:00 -> Monday 09:00: 2 h Fri + 12 h Sat + 6 h Sun + 1 h Mon.
    minutes = business_minutes_between(berlin(2026, 11, 20, 18, 0), berlin(2026, 11, 23, 9, 0), store)
    assert minutes == 21 * 60
    assert business_minutes_between(berlin(2026, 11, 23, 9, 0), berlin(2026, 11, 20, 18, 0), store) == 0


def test_no_location_counts_around_the_clock():
    assert add_business_minutes(datetime(2026, 11, 21, 23, 0, tzinfo=UTC), 60, None) == datetime(
        2026, 11, 22, 0, 0, tzinfo=UTC
    )


# A case's due times over a store's trading hours (the migration's store week:
# Mon-Sat 08-20, Sun 10-16), through the case's own path, on the weekends
# Europe's clocks change. Severity 1: respond in 30 min, resolve in 240.

def open_case(store, now):
    sync.sync_findings("negative_stock", [Finding(
        kind="negative_stock", location_id=store.pk, sku_id=SKUFactory().pk, severity=1,
        quantity_at_risk=3, value_at_risk=Decimal("7.50"), summary="available is -3",
    )], now=now)
    return Case.objects.get(location=store)


def test_a_case_opened_before_spring_forward_is_due_by_the_stores_summer_time(store, default_routing):
    # Sat 2027-03-27 19:00 CET; clocks go forward Sunday 02:00. 1 h on Saturday,
    # then 3 h from Sunday's 10:00 opening (CEST, UTC+2): 13:00 local, 11:00 UTC.
    case = open_case(store, berlin(2027, 3, 27, 19, 0))
    assert case.response_due_at == datetime(2027, 3, 27, 18, 30, tzinfo=UTC)
    assert case.resolution_due_at == datetime(2027, 3, 28, 11, 0, tzinfo=UTC)
    assert case.resolution_due_at.astimezone(BERLIN).hour == 13


def test_a_case_opened_before_fall_back_is_due_by_the_stores_winter_time(store, default_routing):
    # Sat 2026-10-24 19:00 CEST; clocks go back Sunday 03:00. 1 h on Saturday,
    # then 3 h from Sunday's 10:00 opening (CET, UTC+1): 13:00 local, 12:00 UTC.
    case = open_case(store, berlin(2026, 10, 24, 19, 0))
    assert case.resolution_due_at == datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    assert case.resolution_due_at.astimezone(BERLIN).hour == 13


@pytest.mark.parametrize("saturday", [date(2027, 3, 27), date(2026, 10, 24)], ids=["spring-forward", "fall-back"])
def test_waiting_over_the_dst_night_moves_the_due_time_by_the_trading_time_waited(
    store, default_routing, time_machine, saturday
):
    manager = make_user(Role.STORE_MANAGER, locations=[store])
    opened = berlin(saturday.year, saturday.month, saturday.day, 19, 0)
    case = open_case(store, opened)
    due = case.resolution_due_at  # Sunday 13:00 local
    time_machine.move_to(berlin(saturday.year, saturday.month, saturday.day, 19, 30), tick=False)
    actions.set_waiting(case, manager, "the supplier")
    # Resumed Monday 09:00 local: 30 min on Saturday, 6 h on Sunday, 1 h on Monday waited.
    monday = berlin(saturday.year, saturday.month, saturday.day + 2, 9, 0)
    time_machine.move_to(monday, tick=False)
    actions.resume(case, manager)
    case.refresh_from_db()
    assert case.sla_paused_seconds == 7.5 * 3600
    # 30 min of the 4 h ran before the wait: the 3.5 h left run from Monday 09:00.
    assert due == berlin(saturday.year, saturday.month, saturday.day + 1, 13, 0)
    assert case.resolution_due_at == berlin(saturday.year, saturday.month, saturday.day + 2, 12, 30)
