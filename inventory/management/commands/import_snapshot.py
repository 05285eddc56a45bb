"""import_snapshot SOURCE FILE --as-of TIME [--kind on_hand|valuation] [--scope lines|full]: load a
snapshot from a CSV file (columns location, sku, barcode, state, quantity, unit, value)."""
from django.core.management.base import BaseCommand, CommandError

from controltower.imports import read_csv_file
from inventory.models import Snapshot, SourceSystem
from inventory.snapshots import SnapshotError, ingest_snapshot


class Command(BaseCommand):
    help = "Load a snapshot of SOURCE from a CSV file; refused lines are listed with their file line."

    def add_arguments(self, parser):
        parser.add_argument("source", help="Source system code, e.g. ERP")
        parser.add_argument("file", help="CSV with columns location,sku,barcode,state,quantity,unit,value")
        parser.add_argument("--as-of", required=True, help="ISO 8601 time with offset")
        parser.add_argument(
            "--kind", choices=Snapshot.Kind.values, default=Snapshot.Kind.ON_HAND,
            help="on_hand (the default) or valuation (the ERP's financial valuation, with values)",
        )
        parser.add_argument(
            "--scope", default=Snapshot.Scope.LINES,
            help="lines (the default: speaks for the lines in the file only) or full (every SKU of the "
                 "locations in the file: a SKU not listed counts as zero there)",
        )

    def handle(self, *args, **options):
        source = SourceSystem.objects.filter(code=options["source"]).first()
        if source is None:
            raise CommandError(f"Unknown source system '{options['source']}'.")
        lines = read_csv_file(options["file"], ("location", "quantity"), any_of=("sku", "barcode"))
        try:
            report = ingest_snapshot(source, options["as_of"], lines, kind=options["kind"], scope=options["scope"])
        except SnapshotError as exc:
            raise CommandError(str(exc))
        for rejected in report.rejected:
            # File line numbers: the header is line 1.
            self.stderr.write(f"line {rejected['index'] + 2}: {rejected['errors']}")
        counts = report.counts
        self.stdout.write(
            f"Snapshot {report.snapshot.pk if report.snapshot else '-'} of {source.code}: "
            f"{counts['accepted']} lines loaded, {counts['rejected']} refused."
        )
