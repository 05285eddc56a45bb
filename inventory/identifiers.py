"""How a source's identifiers for locations and SKUs resolve to the tower's.

A source names things its own way: a till its store number, Shopify its
location and inventory item ids, a warehouse a GLN, a scanner a GTIN with or
without its leading zeros. Adapters pass those identifiers on as they are;
the ledger's validation (inventory.ledger.validation.MasterData) and with it
snapshots, PO lines and the replay of kept rejections resolve them here,
for a whole batch at once, one query per kind, in this order (docs/formats.md):

- a location: the tower's location code; the source's foreign identifier
  (ExternalId, kind location); a 13-digit GLN (Location.gln);
- a SKU: the tower's SKU code; the source's foreign identifier (ExternalId,
  kind sku); any of the SKU's barcodes, as stored or as the same GTIN-8, 12,
  13 or 14 with other leading zeros.

Only active locations and SKUs resolve. An identifier that resolves to
nothing is the caller's per-line rejection, naming the field and the value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from controltower.db import select_rows

GTIN_LENGTHS = (8, 12, 13, 14)
GLN_LENGTH = 13
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def check_digit(digits: str) -> str:
    """The GS1 check digit of `digits` (a GTIN or GLN without its last digit):
    weights 3 and 1 alternating from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def normalise_gtin(text) -> str | None:
    """The 14-digit form of a GTIN-8, 12, 13 or 14 ('4006381333931' ->
    '04006381333931'); None for anything else. The check digit is not
    checked: a GTIN only ever matches a barcode the item master holds."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if len(text) not in GTIN_LENGTHS or not _DIGITS.fullmatch(text):
        return None
    return text.zfill(14)


def gtin_forms(gtin14: str) -> list[str]:
    """Every way a barcode of this GTIN may be stored: its 14, 13, 12 and
    8-digit forms, where the digits dropped are leading zeros."""
    return [gtin14[-n:] for n in reversed(GTIN_LENGTHS) if not gtin14[:-n].strip("0")]


def is_gln(text) -> bool:
    """13 digits whose last is the GS1 check digit of the others."""
    return (isinstance(text, str) and len(text) == GLN_LENGTH and bool(_DIGITS.fullmatch(text))
            and check_digit(text[:-1]) == text[-1])


@dataclass
class Identifiers:
    """One batch's identifiers resolved: text as sent -> the tower's id."""

    locations: dict = field(default_factory=dict)
    skus: dict = field(default_factory=dict)  # by code, foreign identifier or barcode
    barcodes: dict = field(default_factory=dict)  # by barcode or GTIN only (an event's `barcode` field)
    base_units: dict = field(default_factory=dict)  # sku id -> base unit, of every SKU resolved


def resolve(source, location_texts, sku_texts, barcode_texts=()) -> Identifiers:
    """Resolve a batch's identifiers as `source` sends them (None: the tower's
    own codes, barcodes and GLNs only). At most one query each for
    locations, SKU codes, foreign identifiers, barcodes and the SKUs found
    by the last two, each left out when nothing is left to look up."""
    location_texts, sku_texts, barcode_texts = set(location_texts), set(sku_texts), set(barcode_texts)
    found = Identifiers()

    glns = {text for text in location_texts if len(text) == GLN_LENGTH and _DIGITS.fullmatch(text)}
    by_code, by_gln = {}, {}
    if location_texts:
        for code, gln, location_id in select_rows(
            "SELECT code, gln, id FROM inventory_location WHERE active AND (code {} OR gln {})",
            location_texts, glns,
        ):
            by_code[code] = location_id
            if gln:
                by_gln[gln] = location_id
    if sku_texts:
        for sku_id, code, base_unit in select_rows(
            "SELECT id, code, base_unit FROM inventory_sku WHERE active AND code {}", sku_texts
        ):
            found.skus[code] = sku_id
            found.base_units[sku_id] = base_unit

    foreign = {"location": {}, "sku": {}}
    unknown = (location_texts - set(by_code)) | (sku_texts - set(found.skus))
    if source is not None and unknown:
        for kind, external_id, location_id, sku_id in select_rows(
            "SELECT e.kind, e.external_id, e.location_id, e.sku_id FROM inventory_externalid e "
            "LEFT JOIN inventory_location l ON l.id = e.location_id LEFT JOIN inventory_sku s ON s.id = e.sku_id "
            "WHERE e.source_id = %s AND e.external_id {} AND (l.active OR s.active)",
            unknown, params=[source.pk],
        ):
            foreign[kind][external_id] = location_id if kind == "location" else sku_id
    for text in location_texts:
        location_id = by_code.get(text) or foreign["location"].get(text) or by_gln.get(text)
        if location_id is not None:
            found.locations[text] = location_id

    # Barcodes: the texts as sent, and every stored form of those that are GTINs.
    by_barcode_texts = barcode_texts | (sku_texts - set(found.skus) - set(foreign["sku"]))
    gtins = {text: normalise_gtin(text) for text in by_barcode_texts}
    wanted = by_barcode_texts | {form for gtin in gtins.values() if gtin for form in gtin_forms(gtin)}
    stored = dict(select_rows(
        "SELECT b.code, b.sku_id FROM inventory_barcode b JOIN inventory_sku s ON s.id = b.sku_id "
        "WHERE s.active AND b.code {}", wanted,
    )) if wanted else {}

    def by_barcode(text):
        if text in stored:
            return stored[text]
        gtin = gtins.get(text)
        # The longest stored form first: one order, should two SKUs hold the same GTIN differently.
        return next((stored[form] for form in gtin_forms(gtin) if form in stored), None) if gtin else None

    for text in barcode_texts:
        if (sku_id := by_barcode(text)) is not None:
            found.barcodes[text] = sku_id
    for text in sku_texts - set(found.skus):
        if (sku_id := foreign["sku"].get(text) or by_barcode(text)) is not None:
            found.skus[text] = sku_id
    more = (set(found.skus.values()) | set(found.barcodes.values())) - set(found.base_units)
    if more:
        found.base_units.update(select_rows("SELECT id, base_unit FROM inventory_sku WHERE id {}", more))
    return found
