"""The sales summary phantom inventory reads (PositionSales and its window
row) is derived: the ledger rebuilds it. So PostgreSQL writes no WAL for it
(UNLOGGED: the day a look-back moves on, two million of its rows change),
and no foreign key is checked row by row. After a crash PostgreSQL empties
both tables together, and the next phantom run builds the summary anew.
A standby holds them empty: after a failover, the same. PostgreSQL only.
"""
import django.db.models.deletion
from django.db import migrations, models

TABLES = ("exceptions_positionsaleswindow", "exceptions_positionsales")


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET LOGGED")


class Migration(migrations.Migration):

    dependencies = [
        ('exceptions', '0026_position_sales_fillfactor'),
        ('inventory', '0025_till_transactions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='positionsales',
            name='location',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='inventory.location'),
        ),
        migrations.AlterField(
            model_name='positionsales',
            name='sku',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='inventory.sku'),
        ),
        migrations.RunPython(unlogged, logged),
    ]
