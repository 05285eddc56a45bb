"""The tower's vocabulary: the states of the canonical inventory state model
and the event types that move stock between them (DOMAIN.md)."""
from django.db import models

# The ten states of the canonical inventory state model, in display order.
STATES = (
    "available",
    "reserved",
    "picked",
    "packed",
    "staged",
    "in_transit",
    "damaged",
    "returned",
    "pending_inspection",
    "quarantined",
)
ON_HAND_STATES = tuple(s for s in STATES if s != "in_transit")
StateChoices = models.TextChoices("StateChoices", [(s.upper(), s) for s in STATES])

class EventType(models.TextChoices):
    RECEIPT = "receipt"
    SALE = "sale"
    RESERVE = "reserve"
    RELEASE = "release"
    PICK = "pick"
    PACK = "pack"
    STAGE = "stage"
    FULFIL = "fulfil"
    RETURN = "return"
    DISPOSITION = "disposition"
    DAMAGE = "damage"
    WRITE_OFF = "write_off"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    ADJUSTMENT = "adjustment"
    CYCLE_COUNT = "cycle_count"
    # The ERP's financial posting of sales the tills already reported: a
    # record to reconcile against (sales_posting_gap), moving no stock.
    SALES_POSTING = "sales_posting"
    # The tower's own undoing of one ledger line (a confirmed duplicate): the
    # same legs with the quantity negated. Only the tower posts it.
    REVERSAL = "reversal"


# What a source system may send: every type but the tower's own reversal.
SOURCE_EVENT_TYPES = tuple(t.value for t in EventType if t != EventType.REVERSAL)
SourceEventTypeChoices = [(value, label) for value, label in EventType.choices if value in SOURCE_EVENT_TYPES]
