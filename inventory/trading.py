"""The trading clock: the time a location trades, from its trading hours and
holidays (inventory.models.TradingHours, Holiday). The SLA clock
(exceptions.services.sla) and a till's silence (inventory.sources) count only it.

Hours are wall-clock times in the location's time zone, so a store that opens
at 08:00 opens at 08:00 on both sides of a DST change. All arithmetic is done
in UTC: subtracting two aware datetimes in the same zone would ignore the
offset change.
"""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import Holiday, TradingHours

MIDNIGHT = time(0)
LOOKAHEAD_DAYS = 400


class Clock:
    """The open intervals of one location."""

    def __init__(self, tz, week, holidays=frozenset()):
        self.tz = tz
        self.week = week  # {weekday: [(opens, closes)]}
        self.holidays = holidays

    def open_intervals(self, day):
        """[(start, end)] in UTC for one local date."""
        if day in self.holidays:
            return []
        intervals = []
        for opens, closes in self.week.get(day.weekday(), []):
            start = datetime.combine(day, opens, self.tz)
            end_day = day + timedelta(days=1) if closes == MIDNIGHT else day
            end = datetime.combine(end_day, closes, self.tz)
            intervals.append((start.astimezone(UTC), end.astimezone(UTC)))
        return intervals

    def _intervals_from(self, moment):
        day = moment.astimezone(self.tz).date() - timedelta(days=1)  # an interval may span midnight
        for _ in range(LOOKAHEAD_DAYS):
            for start, end in self.open_intervals(day):
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)
        raise ValueError(f"No trading hours within {LOOKAHEAD_DAYS} days")

    def open_intervals_between(self, a, b):
        """[(start, end)] in UTC of the open time between a and b."""
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        intervals = []
        if b <= a:
            return intervals
        for begin, end in self._intervals_from(a):
            if begin >= b:
                break
            intervals.append((begin, min(end, b)))
        return intervals

    def add(self, start, minutes):
        """The moment `minutes` of trading time after `start`."""
        remaining = timedelta(minutes=minutes)
        moment = start.astimezone(UTC)
        for begin, end in self._intervals_from(moment):
            if begin + remaining <= end:
                return begin + remaining
            remaining -= end - begin

    def seconds_between(self, a, b):
        """Trading seconds from a to b (0 when b is not after a)."""
        return int(sum((end - begin for begin, end in self.open_intervals_between(a, b)), timedelta()).total_seconds())


ALWAYS_OPEN = Clock(UTC, {day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)})


class Calendar:
    """All trading hours and holidays, read once; one Clock per location."""

    def __init__(self):
        self.hours = list(TradingHours.objects.all())
        self.holidays = list(Holiday.objects.all())
        self._clocks = {}

    def clock(self, location, trading_hours_only=True):
        if location is None or not trading_hours_only:
            return ALWAYS_OPEN
        if location.pk not in self._clocks:
            self._clocks[location.pk] = self._build(location)
        return self._clocks[location.pk]

    def _build(self, location):
        tz = ZoneInfo(location.timezone)
        week = {}
        for rows in (
            [h for h in self.hours if h.location_id == location.pk],
            [h for h in self.hours if h.region_id == location.region_id and h.location_id is None],
            [h for h in self.hours if h.location_kind == location.kind and not h.location_id and not h.region_id],
        ):
            if rows:
                for h in rows:
                    week.setdefault(h.weekday, []).append((h.opens, h.closes))
                break
        else:
            return Clock(tz, ALWAYS_OPEN.week)
        holidays = frozenset(
            h.date for h in self.holidays
            if h.location_id == location.pk
            or (h.location_id is None and h.region_id in (None, location.region_id))
        )
        return Clock(tz, week, holidays)
