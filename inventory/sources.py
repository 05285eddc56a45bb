"""Source systems' rules: when one is expected to send, when its silence
makes its feed stale (the rules of the integration health screen,
inventory.feeds, the stale_feed cases and the stale_feeds metric), and the
source the tower itself is (its own ledger lines are posted as it)."""
from __future__ import annotations

from datetime import timedelta

from .fields import MAX_SMALL_INTEGER
from .models import CONTROL_TOWER_SOURCE, Location, SourceSystem
from .trading import LOOKAHEAD_DAYS, Calendar


def expected_interval(source):
    """How often the source is expected to send; None: it sends when it has
    something, and is never stale."""
    if source.expected_interval_s is None:
        return None
    # A 32-bit column on PostgreSQL; SQLite keeps whatever the admin took.
    return timedelta(seconds=min(source.expected_interval_s, MAX_SMALL_INTEGER))


def follows_trading_hours(source):
    """Tills (POS) sell only while their stores trade: their silence counts
    then, not at night or on a holiday. Every other feed runs around the clock."""
    return source.kind == SourceSystem.Kind.POS


def silence(source, last_heard_at, now, calendar=None):
    """How long `source` has been silent at `now` (a timedelta): for tills,
    only the time one of the stores they run in traded (their lane's stores,
    else every store); for other feeds, all of it."""
    if not follows_trading_hours(source) or now - last_heard_at > timedelta(days=LOOKAHEAD_DAYS):
        return now - last_heard_at
    calendar = calendar or Calendar()
    stores = list(source.lane_locations.all()) or list(
        Location.objects.filter(kind=Location.Kind.STORE, active=True))
    clocks = {}
    for store in stores:  # stores with the same hours share one clock
        clock = calendar.clock(store)
        key = (str(clock.tz), tuple(sorted((day, tuple(hours)) for day, hours in clock.week.items())),
               clock.holidays)
        clocks.setdefault(key, clock)
    open_intervals = sorted(
        interval for clock in clocks.values() for interval in clock.open_intervals_between(last_heard_at, now))
    total, covered_until = timedelta(), last_heard_at
    for begin, end in open_intervals:  # the union: a minute two stores trade counts once
        begin = max(begin, covered_until)
        if end > begin:
            total += end - begin
            covered_until = end
    return total


def is_stale(source, last_heard_at, now, calendar=None):
    """A feed is stale when it never sent anything or was silent (see
    `silence`) longer than its expected interval at `now`; a source with no
    expected interval never is (the stale_feed cases and the stale_feeds metric)."""
    interval = expected_interval(source)
    if interval is None:
        return False
    if last_heard_at is None:
        return True
    if last_heard_at >= now - interval:
        return False
    return silence(source, last_heard_at, now, calendar) > interval


def control_tower_source():
    """The source system the tower's own lines (corrective adjustments,
    reversals, reservation releases) are posted as."""
    source, _ = SourceSystem.objects.get_or_create(
        code=CONTROL_TOWER_SOURCE,
        defaults={"name": "Control Tower corrections", "kind": SourceSystem.Kind.ERP,
                  "expected_interval_s": 2_000_000_000},  # posts only when a case needs it: never stale
    )
    return source
