"""Closing the loop on rejected events: a person fixes the item master a
rejection needs, or dismisses a rejection no fix can let in.

- `fix_sku`: one SKU row through the item master import (inventory.masterdata,
  with its validation: a refused row changes nothing and says why, field by
  field), and what changed kept as a MasterDataChange (who, when, what).
  The import only ever adds barcodes and unit conversions, so a fix can add
  a SKU, complete one, give it a barcode or a conversion; moving a barcode or
  changing a factor stays refused, as in a file.
- `dismiss`: a waiting rejection (e.g. one without occurred_at: the event
  itself is wrong) is closed with a reason; it is kept, shown as dismissed,
  counted apart from the waiting and the replayed, and never replayed.
The replay itself is inventory.feeds.replay.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from controltower.locks import hold_until_commit
from controltower.permissions import may_load_master_data, may_replay_rejections

from .masterdata import import_skus
from .models import SKU, MasterDataChange, RejectedEvent

FIELDS = ("description", "category", "unit_cost", "base_unit", "active")
REASON_MAX = 500


class FixError(ValueError):
    """Bad input, with {field: [messages]}."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = errors


def _as_stored(code):
    """The SKU `code` as the item master holds it, in words ({} when there is none)."""
    sku = SKU.objects.filter(code=code).prefetch_related("barcodes", "conversions").first()
    if sku is None:
        return {}
    stored = {name: str(getattr(sku, name)) for name in FIELDS}
    stored["barcodes"] = sorted(b.code for b in sku.barcodes.all())
    stored["conversions"] = sorted(f"{c.unit}={c.factor_text}" for c in sku.conversions.all())
    return stored


def _changes(before, after):
    """{field: [before, after]} for the SKU's fields, {barcodes|conversions: [added]} for its lists."""
    changes = {name: [before.get(name), after[name]] for name in FIELDS if before.get(name) != after[name]}
    for name in ("barcodes", "conversions"):
        added = sorted(set(after[name]) - set(before.get(name, ())))
        if added:
            changes[name] = added
    return changes


def fix_sku(user, row, rejection=None, now=None):
    """Load one SKU row (the import's columns: code, description, category,
    unit_cost, base_unit, barcodes, conversions, active) for `user`, keeping
    what changed. Returns (the import report, the MasterDataChange or None
    when nothing changed or the row was refused)."""
    if not may_load_master_data(user):
        raise PermissionDenied("Only integration admins and admins change the item master.")
    code = str(row.get("code") or "").strip()
    with transaction.atomic():
        hold_until_commit("masterdata:skus")  # the import's own lock: before and after read what it wrote
        before = _as_stored(code)
        report = import_skus([row])
        if report.refused:
            return report, None
        after = _as_stored(code)
        changes = _changes(before, after)
        if not changes:
            return report, None
        change = MasterDataChange.objects.create(
            changed_at=now or timezone.now(), changed_by=user, username=user.get_username(), sku_code=code,
            created=not before, changes=changes, rejection=rejection,
        )
    return report, change


def dismiss(user, rejection_id, reason, now=None):
    """Dismiss the waiting rejection `rejection_id` with `reason`. Returns the
    rejection; FixError when the reason is missing or the rejection was
    replayed or dismissed meanwhile."""
    if not may_replay_rejections(user):
        raise PermissionDenied("Only integration admins and admins dismiss rejections.")
    reason = (reason or "").strip()
    if not reason:
        raise FixError({"reason": ["Say why this rejection can never be let in."]})
    if len(reason) > REASON_MAX:
        raise FixError({"reason": [f"At most {REASON_MAX} characters."]})
    # One conditional update: a replay or another dismissal at the same time wins or loses whole.
    dismissed = RejectedEvent.objects.waiting().filter(pk=rejection_id, kind=RejectedEvent.Kind.REJECTED).update(
        dismissed_at=now or timezone.now(), dismissed_by=user, dismiss_reason=reason,
    )
    if not dismissed:
        raise FixError({"rejection": ["It is no longer waiting: it was replayed or dismissed meanwhile."]})
    return RejectedEvent.objects.get(pk=rejection_id)
