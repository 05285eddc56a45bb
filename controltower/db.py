"""Database dialect helpers for raw SQL (no domain code here).

Django's ORM stores a time on SQLite as naive UTC text ('2026-11-23
09:15:00.123456') and compares it as text; a raw statement must pass times
in that same form, or a value with an offset ('10:15:00+01:00') sorts by
its local wall clock and every later comparison is wrong. PostgreSQL's
timestamptz needs nothing.
"""
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db import connection


def db_time(value):
    """An aware datetime as a raw-SQL parameter: UTC on every backend."""
    if value is None:
        return None
    return connection.ops.adapt_datetimefield_value(value)


def aware(value):
    """A time read through a raw cursor as an aware UTC datetime
    (SQLite hands back text, PostgreSQL a datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt_timezone.utc)
    return value.astimezone(dt_timezone.utc)
