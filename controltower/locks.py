"""Locks, in one place: who waits for whom when two workers touch the same rows.

- `lock_rows(queryset)`: row locks (SELECT ... FOR UPDATE) taken in primary
  key order, so two transactions wanting overlapping rows queue instead of
  deadlocking.
- `hold_until_commit(name)`: an advisory lock for work that reads what
  exists and then decides (case sync per kind, master-data imports).
- `try_hold(name)`: an advisory lock for a job that must not run twice at
  once (a reconciliation kind): the second caller is told at once, never waits.

SQLite needs none of them: its write transaction (IMMEDIATE) already
excludes every other writer (exceptions.reconciliation.runs keeps a kind's
runs apart there with its running row, taken under that write lock).
"""
from contextlib import contextmanager

from django.db import DatabaseError, connection


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


@contextmanager
def try_hold(name):
    """Yield whether this session got the PostgreSQL advisory lock `name`
    (without waiting); it is held across transactions until the block ends,
    and goes with the connection when a worker dies. Elsewhere always True."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [name])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])
            except DatabaseError:  # the connection is gone, and its lock with it
                pass
