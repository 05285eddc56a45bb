"""Locks, in one place: who waits for whom when two workers touch the same rows.

- `lock_rows(queryset)`: row locks (SELECT ... FOR UPDATE) taken in primary
  key order, so two transactions wanting overlapping rows queue instead of
  deadlocking.
- `hold_until_commit(name)`: an advisory lock for work that reads what
  exists and then decides (case sync per kind, master-data imports).

SQLite needs neither: its write transaction (IMMEDIATE) already excludes
every other writer.
"""
from django.db import connection


def lock_rows(queryset, of=()):
    """`queryset` locked for this transaction, rows in primary key order.
    `of` names the tables to lock when the query joins others (e.g. ("self",))."""
    return queryset.select_for_update(of=of).order_by("pk")


def hold_until_commit(name):
    """Take the PostgreSQL advisory lock `name` for the current transaction:
    the next transaction asking for it waits until this one ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
