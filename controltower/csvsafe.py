"""CSV cells that are safe to open in a spreadsheet.

A text cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return,
per OWASP's CSV injection advice) is read as a formula by Excel, LibreOffice
and Google Sheets: `=HYPERLINK("http://evil", "click")` in a location name or
a case comment would become a live link in a planner's export. Such a cell
gets a leading single quote, which spreadsheets show as text.

Only text is neutralised: numbers (int, Decimal, float) stay numbers, so a
quantity of -5 is exported as -5, not '-5.
"""
import csv

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
