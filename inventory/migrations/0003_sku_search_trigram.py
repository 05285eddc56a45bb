"""The SKU search's indexes on PostgreSQL: code and description by trigram,
so `icontains` on either (the case queue's search, the SKU API) reads an
index instead of the whole item master. SQLite needs none (see
exceptions 0004 for the extension)."""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {"sku_code_trgm": "code", "sku_description_trgm": "description"}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON inventory_sku USING gin (UPPER({column}::text) gin_trgm_ops)"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_snapshots_po_lines")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
