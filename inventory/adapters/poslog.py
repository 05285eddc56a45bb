"""ARTS / NRF POSLog (IXRetail): a till's transaction log as XML.

One `POSLog` document holds transactions; each `RetailTransaction` holds
line items. Every line item becomes one item of the answer, in document
order: a `sale` or `return` event, or an `Ignored` marker with its reason.
The rules (docs/formats.md has the mapping table):

- `Sale` lines are sales, `Return` lines and sales of a negative quantity
  are returns; only stock items move stock (`ItemType` absent or `Stock`).
- No inventory effect, counted as ignored: a transaction in training mode,
  one not finished (suspended, voided, cancelled: its resumed transaction
  carries the lines, counted once), a `ControlTransaction` or any other
  transaction without sales, a line voided or cancelled, and every line that
  is not an item (tender, tax, loyalty...). A till that voids a line by
  adding a voiding line of the opposite quantity (NCR ACS does) voids the
  line it undoes too.
- The item: its `POSIdentity POSIDType="GTIN"` (matched to the SKU's
  barcodes by the ledger's validation), else its `ItemID`. The unit: the
  `UnitOfMeasureCode` of `Quantity`; a weighed line without one is in
  settings.POSLOG_WEIGHT_UNIT; else the SKU's base unit.
- The key of a line: store/workstation/sequence number/business day/line
  sequence number. The operator is the event's cashier.
- A till's time without a UTC offset is its store's local time.

The parser is defusedxml's: a document declaring a DTD or an entity is
refused whole, never expanded and never fetched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.conf import settings
from django.utils import timezone

from controltower.db import chunks

from ..identifiers import resolve
from ..ledger import IngestReport, ingest_events
from ..models import Location
from ..till_totals import record_till_transactions
from .registry import Adapter, Ignored, Unparseable

NAMESPACES = (
    "http://www.nrf-arts.org/IXRetail/namespace/",
    "http://www.nrf-arts.org/IXRetail/v6.0.0/poslog",
)
TRUE = ("true", "1")
# RetailTransaction TransactionStatus values of a transaction that did not
# complete as a sale: its lines never left the store (absent: finished).
NOT_FINISHED = {
    "suspended", "suspendeddeleted", "suspendedretrieved", "voided", "postvoided",
    "cancelled", "canceled", "inprocess", "totaled", "tendered",
}

# Reasons of ignored lines (short fixed phrases, counted per reason).
TRAINING = "training mode"
NOT_DONE = "not finished"
VOID = "void"
CONTROL = "control transaction"
NOT_AN_ITEM = "non-inventory line"
NOT_STOCK = "non-stock item"


def local(tag):
    """The element name without its namespace: '{ns}Sale' -> 'Sale'."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def flag(element, name):
    """A POSLog flag: an attribute, or a child element as some tills write it."""
    value = element.get(name)
    if value is None:
        node = child(element, name)
        value = node.text if node is not None else ""
    return (value or "").strip().lower() in TRUE


def child(element, name):
    """The first child named `name` in any namespace (NCR writes some in its own)."""
    for node in element:
        if local(node.tag) == name:
            return node
    return None


def children(element, name):
    return [node for node in element if local(node.tag) == name]


def text(element, name):
    node = child(element, name)
    return (node.text or "").strip() if node is not None else ""


@dataclass
class Till:
    """The header of one transaction: where, which till, which receipt."""

    store: str
    workstation: str
    sequence: str
    business_day: str
    ended_at: str
    cashier: str
    currency: str

    @property
    def receipt(self):
        return f"{self.store}/{self.workstation}/{self.sequence}/{self.business_day}"


@dataclass
class TillTotals:
    """What a retail transaction says it came to, for the store-day sales check."""

    till: Till
    status: str  # "counted", or the reason its lines were ignored
    grand_amount: Decimal | None
    tax_amount: Decimal | None
    sale_lines: int = 0
    return_lines: int = 0
    ignored_lines: int = 0


@dataclass
class Document:
    root: object
    # store id -> its timezone, for till times without an offset (set by post()).
    zones: dict = field(default_factory=dict)


def store_of(transaction):
    """RetailStoreID, else the BusinessUnit/UnitID of type RetailStore, else the first UnitID."""
    store = text(transaction, "RetailStoreID")
    if store:
        return store
    units = [child(unit, "UnitID") for unit in children(transaction, "BusinessUnit")]
    units = [unit for unit in units if unit is not None]
    for unit in units:
        if (unit.get("TypeCode") or "").lower() == "retailstore":
            return (unit.text or "").strip()
    return (units[0].text or "").strip() if units else ""


def ended_at(transaction):
    for name in ("EndDateTime", "POSLogDateTime", "BeginDateTime"):
        value = text(transaction, name)
        if value:
            return value
    return ""


def till_of(transaction):
    return Till(
        store=store_of(transaction),
        workstation=text(transaction, "WorkstationID"),
        sequence=text(transaction, "SequenceNumber"),
        business_day=text(transaction, "BusinessDayDate"),
        ended_at=ended_at(transaction),
        cashier=text(transaction, "OperatorID"),
        currency=text(transaction, "CurrencyCode"),
    )


def amount(body, total_type):
    for total in children(body, "Total"):
        if total.get("TotalType") == total_type:
            try:
                value = Decimal((total.text or "").strip())
            except InvalidOperation:
                return None
            return value if value.is_finite() else None
    return None


def quantity_of(item):
    """(quantity as Decimal or the text as sent, unit or ''). No Quantity is one."""
    node = child(item, "Quantity")
    if node is None:
        return Decimal(1), ""
    raw = (node.text or "").strip()
    try:
        quantity = Decimal(raw)
    except InvalidOperation:
        quantity = raw  # the ledger's validation names the field
    else:
        if not quantity.is_finite():
            quantity = raw
    return quantity, (node.get("UnitOfMeasureCode") or "").strip()


def item_id(item):
    for identity in children(item, "POSIdentity"):
        if (identity.get("POSIDType") or "").upper() == "GTIN":
            gtin = text(identity, "POSItemID")
            if gtin:
                return gtin
    return text(item, "ItemID")


def weighed(line_item, quantity):
    """A line sold by weight that does not say its unit: marked so by its
    till (NCR's weightItem) or of a fractional quantity."""
    if any(local(name) == "weightItem" and value.strip().lower() in TRUE for name, value in line_item.attrib.items()):
        return True
    return isinstance(quantity, Decimal) and quantity != quantity.to_integral_value()


def occurred_at(till, zones):
    """The till's end time, with its store's offset when it has none."""
    try:
        parsed = datetime.fromisoformat(till.ended_at)
    except ValueError:
        return till.ended_at  # refused by the ledger's validation, naming occurred_at
    zone = zones.get(till.store)
    if parsed.tzinfo is None and zone is not None:
        return parsed.replace(tzinfo=zone).isoformat()
    return till.ended_at


class Line:
    """One line item of a retail transaction, read."""

    __slots__ = ("element", "item", "kind", "sequence", "voided", "undone_by", "quantity", "unit", "sku")

    def __init__(self, element):
        self.element = element
        self.sequence = text(element, "SequenceNumber")
        self.voided = (
            "line cancelled" if flag(element, "CancelFlag") else "line voided" if flag(element, "VoidFlag") else ""
        )
        self.undone_by = ""
        self.item = child(element, "Sale")
        if self.item is None:
            self.item = child(element, "Return")
        self.kind = local(self.item.tag) if self.item is not None else ""
        if self.item is not None:
            self.quantity, self.unit = quantity_of(self.item)
            self.sku = item_id(self.item)

    def undoes(self, other):
        """This voiding line of a negative quantity undoes `other`: the same
        item, the opposite quantity. (A till that flags the voided line itself
        sends its quantity as rung up, positive: it undoes nothing else.)"""
        return (
            other.item is not None and not other.voided and not other.undone_by
            and other.kind == self.kind and other.sku == self.sku
            and isinstance(other.quantity, Decimal) and isinstance(self.quantity, Decimal)
            and self.quantity < 0 and other.quantity == -self.quantity
        )


class POSLog(Adapter):
    name = "poslog"
    content_types = ("application/xml", "text/xml")
    key_rule = (
        "The line's store, workstation, transaction sequence number, business day and line "
        "sequence number: store/workstation/sequence/day/line."
    )
    ignored_reasons = (TRAINING, NOT_DONE, VOID, CONTROL, NOT_AN_ITEM, NOT_STOCK)

    def parse(self, body):
        try:
            root = fromstring(body or b"", forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException:
            raise Unparseable("The document declares a DTD or an entity: refused, never expanded or fetched.")
        except ParseError as exc:
            raise Unparseable(f"The body is not well-formed XML: {exc}.")
        namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        if local(root.tag) != "POSLog" or namespace not in NAMESPACES:
            raise Unparseable(
                f"The document must be a POSLog in the namespace {' or '.join(NAMESPACES)}; "
                f"its root is {root.tag[:200]}."
            )
        return Document(root)

    def post(self, source, document, received_at=None):
        received_at = received_at or timezone.now()
        stores = store_locations(source, {store_of(t) for t in children(document.root, "Transaction")})
        document.zones = {store: zone_of(location) for store, location in stores.items()}
        items, totals = self.read(document)
        # A day's log of a busy store may hold more lines than one batch takes.
        events = [item for item in items if not isinstance(item, Ignored)]
        results = []
        for batch in chunks(events, settings.INGEST_MAX_EVENTS):
            results.extend(ingest_events(source, batch, received_at=received_at).results)
        report = self.answer(items, IngestReport(results))
        record_till_transactions(source, totals, stores, received_at)
        return report

    def events(self, document):
        return self.read(document)[0]

    def read(self, document):
        """(items in document order, TillTotals of each retail transaction)."""
        items, totals = [], []
        for transaction in children(document.root, "Transaction"):
            some, till_totals = self.transaction_items(transaction, document.zones)
            items.extend(some)
            if till_totals is not None:
                totals.append(till_totals)
        return items, totals

    def transaction_items(self, transaction, zones):
        """(items, TillTotals or None) of one Transaction element."""
        till = till_of(transaction)
        body = child(transaction, "RetailTransaction")
        if body is None:
            kind = next((local(node.tag) for node in transaction if local(node.tag).endswith("Transaction")), "")
            detail = text(child(transaction, kind), "ReasonCode") if kind else ""
            shown = f"{kind or 'no transaction body'} {detail}".strip()
            return [Ignored(CONTROL, shown, key=till.receipt)], None

        status = (body.get("TransactionStatus") or "").strip()
        if flag(transaction, "TrainingModeFlag"):
            skipped = TRAINING, ""
        elif status.lower() in NOT_FINISHED or flag(transaction, "CancelFlag"):
            skipped = NOT_DONE, status or "cancelled"
        else:
            skipped = None
        lines = [Line(element) for element in children(body, "LineItem")]
        for index, line in enumerate(lines):
            if line.voided and line.item is not None:
                undone = next((other for other in reversed(lines[:index]) if line.undoes(other)), None)
                if undone is not None:
                    undone.undone_by = line.sequence
        totals = TillTotals(
            till, skipped[0] if skipped else "counted",
            amount(body, "TransactionGrandAmount"), amount(body, "TransactionTaxAmount"),
        )
        items = []
        for line in lines:
            key = f"{till.receipt}/{line.sequence}"
            item = Ignored(*skipped, key=key) if skipped else self.line_item(till, line, key, zones)
            if isinstance(item, Ignored):
                totals.ignored_lines += 1
            elif item["type"] == "sale":
                totals.sale_lines += 1
            else:
                totals.return_lines += 1
            items.append(item)
        if not lines:  # a transaction with no line at all is accounted for too
            reason = skipped or (NOT_AN_ITEM, "no line items")
            items.append(Ignored(*reason, key=till.receipt))
        return items, totals

    def line_item(self, till, line, key, zones):
        if line.item is None:
            shown = next((local(node.tag) for node in line.element if local(node.tag) != "SequenceNumber"), "empty")
            return Ignored(NOT_AN_ITEM, shown, key=key)
        if line.voided:
            return Ignored(VOID, line.voided, key=key)
        if line.undone_by:
            return Ignored(VOID, f"voided by line {line.undone_by}", key=key)
        item_type = (line.item.get("ItemType") or "Stock").strip()
        if item_type.lower() != "stock":
            return Ignored(NOT_STOCK, item_type, key=key)
        quantity = line.quantity
        kind = "sale" if line.kind == "Sale" else "return"
        if isinstance(quantity, Decimal):
            if quantity < 0:
                kind = "return"
            quantity = abs(quantity)
        unit = line.unit or (settings.POSLOG_WEIGHT_UNIT if weighed(line.element, quantity) else "")
        event = {
            "transaction_id": key,
            "type": kind,
            "location": till.store,
            "sku": line.sku,
            "quantity": str(quantity),
            "occurred_at": occurred_at(till, zones),
            "reference": till.receipt,
            "cashier": till.cashier,
        }
        if unit:
            event["unit"] = unit
        return event


def store_locations(source, stores):
    """The tower's Location of each store id that names one (inventory.identifiers:
    by code, the source's foreign identifiers or a GLN)."""
    ids = resolve(source, {store for store in stores if store}, ()).locations
    by_id = Location.objects.in_bulk(set(ids.values()))
    return {store: by_id[location_id] for store, location_id in ids.items()}


def zone_of(location):
    try:
        return ZoneInfo(location.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
