"""The free-text search's index on PostgreSQL: case references by trigram, so
`reference__icontains` (UPPER(reference) LIKE '%...%') reads an index instead
of every case. pg_trgm ships with PostgreSQL and is a trusted extension: the
database owner may create it. SQLite has no such index and needs none."""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "case_reference_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON exceptions_case USING gin (UPPER(reference::text) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0003_case_queue_indexes")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index),
    ]
