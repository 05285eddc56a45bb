"""A BRIN index on the ledger's received_at, on PostgreSQL: "events received
in the last 24 hours" reads the newest block ranges instead of the whole
ledger. Lines arrive in received order, so the index stays a few pages and
costs an insert almost nothing (a btree would cost every COPY line).
SQLite keeps no such index; the embedded ledger is small."""
from django.db import migrations

INDEX = "ledger_received_brin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON inventory_inventoryevent USING brin (received_at)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0006_ledger_transfer_arrival_index")]

    operations = [migrations.RunPython(create_index, drop_index)]
