"""Observations: a source says what one of its (location, item) pairs holds
now, one pair at a time (Shopify's inventory_levels/update webhook).

An observation never overwrites a position. It becomes a one-line snapshot
(inventory.snapshots, as of the time the source says the quantity held), so
reconciliation compares it with the ledger as of that time like any other
snapshot (snapshot_mismatch cases). The location and item are the source's
own ids, resolved by the snapshot service as every line is (the tower's
code or the source's foreign identifiers).

Observations of one pair are settled by their time, not by their order of
arrival: the latest kept per pair is an ObservedLevel, and an observation
no newer than it is answered `ignored` and stored nothing. The snapshot of
the one a newer observation replaces is marked superseded: reconciliation
compares one snapshot per pair, not one per delivery. An observation
the master data cannot place (an unknown id) is rejected naming the field
and the id, and kept for replay (feed `observations`): a mapping loaded
later lets it through, unless a newer one was kept meanwhile.

An observation, in the tower's words: {"transaction_id", "location", "sku",
"quantity", "state" (default available), "as_of"}.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from controltower.locks import lock_rows

from . import fields
from .ledger.posting import EventResult, IngestReport
from .models import ObservedLevel, RejectedEvent, Snapshot, SourceSystem, StateChoices
from .snapshots import SnapshotError, ingest_snapshot

# The fixed phrase an observation older than the kept one is ignored with.
NOT_NEWER = "not newer than the level kept"


def observe(source: SourceSystem, observations, received_at=None, keep_rejections=True) -> IngestReport:
    """Take each observation of `source`, in order: one EventResult each
    (`ignored` with its reason for one no newer than the level kept).
    Rejected ones are kept for replay unless `keep_rejections` is off (the
    replay itself updates the rows it already has)."""
    received_at = received_at or timezone.now()
    answers = [_observe_one(source, raw, received_at, keep_rejections) for raw in observations]
    return IngestReport(answers, counts_ignored=True)


def _observe_one(source, raw, received_at, keep_rejections):
    raw = raw if isinstance(raw, dict) else {"value": raw}
    txn = fields.code(raw.get("transaction_id"), max_length=128) or ""
    errors = {}
    as_of = fields.time(raw, "as_of", errors, received_at)
    state = raw.get("state") or StateChoices.AVAILABLE
    location_ref, sku_ref = fields.code(raw.get("location")), fields.code(raw.get("sku"))
    answer = None
    if not errors:
        with transaction.atomic():
            # One observation of a source at a time: the kept level is read and
            # replaced under this lock (posting also updates this row: heard_from).
            list(lock_rows(SourceSystem.objects.filter(pk=source.pk)))
            kept = None
            if location_ref and sku_ref and state in StateChoices.values:
                kept = ObservedLevel.objects.filter(
                    source=source, location_ref=location_ref, sku_ref=sku_ref, state=state,
                ).first()
            if kept is not None and kept.observed_at >= as_of:
                answer = EventResult(txn, "ignored", reason=NOT_NEWER, detail=(
                    f"{source.code} reported {kept.quantity} {kept.state} as of {kept.observed_at.isoformat()}; "
                    f"this one is as of {as_of.isoformat()}."
                ))
            else:
                answer = _snapshot(source, raw, as_of, state, received_at, kept, location_ref, sku_ref)
    if answer is None:
        answer = EventResult(txn, "rejected", errors)
    if answer.status == "rejected" and keep_rejections:
        RejectedEvent.objects.create(
            source=source, transaction_id=txn, feed=RejectedEvent.Feed.OBSERVATIONS,
            payload=fields.storable(raw), errors=fields.storable(answer.errors),
            cause=next(iter(answer.errors), "unknown"), received_at=received_at,
        )
    return answer


def _snapshot(source, raw, as_of, state, received_at, kept, location_ref, sku_ref):
    """The observation as a one-line snapshot, and the kept level moved to it."""
    txn = fields.code(raw.get("transaction_id"), max_length=128) or ""
    line = {key: raw.get(key) for key in ("location", "sku", "quantity")}
    line["state"] = state
    try:
        report = ingest_snapshot(source, as_of, [line], received_at=received_at)
    except SnapshotError as exc:  # the source's lane refuses on-hand snapshots
        return EventResult(txn, "rejected", {"kind": [str(exc)]})
    if report.rejected:
        return EventResult(txn, "rejected", report.rejected[0]["errors"])
    quantity = report.snapshot.lines.values_list("quantity", flat=True).get()
    if kept is None:
        ObservedLevel.objects.create(
            source=source, location_ref=location_ref, sku_ref=sku_ref, state=state,
            quantity=quantity, observed_at=as_of, snapshot=report.snapshot,
        )
    else:
        Snapshot.objects.filter(pk=kept.snapshot_id).update(status=Snapshot.Status.SUPERSEDED)
        kept.quantity, kept.observed_at, kept.snapshot = quantity, as_of, report.snapshot
        kept.save(update_fields=["quantity", "observed_at", "snapshot"])
    return EventResult(txn, "accepted")
