"""The tills' own totals per store and business day, beside what the tower
booked from their lines and what the ERP posted: the store-day sales check.

A POSLog document says, for each retail transaction, what it came to
(`TransactionGrandAmount`, tax) and which lines it sold; the POSLog adapter
keeps one TillTransaction per transaction (`record_till_transactions`).
`store_day_sales` puts, per source, store and business day, the tills'
transactions and amounts beside the units the ledger booked from them
(their sale and return lines, found by the receipt each line names as its
reference) and the units the ERP posted (`sales_posting` events at the
location on that local day). Finance reads it on the API
(`GET /api/v1/poslog/store-days`); the reconciliation may call it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db.models import Sum

from controltower.db import chunks, db_time, local_day_sql, select_rows

from .models import EventType, InventoryEvent, TillTransaction

COUNTED = "counted"


def receipt(store, workstation, sequence, business_day):
    """The reference the POSLog adapter gives each line of a transaction."""
    return f"{store}/{workstation}/{sequence}/{business_day}"


def record_till_transactions(source, totals, locations, received_at):
    """Keep (or update, on a resend) one TillTransaction per TillTotals of a
    document. `locations`: store id -> the tower's Location, where known.
    Transactions without a readable business day are not kept (their lines
    were answered on their own)."""
    rows = {}
    for item in totals:
        till = item.till
        try:
            day = date.fromisoformat(till.business_day)
        except ValueError:
            continue
        if not (till.store and till.workstation and till.sequence) or max(
            len(till.store), len(till.workstation), len(till.sequence)
        ) > 64:
            continue
        location = locations.get(till.store)
        rows[(till.store, till.workstation, till.sequence, day)] = TillTransaction(
            source=source, store=till.store, location_id=location.pk if location else None,
            workstation=till.workstation, sequence=till.sequence, business_day=day,
            ended_at=till.ended_at[:40], cashier=till.cashier[:64], currency=till.currency[:3],
            grand_amount=_money(item.grand_amount), tax_amount=_money(item.tax_amount),
            status=item.status, sale_lines=item.sale_lines, return_lines=item.return_lines,
            ignored_lines=item.ignored_lines, received_at=received_at,
        )
    TillTransaction.objects.bulk_create(
        rows.values(), update_conflicts=True,
        unique_fields=["source", "store", "workstation", "sequence", "business_day"],
        update_fields=["location", "ended_at", "cashier", "currency", "grand_amount", "tax_amount", "status",
                       "sale_lines", "return_lines", "ignored_lines", "received_at"],
    )
    return len(rows)


def _money(value):
    """An amount that fits the column (12 digits before the point), else None."""
    if value is None or abs(value) >= Decimal(10) ** 12:
        return None
    return value.quantize(Decimal("0.01"))


@dataclass
class StoreDay:
    source: str
    store: str
    location: str | None  # the tower's location code, when the store id names one
    business_day: date
    transactions: int = 0  # counted (finished, not training)
    not_counted: int = 0  # training mode, suspended, voided...
    grand_amount: Decimal = Decimal("0.00")
    tax_amount: Decimal = Decimal("0.00")
    sale_lines: int = 0
    return_lines: int = 0
    sold_units: int = 0  # booked in the ledger from the tills' sale lines (base units)
    returned_units: int = 0
    erp_posted_units: int | None = None  # None: the ERP posted nothing there that day
    receipts: list = field(default_factory=list, repr=False)
    location_id: int | None = field(default=None, repr=False)

    @property
    def gap_units(self):
        """Units the tills sold that the ERP did not post (None when it posted nothing)."""
        return None if self.erp_posted_units is None else self.sold_units - self.erp_posted_units


def store_day_sales(start: date, end: date, sources=None, locations=None) -> list[StoreDay]:
    """The store days from `start` to `end` (both included), by source, store
    and business day. `sources`, `locations`: querysets (or id lists) to keep."""
    transactions = TillTransaction.objects.filter(business_day__gte=start, business_day__lte=end)
    if sources is not None:
        transactions = transactions.filter(source__in=sources)
    if locations is not None:
        transactions = transactions.filter(location__in=locations)
    days = {}
    for row in transactions.values_list(
        "source_id", "source__code", "store", "location_id", "location__code", "business_day",
        "workstation", "sequence", "status", "grand_amount", "tax_amount",
        "sale_lines", "return_lines",
    ).order_by("business_day", "source__code", "store"):
        (source_id, source_code, store, location_id, location_code, day, workstation, sequence,
         status, grand, tax, sale_lines, return_lines) = row
        key = (source_id, store, day)
        if key not in days:
            days[key] = StoreDay(source_code, store, location_code, day, location_id=location_id)
        store_day = days[key]
        if status != COUNTED:
            store_day.not_counted += 1
            continue
        store_day.transactions += 1
        store_day.grand_amount += grand or 0
        store_day.tax_amount += tax or 0
        store_day.sale_lines += sale_lines
        store_day.return_lines += return_lines
        store_day.receipts.append(receipt(store, workstation, sequence, day.isoformat()))
    _booked_units(days)
    _erp_posted_units(days)
    return list(days.values())


def _booked_units(days):
    by_receipt = {}
    for (source_id, _store, _day), store_day in days.items():
        for ref in store_day.receipts:
            by_receipt[(source_id, ref)] = store_day
    per_source = defaultdict(list)
    for source_id, ref in by_receipt:
        per_source[source_id].append(ref)
    for source_id, refs in per_source.items():
        for some in chunks(refs, 5000):
            booked = (
                InventoryEvent.objects.filter(source_id=source_id, reference__in=some,
                                              type__in=[EventType.SALE, EventType.RETURN])
                .values_list("reference", "type").annotate(units=Sum("quantity"))
            )
            for ref, kind, units in booked:
                store_day = by_receipt[(source_id, ref)]
                if kind == EventType.SALE:
                    store_day.sold_units += units
                else:
                    store_day.returned_units += units


def _erp_posted_units(days):
    """The ERP's sales postings of the store days' locations, per local day:
    one query (the local day on PostgreSQL; SQLite knows no time zones, the
    UTC day there)."""
    located = [store_day for store_day in days.values() if store_day.location_id is not None]
    if not located:
        return
    first = min(d.business_day for d in located)
    last = max(d.business_day for d in located)
    day = local_day_sql("e.occurred_at", "loc.timezone")
    # A day wider on each side in UTC: a store day may start or end there.
    posted = {
        (location_id, value if isinstance(value, date) else date.fromisoformat(value)): units
        for location_id, value, units in select_rows(
            f"SELECT e.location_id, {day}, SUM(e.quantity) FROM inventory_inventoryevent e "
            "JOIN inventory_location loc ON loc.id = e.location_id "
            f"WHERE e.type = %s AND e.occurred_at >= %s AND e.occurred_at < %s AND e.location_id {{}} "
            f"GROUP BY e.location_id, {day}",
            {d.location_id for d in located},
            params=[EventType.SALES_POSTING, db_time(_midnight(first - timedelta(days=1))),
                    db_time(_midnight(last + timedelta(days=2)))],
        )
    }
    for store_day in located:
        store_day.erp_posted_units = posted.get((store_day.location_id, store_day.business_day))


def _midnight(day):
    return datetime.combine(day, time(), tzinfo=dt_timezone.utc)
