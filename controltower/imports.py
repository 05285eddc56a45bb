"""Loads of rows, from a CSV file or an API list: what every import shares.

A load validates each row before it writes; a refused row writes nothing and
is listed in its ImportReport with its row number, code and {field:
[messages]}, and the rest still loads. Rows are numbered from 1, the first
under the header. ImportRefused is the input refused as a whole (e.g. a
required column missing).

read_csv_file() is how every import command opens its file: a missing or
unreadable file, a file that is not UTF-8 (naming the line and byte), a
broken CSV line or a missing column is one CommandError line, not a
traceback. CsvImportCommand is the shape of a command that loads a CSV file
with an import function and prints the refused rows and the summary; one
whose load is in the audit trail takes `--by USERNAME`, the person the trail
names for it."""
import codecs
import contextlib
import csv
import io
from dataclasses import dataclass, field

from auditlog.context import set_actor
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class ImportRefused(ValueError):
    """The input as a whole cannot be imported (e.g. required columns missing)."""


@dataclass
class RefusedRow:
    row: int
    code: str
    errors: dict

    def as_dict(self):
        return {"row": self.row, "code": self.code, "errors": self.errors}


@dataclass
class ImportReport:
    label: str  # "SKU" or "location", for the messages
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list = field(default_factory=list)

    @property
    def loaded(self):
        return self.created + self.updated + self.unchanged

    def summary(self):
        return (
            f"Loaded {self.loaded} {self.label}s ({self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged); refused {len(self.refused)}"
        )

    def refusal_lines(self):
        """One line per refused row and field: `Row 3, SKU MILK1: unit_cost: Must not be negative.`"""
        for refused in self.refused:
            for name, messages in refused.errors.items():
                yield f"Row {refused.row}, {self.label} {refused.code or '(no code)'}: {name}: {' '.join(messages)}"

    def as_dict(self):
        return {
            "loaded": self.loaded,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": [r.as_dict() for r in self.refused],
        }


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


def add_by_argument(parser):
    parser.add_argument("--by", metavar="USERNAME",
                        help="The person the file is loaded for: the audit trail names them (without it: no person).")


def acting_for(username):
    """While loading, the audit trail names the person `username` (None: no person)."""
    if username is None:
        return contextlib.nullcontext()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--by: no person with the username {username!r}.")
    return set_actor(user)


class CsvImportCommand(BaseCommand):
    what = ""  # "the item master", ...
    columns = ()
    optional_columns = ()
    audited = False  # what it loads is in the audit trail: it takes --by

    @staticmethod
    def load(rows):
        """The import function (e.g. inventory.masterdata.import_skus); returns its ImportReport."""
        raise NotImplementedError

    @property
    def help(self):
        return (
            f"Load {self.what} from a CSV file (columns: {','.join(self.columns)}; "
            f"optional {','.join(self.optional_columns)}). Refused rows are listed; the rest of the file loads."
        )

    def add_arguments(self, parser):
        parser.add_argument("file")
        if self.audited:
            add_by_argument(parser)

    def handle(self, *args, file, by=None, **options):
        rows = read_csv_file(file, self.columns)
        try:
            with acting_for(by):
                report = self.load(rows)
        except ImportRefused as exc:
            raise CommandError(f"{file}: {exc}")
        for line in report.refusal_lines():
            self.stdout.write(line)
        self.stdout.write(report.summary())
