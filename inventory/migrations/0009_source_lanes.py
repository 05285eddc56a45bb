"""Sources stay in their lane: who may load master data and PO lines, the
locations, event types and snapshot kinds each source may send (empty: no
restriction, so existing sources keep working), and the kind of a snapshot.

Existing snapshots whose lines carry a value are the ERP's valuations; the
rest are on-hand snapshots.
"""
from django.db import migrations, models
from django.db.models import Exists, OuterRef


def mark_valuations(apps, schema_editor):
    Snapshot = apps.get_model("inventory", "Snapshot")
    SnapshotLine = apps.get_model("inventory", "SnapshotLine")
    valued = SnapshotLine.objects.filter(snapshot=OuterRef("pk"), value__isnull=False)
    Snapshot.objects.filter(Exists(valued)).update(kind="valuation")


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0008_times_in_utc"),
    ]

    operations = [
        migrations.AddField(
            model_name="snapshot",
            name="kind",
            field=models.CharField(
                choices=[("on_hand", "On hand"), ("valuation", "Valuation")], default="on_hand", max_length=16
            ),
        ),
        migrations.AddField(
            model_name="sourcesystem",
            name="lane_event_types",
            field=models.JSONField(
                blank=True, default=list, help_text="The event types this source may send; none: every type."
            ),
        ),
        migrations.AddField(
            model_name="sourcesystem",
            name="lane_locations",
            field=models.ManyToManyField(
                blank=True, help_text="The locations this source feeds; none: every location.",
                related_name="lane_sources", to="inventory.location",
            ),
        ),
        migrations.AddField(
            model_name="sourcesystem",
            name="lane_snapshot_kinds",
            field=models.JSONField(
                blank=True, default=list, help_text="The snapshot kinds this source may send; none: every kind."
            ),
        ),
        migrations.AddField(
            model_name="sourcesystem",
            name="loads_master_data",
            field=models.BooleanField(
                default=False, help_text="May load locations, SKUs and PO lines (an ERP source always may)."
            ),
        ),
        migrations.RunPython(mark_valuations, migrations.RunPython.noop),
    ]
