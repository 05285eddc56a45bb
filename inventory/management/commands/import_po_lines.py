"""import_po_lines FILE: load PO lines from a CSV file
(columns po_number, line, location, sku, quantity, expected_at; optional status)."""
from django.core.management.base import BaseCommand, CommandError

from controltower.imports import read_csv_file
from inventory.purchase_orders import PurchaseOrderError, import_po_lines

REQUIRED_COLUMNS = ("po_number", "line", "location", "sku", "quantity")


class Command(BaseCommand):
    help = "Load or update PO lines from a CSV file; refused rows are listed with their file line."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with columns po_number,line,location,sku,quantity,expected_at")

    def handle(self, *args, **options):
        rows = read_csv_file(options["file"], REQUIRED_COLUMNS)
        try:
            report = import_po_lines(rows)
        except PurchaseOrderError as exc:
            raise CommandError(str(exc))
        for rejected in report.rejected:
            self.stderr.write(f"line {rejected['index'] + 2}: {rejected['errors']}")
        counts = report.counts
        self.stdout.write(f"{counts['accepted']} PO lines loaded, {counts['rejected']} refused.")
