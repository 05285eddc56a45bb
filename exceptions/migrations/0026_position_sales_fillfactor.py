"""PositionSales keeps a third of each page free: the day a look-back moves
on, a third of its rows change, and a row updated within its own page
(a HOT update) leaves its unique index alone. PostgreSQL only."""
from django.db import migrations

FILLFACTOR = 70


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE exceptions_positionsales SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE exceptions_positionsales RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("exceptions", "0025_reported_cases_without_reference"),
    ]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
