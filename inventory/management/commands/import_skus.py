import csv

from django.core.management.base import BaseCommand, CommandError

from inventory.masterdata import (
    SKU_COLUMNS,
    SKU_OPTIONAL_COLUMNS,
    MasterDataError,
    import_skus,
    read_csv,
)


class Command(BaseCommand):
    help = (
        f"Load the item master from a CSV file (columns: {','.join(SKU_COLUMNS)}; "
        f"optional {','.join(SKU_OPTIONAL_COLUMNS)}). Refused rows are listed; the rest of the file loads."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                report = import_skus(read_csv(handle, SKU_COLUMNS))
        except (OSError, UnicodeDecodeError, csv.Error, MasterDataError) as exc:
            raise CommandError(f"{file}: {exc}")
        for line in report.refusal_lines():
            self.stdout.write(line)
        self.stdout.write(report.summary())
