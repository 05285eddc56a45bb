"""The shared shape of the master-data import commands: read a CSV file,
load what is valid, list the refused rows, print the summary."""
import csv

from django.core.management.base import BaseCommand, CommandError

from inventory.masterdata import MasterDataError, read_csv


class CsvImportCommand(BaseCommand):
    what = ""  # "the item master", ...
    columns = ()
    optional_columns = ()

    @staticmethod
    def load(rows):
        """The import function of inventory.masterdata; returns its ImportReport."""
        raise NotImplementedError

    @property
    def help(self):
        return (
            f"Load {self.what} from a CSV file (columns: {','.join(self.columns)}; "
            f"optional {','.join(self.optional_columns)}). Refused rows are listed; the rest of the file loads."
        )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                report = self.load(read_csv(handle, self.columns))
        except (OSError, UnicodeDecodeError, csv.Error, MasterDataError) as exc:
            raise CommandError(f"{file}: {exc}")
        for line in report.refusal_lines():
            self.stdout.write(line)
        self.stdout.write(report.summary())
