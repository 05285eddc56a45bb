"""The records behind a measured number, as a page a person reads.

Every metric's Reading names where its records are listed (records_url).
For records that have no screen of their own (ledger lines, rejections,
SKUs, count variances...), the app that owns them registers a record list
here from its AppConfig.ready(), as it registers its metrics and screens:
a name, a label, who may see it, the rows a person sees (already narrowed
by controltower.scoping), the FilterSet that narrows them (the API's own,
so a link's filters mean the same on the page) and the columns in words.
One page (controltower.web.views.records) shows any of them as a table
with its filters, pages and a CSV export.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.urls import reverse

from .metrics import records_url


def everyone(user):
    return True


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable  # row -> what the cell shows (None: empty)
    kind: str = "text"  # "text", "number" (right-aligned) or "time" (shown as a date and time)
    link: Callable | None = None  # row -> a page of the app about the row ("" for none)


@dataclass(frozen=True)
class RecordList:
    name: str
    label: str  # "Ledger lines"
    description: str  # what one row is, in a sentence
    rows: Callable  # user -> the queryset of what `user` may see, in the order shown
    filterset: type  # a django_filters.FilterSet over those rows
    columns: tuple
    may_see: Callable = everyone  # user -> bool (the permissions predicate of these records)


_lists: dict[str, RecordList] = {}


def register(name, label, *, description, rows, filterset, columns, may_see=everyone):
    """Add a record list (called from an app's AppConfig.ready())."""
    _lists[name] = RecordList(name, label, description, rows, filterset, tuple(columns), may_see)


def get(name) -> RecordList | None:
    return _lists.get(name)


def url(name, **filters):
    """The records page of list `name` with `filters` (metrics.records_url's rules): a Reading's records_url."""
    return records_url(reverse("records", args=[name]), **filters)


def cells(record_list, row):
    """(column, value, link) of one row, in the list's column order."""
    return [(column, column.value(row), column.link(row) if column.link else "") for column in record_list.columns]


def csv_value(value):
    """A cell as the CSV holds it: times in ISO 8601, None empty."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
