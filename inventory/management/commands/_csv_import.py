"""The shared shape of the CSV import commands: read a CSV file, load what is
valid, list the refused rows, print the summary.

read_csv_file() is how every import command (import_locations, import_skus,
import_po_lines, import_snapshot) opens its file: a missing or unreadable
file, a file that is not UTF-8 (naming the line and byte), a broken CSV line
or a missing column is one CommandError line, not a traceback."""
import codecs
import csv
import io

from django.core.management.base import BaseCommand, CommandError

from inventory.masterdata import MasterDataError

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _text(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file.")
    except IsADirectoryError:
        raise CommandError(f"{path}: is a folder, not a CSV file.")
    except OSError as exc:
        raise CommandError(f"{path}: cannot be read ({exc.strerror or exc}).")
    if data.startswith(UTF16_BOMS):
        raise CommandError(f"{path}: is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8).")
    if data.startswith(codecs.BOM_UTF8):  # Excel's "CSV UTF-8" starts with a BOM
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CommandError(
            f"{path}: line {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; "
            "save the file as UTF-8 (in Excel: CSV UTF-8)."
        )


def read_csv_file(path, required, any_of=()):
    """The rows of the CSV file at `path` as dicts, after checking that its
    header has every `required` column and, when `any_of` is given, one of
    those. Raises CommandError with one clear line."""
    text = _text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [name for name in required if name not in header]
        if any_of and not set(any_of) & set(header):
            missing.append(" or ".join(any_of))
        if missing:
            found = ", ".join(header) if header else "none (the file is empty)"
            raise CommandError(f"{path}: Missing column(s): {', '.join(missing)} (the header has {found}).")
        return list(reader)
    except csv.Error as exc:
        raise CommandError(f"{path}: line {reader.line_num}: {exc}.")


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
        rows = read_csv_file(file, self.columns)
        try:
            report = self.load(rows)
        except MasterDataError as exc:
            raise CommandError(f"{file}: {exc}")
        for line in report.refusal_lines():
            self.stdout.write(line)
        self.stdout.write(report.summary())
