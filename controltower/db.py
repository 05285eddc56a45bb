"""Database dialect helpers for raw SQL (no domain code here): times in the
form each backend stores, and parameter shapes that stay fast on both.

Django's ORM stores a time on SQLite as naive UTC text ('2026-11-23
09:15:00.123456') and compares it as text; a raw statement must pass times
in that same form, or a value with an offset ('10:15:00+01:00') sorts by
its local wall clock and every later comparison is wrong. PostgreSQL's
timestamptz needs nothing.
"""
import math
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

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


def select_rows(sql, *value_sets, params=()):
    """Rows of `sql`, each {} in it matching any value of the next set: one
    array parameter on PostgreSQL (thousands of IN placeholders cost more to
    build than the query takes), an IN list elsewhere. `params` come first."""
    matches, values = [], list(params)
    for value_set in value_sets:
        if connection.vendor == "postgresql":
            matches.append("= ANY(%s)")
            values.append(list(value_set))
        else:
            matches.append(f"IN ({', '.join(['%s'] * len(value_set))})")
            values.extend(value_set)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(*matches), values)
        return cursor.fetchall()


def values_clause(rows, width):
    """'(%s, %s), (%s, %s)' for `rows` of `width` values, and the flat parameters."""
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * len(rows)), [v for r in rows for v in r]


def chunks(items, size):
    """Slices of `items` of at most `size` (a list or tuple)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def insert_rows(cursor, table, columns, rows, batch=1000):
    """Write `rows` (sequences of database values, in the order of `columns`) into `table`: COPY
    on PostgreSQL, multi-row INSERTs of `batch` rows elsewhere. The ORM's bulk_create costs
    seconds per ten thousand rows (psycopg adapts its arrays one element at a time in Python)."""
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for chunk in chunks(list(rows), batch):
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(chunk))}",
            [value for row in chunk for value in row],
        )


# (location, sku) pairs passed to PostgreSQL as two arrays.
UNNEST_PAIRS = "unnest(%s::bigint[], %s::bigint[]) AS v(loc, sku)"


def int_array(values):
    """A bigint[] parameter as its text literal. psycopg adapts a list one
    element at a time in Python, which costs more than the query itself for
    a few thousand rows."""
    return "{" + ",".join(map(str, values)) + "}"


def seconds_apart_sql(a, b):
    """SQL for the seconds between two time expressions. SQLite's julianday
    is a float: rounded to the millisecond, an hour apart is 3600, not 3600.0000001."""
    if connection.vendor == "postgresql":
        return f"ABS(EXTRACT(EPOCH FROM ({a} - {b})))"
    return f"ROUND(ABS(julianday({a}) - julianday({b})) * 86400, 3)"


def days_ago_sql(moment, column):
    """SQL for the whole UTC calendar days from `column` to `moment` (an
    integer: 0 the same day), cheap enough to group millions of rows by."""
    if connection.vendor == "postgresql":
        return f"(CAST({moment} AS date) - CAST({column} AS date))"
    return f"CAST(julianday(date({moment})) - julianday(date({column})) AS INTEGER)"


def utc_day_sql(column):
    """SQL for the UTC calendar day of the time `column` (a date; text on SQLite)."""
    if connection.vendor == "postgresql":
        return f"CAST({column} AS date)"
    return f"date({column})"


def local_day_sql(column, timezone_column):
    """SQL for the calendar day of `column` in the time zone named by
    `timezone_column`: the local day on PostgreSQL; SQLite knows no time
    zones, so the UTC day there."""
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE {timezone_column}) AS date)"
    return f"date({column})"


def nearest_rank(queryset, field, fraction, descending=False):
    """(the `fraction` percentile of `field` over `queryset`, the row count):
    the nearest-rank percentile, the value at rank ceil(fraction * n) in the
    field's order, read in SQL with ORDER BY ... LIMIT 1 OFFSET rank - 1, so
    PostgreSQL and SQLite give the same value and no rows come to Python.
    (None, 0) for no rows. `descending` ranks from the largest value."""
    count = queryset.count()
    if not count:
        return None, 0
    rank = math.ceil(Decimal(str(fraction)) * count)
    ordered = queryset.order_by(f"-{field}" if descending else field).values_list(field, flat=True)
    return ordered[rank - 1], count


def nearest_rank_of(values, fraction):
    """The nearest-rank percentile of `values` given in their rank order: the
    value at rank ceil(fraction * n), as nearest_rank reads it in SQL; None
    for no values. For a batched metric that reads the values of many scopes
    at once."""
    if not values:
        return None
    return values[math.ceil(Decimal(str(fraction)) * len(values)) - 1]
