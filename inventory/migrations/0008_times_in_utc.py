"""Every stored time in UTC on SQLite.

Raw inserts on SQLite stored times with the sender's offset
('2026-11-23 10:15:00+01:00'), which SQLite compares as text against the
ORM's naive UTC ('2026-11-23 09:15:00'). This rewrites each such value in
the ORM's form. PostgreSQL (timestamptz) has nothing to convert.
"""
from datetime import datetime, timezone

from django.db import migrations

COLUMNS = {
    "inventory_inventoryevent": ("occurred_at", "received_at"),
    "inventory_countanchor": ("counted_at",),
    "inventory_transfer": ("shipped_at", "received_at"),
    "inventory_position": ("updated_at",),
    "inventory_snapshot": ("as_of", "received_at"),
    "inventory_purchaseorderline": ("expected_at", "updated_at"),
    "inventory_sourcesystem": ("last_event_at",),
    "inventory_rejectedevent": ("received_at", "replayed_at"),
}


def utc_text(connection, value):
    # Django's SQLite converters may already have parsed the text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return connection.ops.adapt_datetimefield_value(value.astimezone(timezone.utc))


def to_utc(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            for column in columns:
                # An offset suffix is '+HH:MM' or '-HH:MM' at the end, or 'Z'.
                cursor.execute(
                    f"SELECT id, {column} FROM {table} "
                    f"WHERE {column} LIKE '%+__:__' OR {column} LIKE '%-__:__' OR {column} LIKE '%Z'"
                )
                rows = [(utc_text(connection, value), pk) for pk, value in cursor.fetchall()]
                cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s", rows)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0007_ledger_received_brin")]
    operations = [migrations.RunPython(to_utc, migrations.RunPython.noop)]
