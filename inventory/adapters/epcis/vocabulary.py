"""The GS1 Core Business Vocabulary (CBV 2.0) words the EPCIS adapter reads.

A CBV value comes in three spellings: the bare word of JSON-LD (`shipping`),
the URN of EPCIS 1.x and XML (`urn:epcglobal:cbv:bizstep:shipping`) and the
web URI (`https://ref.gs1.org/cbv/BizStep-shipping`, or its CURIE
`cbv:BizStep-shipping`). `word` turns each into the bare word; a company's
own URI (`https://example.com/steps/tasting`) is allowed by the standard and
reads as None (no CBV meaning); a bare word the CBV does not define, or an
unknown word in the CBV's own namespaces, is an error.
"""
from __future__ import annotations

import re

BIZ_STEPS = frozenset((
    "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
    "creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying",
    "disassembling", "dispensing", "encoding", "entering_exiting", "holding", "inspecting",
    "installing", "killing", "loading", "other", "packing", "picking", "receiving", "removing",
    "repackaging", "repairing", "replacing", "reserving", "retail_selling", "shipping",
    "staging_outbound", "stock_taking", "stocking", "storing", "transporting", "unloading",
    "unpacking", "void_shipping", "sensor_reporting", "sampling",
))
DISPOSITIONS = frozenset((
    "active", "container_closed", "damaged", "destroyed", "dispensed", "disposed", "encoded",
    "expired", "in_progress", "in_transit", "inactive", "no_pedigree_match", "non_sellable_other",
    "partially_dispensed", "recalled", "reserved", "retail_sold", "returned", "sellable_accessible",
    "sellable_not_accessible", "stolen", "unknown", "available", "completeness_verified",
    "completeness_inferred", "conformant", "container_open", "mismatch_instance", "mismatch_class",
    "mismatch_quantity", "needs_replacement", "non_conformant", "unavailable",
))
BIZ_TRANSACTION_TYPES = frozenset((
    "bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma",
    "testprd", "testres", "upevt",
))
SOURCE_DESTINATION_TYPES = frozenset(("owning_party", "possessing_party", "location"))
ERROR_REASONS = frozenset(("did_not_occur", "incorrect_data"))

# kind -> (the words, the URN prefix, the web URI's term prefix, what a person calls it)
KINDS = {
    "bizStep": (BIZ_STEPS, "urn:epcglobal:cbv:bizstep:", "BizStep-", "business step"),
    "disposition": (DISPOSITIONS, "urn:epcglobal:cbv:disp:", "Disp-", "disposition"),
    "bizTransaction": (BIZ_TRANSACTION_TYPES, "urn:epcglobal:cbv:btt:", "BTT-", "business transaction type"),
    "sourceDest": (SOURCE_DESTINATION_TYPES, "urn:epcglobal:cbv:sdt:", "SDT-", "source/destination type"),
    "errorReason": (ERROR_REASONS, "urn:epcglobal:cbv:er:", "ER-", "error reason"),
}
WEB = re.compile(r"^(?:https?://ref\.gs1\.org/cbv/|https?://ns\.gs1\.org/cbv/|cbv:)([A-Za-z]+-)(.*)$")
# An absolute URI (RFC 3986 scheme) or a CURIE: what a company's own value must be.
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


class NotInVocabulary(ValueError):
    """A value that is neither a CBV word (in one of its spellings) nor a URI of one's own."""


def word(value, kind):
    """The CBV word of `value` (a bizStep, disposition, ... by `kind`), or
    None for a company's own URI. Raises NotInVocabulary with the message."""
    words, urn, term, called = KINDS[kind]
    if not isinstance(value, str) or not value.strip():
        raise NotInVocabulary(f"A {called} must be a CBV word or a URI.")
    value = value.strip()
    if value in words:
        return value
    if value.startswith(urn):
        found = value[len(urn):]
    elif (web := WEB.match(value)) and web.group(1) == term:
        found = web.group(2)
    elif value.startswith("urn:epcglobal:cbv:") or WEB.match(value):
        raise NotInVocabulary(f"{value!r} is not a CBV {called} (a {called} in the CBV namespace is {urn}...).")
    elif URI.match(value):
        return None  # the company's own vocabulary: allowed, no CBV meaning
    else:
        raise NotInVocabulary(
            f"{value!r} is not a CBV {called}; a {called} of one's own must be a URI "
            f"(e.g. https://example.com/{kind}/{value})."
        )
    if found not in words:
        raise NotInVocabulary(f"{value!r} is not a CBV {called}.")
    return found
