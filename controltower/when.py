"""Times and dates as people read them, one format on every screen: a day
as "06 Dec 2026", a moment as "06 Dec 2026 14:05 CET", to the minute, in the
location's time zone with its abbreviation (or in UTC, saying "UTC"). The
template filters `when` and `day` (controltower.templatetags.when) and the
Python that builds labels both use these."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DAY = "%d %b %Y"
MOMENT = "%d %b %Y %H:%M"


def zone_of(where):
    """The time zone of `where`: a location (its `timezone`), a zone name, a
    tzinfo, or None for UTC."""
    if where is None or where == "":
        return UTC
    name = getattr(where, "timezone", where)
    if isinstance(name, str):
        try:
            return ZoneInfo(name) if name not in ("UTC", "") else UTC
        except (KeyError, ValueError):
            return UTC
    return name


def when(moment: datetime | None, where=None) -> str:
    """`moment` to the minute in the zone of `where`, with the zone's
    abbreviation: "06 Dec 2026 14:05 CET"; "" for None."""
    if not isinstance(moment, date):  # None, or nothing (a template's missing value)
        return "" if not moment else str(moment)
    if not isinstance(moment, datetime):
        return day(moment)
    local = moment.astimezone(zone_of(where)) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{local:{MOMENT}} {local.tzname() or 'UTC'}"


def day(value: date | datetime | None, where=None) -> str:
    """The day of `value`: "06 Dec 2026" (a moment: its day in the zone of `where`)."""
    if not isinstance(value, date):
        return "" if not value else str(value)
    if isinstance(value, datetime) and value.tzinfo:
        value = value.astimezone(zone_of(where))
    return f"{value:{DAY}}"


def duration_words(delta) -> str:
    """A duration to the minute: "45 min", from two hours on "3 h 5 min"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
