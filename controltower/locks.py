"""One writer at a time for work that reads what exists and then decides."""
from django.db import connection


def hold_until_commit(name):
    """Take the PostgreSQL advisory lock `name` for the current transaction:
    the next transaction asking for it waits until this one ends. SQLite
    needs none: its write transaction already excludes every other writer."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
