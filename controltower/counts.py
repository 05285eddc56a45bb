"""Counts a page can afford: exact up to a cap, "10,000+" beyond it.

An estate posts millions of ledger events a day and may hold many thousand
positions in some state; a page that counts them all on every load gets
slower every day. Beyond the cap, the exact number says nothing a person acts on."""
from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


def capped_count(queryset):
    """How many rows, counting at most COUNT_CAP + 1 of them (the queryset's
    order and related rows dropped: they would be sorted and joined first)."""
    return queryset.order_by().values("pk")[:COUNT_CAP + 1].count()


def capped_text(count):
    """ "10,000+" for a count past the cap, else the count with thousands separators."""
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


class CappedPaginator(Paginator):
    """Pages of a list that may hold millions of rows (the ledger, the
    journeys), its count capped: a page shows "10,000+"; an export has every row."""

    @cached_property
    def count(self):
        return capped_count(self.object_list)
