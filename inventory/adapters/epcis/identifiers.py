"""GS1 keys inside EPCIS identifiers: the GTIN of a trade item, the GLN of a place.

EPCIS names things by EPC URIs (`urn:epc:id:sgtin:0614141.107346.2017`) or
GS1 Digital Link URIs (`https://id.gs1.org/01/00614141073467/21/2017`). The
tower keeps SKUs by their barcodes (GTINs) and locations by their GLN, so
the adapter turns each identifier into that key (GS1 Tag Data Standard:
company prefix and reference joined, the check digit computed) before the
ledger resolves it (inventory.identifiers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# urn:epc:id:sgtin:CompanyPrefix.IndicatorAndItemReference.Serial (13 digits in the first two parts)
SGTIN = re.compile(r"^urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(.{1,20})$")
# urn:epc:class:lgtin:CompanyPrefix.IndicatorAndItemReference.Lot
LGTIN = re.compile(r"^urn:epc:class:lgtin:(\d{6,12})\.(\d{1,7})\.(.{1,20})$")
# urn:epc:idpat:sgtin:CompanyPrefix.IndicatorAndItemReference.* (every serial of a GTIN)
SGTIN_PATTERN = re.compile(r"^urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*$")
# urn:epc:id:sgln:CompanyPrefix.LocationReference.Extension (12 digits in the first two parts)
SGLN = re.compile(r"^urn:epc:id:sgln:(\d{6,12})\.(\d{0,6})\.(.{1,20})$")
# GS1 Digital Link on any host: /01/{GTIN} with an optional serial (21) or lot (10) ...
DL_GTIN = re.compile(r"^https?://[^/]+(?:/[^/]+)*?/01/(\d{8}|\d{12,14})((?:/[0-9]{2,4}/[^/?#]+)*)/?(?:[?#].*)?$")
# ... and /414/{GLN} with an optional extension (254).
DL_GLN = re.compile(r"^https?://[^/]+(?:/[^/]+)*?/414/(\d{13})(?:/254/[^/?#]+)?/?(?:[?#].*)?$")


def check_digit(body: str) -> str:
    """The GS1 check digit of a key's digits without it (weights 3 and 1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _gtin14(prefix, reference):
    if len(prefix) + len(reference) != 13:
        return None
    body = reference[0] + prefix + reference[1:]
    return body + check_digit(body)


@dataclass(frozen=True)
class TradeItem:
    """What an EPC or EPC class names: a GTIN-14, and whether it is one
    serialised instance (one unit) or a class (counted by a quantity)."""

    gtin: str
    instance: bool


def trade_item(uri) -> TradeItem | None:
    """The GTIN-14 an EPC or EPC class identifier names, or None (an SSCC,
    a returnable asset, a company's own URN: nothing the tower stocks)."""
    if not isinstance(uri, str):
        return None
    uri = uri.strip()
    for pattern, instance in ((SGTIN, True), (LGTIN, False), (SGTIN_PATTERN, False)):
        found = pattern.match(uri)
        if found:
            gtin = _gtin14(found.group(1), found.group(2))
            return TradeItem(gtin, instance) if gtin else None
    found = DL_GTIN.match(uri)
    if found:
        qualifiers = found.group(2).split("/")[1::2]
        return TradeItem(found.group(1).zfill(14), "21" in qualifiers)
    return None


def gln(uri) -> str | None:
    """The 13-digit GLN of an SGLN, a Digital Link /414/ URI or a bare GLN; None for anything else."""
    if not isinstance(uri, str):
        return None
    uri = uri.strip()
    if re.fullmatch(r"\d{13}", uri):
        return uri
    found = SGLN.match(uri)
    if found:
        prefix, reference = found.group(1), found.group(2)
        if len(prefix) + len(reference) != 12:
            return None
        return prefix + reference + check_digit(prefix + reference)
    found = DL_GLN.match(uri)
    return found.group(1) if found else None


def place(uri) -> str:
    """What the ledger resolves a place by: its GLN when the identifier
    carries one, else the identifier itself (a source's foreign id)."""
    return gln(uri) or (uri.strip() if isinstance(uri, str) else "")
