"""CSV downloads, with cells that are safe to open in a spreadsheet.

`csv_response` streams a table as a CSV download: every screen's export goes
through it, row by row (a queue of many thousand cases is never held whole).

A text cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return,
per OWASP's CSV injection advice) is read as a formula by Excel, LibreOffice
and Google Sheets: `=HYPERLINK("http://evil", "click")` in a location name or
a case comment would become a live link in a planner's export. Such a cell
gets a leading single quote, which spreadsheets show as text.

Only text is neutralised: numbers (int, Decimal, float) stay numbers, so a
quantity of -5 is exported as -5, not '-5.
"""
import csv
from itertools import chain

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value` as it may go into a CSV cell: text that a spreadsheet would
    read as a formula is prefixed with a single quote; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(values):
    return [safe_cell(value) for value in values]


class SafeWriter:
    """csv.writer whose rows go through safe_row()."""

    def __init__(self, handle, *args, **kwargs):
        self._writer = csv.writer(handle, *args, **kwargs)

    def writerow(self, values):
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows):
        for values in rows:
            self.writerow(values)


def writer(handle, *args, **kwargs):
    """A drop-in for csv.writer that neutralises formula cells."""
    return SafeWriter(handle, *args, **kwargs)


class _Echo:
    """A file that hands back what is written: csv.writer's line, to stream."""

    def write(self, value):
        return value


def csv_response(filename, header, rows):
    """A CSV download of `header` and then `rows` (any iterable, read as it is
    sent), each cell made safe for spreadsheets."""
    csv_writer = writer(_Echo())
    lines = (csv_writer.writerow(row) for row in chain([header], rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
