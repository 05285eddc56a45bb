"""The records behind the rolled-up values open pages of the app, not the
API: the records_url of the rows already written move to those pages
(controltower.records; the journeys and cases screens)."""
from urllib.parse import parse_qsl, urlencode

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Replace

# (the API or admin list, the page with the same filters)
MOVED = (
    ("/api/v1/cases", "/cases/"),
    ("/api/v1/events", "/records/events/"),
    ("/api/v1/rejections", "/records/rejections/"),
    ("/api/v1/skus", "/records/skus/"),
    ("/api/v1/accuracy", "/records/count-variances/"),
    ("/api/v1/ingest-days", "/records/ingest-days/"),
    ("/api/v1/journeys", "/journeys/"),
)


def move(apps, schema_editor):
    KpiDay = apps.get_model("controltower", "KpiDay")
    Location = apps.get_model("inventory", "Location")
    for old, new in MOVED:
        for after in ("?", ""):
            rows = KpiDay.objects.filter(records_url=old) if not after else KpiDay.objects.filter(
                records_url__startswith=old + after)
            rows.update(records_url=Replace("records_url", Value(old + after), Value(new + after)))
    # Renamed filters: the barcode clashes' refusal time, the training records' locations by code.
    clashes = KpiDay.objects.filter(records_url__startswith="/admin/inventory/barcodeclash/")
    clashes.update(records_url=Replace("records_url", Value("/admin/inventory/barcodeclash/"),
                                       Value("/records/barcode-clashes/")))
    for name, renamed in (("refused_at__gte=", "since="), ("refused_at__lt=", "until=")):
        KpiDay.objects.filter(records_url__startswith="/records/barcode-clashes/").update(
            records_url=Replace("records_url", Value(name), Value(renamed)))
    codes = dict(Location.objects.values_list("pk", "code"))
    training = list(KpiDay.objects.filter(records_url__startswith="/api/v1/training"))
    for row in training:
        query = dict(parse_qsl(row.records_url.partition("?")[2]))
        ids = [int(pk) for pk in query.get("location_id", "").split(",") if pk.isdigit()]
        wanted = {"locations": ",".join(sorted(codes[pk] for pk in ids if pk in codes))} if ids else {}
        row.records_url = "/records/training/" + (f"?{urlencode(wanted)}" if wanted else "")
    KpiDay.objects.bulk_update(training, ["records_url"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("controltower", "0003_kpi_day_by_day"),
        ("inventory", "0017_rejection_dismissal_master_data_changes"),
    ]

    operations = [
        migrations.RunPython(move, migrations.RunPython.noop),
    ]
