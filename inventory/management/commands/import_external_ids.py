from django.core.management.base import BaseCommand, CommandError

from controltower.imports import ImportRefused, acting_for, add_by_argument, read_csv_file
from inventory.external_ids import COLUMNS, import_external_ids
from inventory.models import SourceSystem


class Command(BaseCommand):
    help = (
        "Load a source's own ids of the tower's locations and SKUs from a CSV file (columns: "
        f"{','.join(COLUMNS)}; kind location or sku, code the tower's location or SKU code). "
        "Refused rows are listed by row and field, and then nothing of the file loads."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="The source system's code, e.g. POS-NCR or SHOPIFY")
        parser.add_argument("file")
        add_by_argument(parser)

    def handle(self, *args, source, file, by=None, **options):
        found = SourceSystem.objects.filter(code=source).first()
        if found is None:
            raise CommandError(f"No source system {source!r} (manage.py add_source creates one).")
        rows = read_csv_file(file, COLUMNS)
        try:
            with acting_for(by):
                report = import_external_ids(found, rows)
        except ImportRefused as exc:
            raise CommandError(f"{file}: {exc}")
        for line in report.refusal_lines():
            self.stdout.write(line)
        if report.refused:
            raise CommandError(
                f"{file}: {len(report.refused)} row(s) refused; nothing loaded. Fix them and load the file again.")
        self.stdout.write(
            f"Loaded {report.loaded} external ids of {found.code} ({report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged)."
        )
