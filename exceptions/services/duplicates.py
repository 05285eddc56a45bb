"""Suspected duplicates: a person's verdict on a pair of ledger lines that
look alike (or a replayed batch's pairs): reverse the later line, or
explain why the two are not duplicates. Either way the case resolves
itself on the next suspected_duplicate run.
"""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controltower.locks import lock_rows
from inventory.ledger import ingest_events, reversal_of, reversal_transaction_id, reverse_transfer_line
from inventory.models import InventoryEvent
from inventory.sources import control_tower_source

from ..findings import CaseKind, duplicate_pairs
from ..models import Case, CaseLink, DuplicateVerdict
from .changes import FROM_STATUSES, check, refuse, write_history


def _pairs(case):
    """[(earlier, later), ...] ledger line ids of a suspected-duplicate case: one pair, or a replayed batch's."""
    return duplicate_pairs(case.reference, case.details) if case.kind == CaseKind.SUSPECTED_DUPLICATE else []


def duplicate_verdict(case):
    """The verdict on `case`'s pair of ledger lines (a batch's pairs are
    settled together: its first pair's), or None (no pair, or not settled yet)."""
    pairs = _pairs(case)
    if not pairs:
        return None
    earlier, later = pairs[0]
    return (DuplicateVerdict.objects.filter(earlier_event_id=earlier, later_event_id=later)
            .select_related("decided_by", "reversal").first())


def unsettled_pair(case):
    """Whether `case` has a pair of ledger lines still waiting for a verdict."""
    return bool(_pairs(case)) and duplicate_verdict(case) is None


def _settle_duplicate(case, user, action):
    """Check and lock a suspected-duplicate case before a verdict on its
    pairs: returns ([(earlier line, later line), ...] not settled yet, the
    verdict already given or None)."""
    check(case, user)
    pairs = _pairs(case)
    if not pairs:
        raise ValidationError({"case": "Only a suspected-duplicate case has a pair to settle."})
    locked = lock_rows(Case.objects.filter(pk=case.pk)).get()  # two clicks settle one after the other
    if locked.status not in FROM_STATUSES[action]:
        refuse(action, locked.status)
    settled = set(DuplicateVerdict.objects.filter(later_event_id__in=[later for _, later in pairs])
                  .values_list("earlier_event_id", "later_event_id"))
    lines = InventoryEvent.objects.select_related("source", "location", "sku", "to_location").in_bulk(
        [pk for pair in pairs for pk in pair])
    return [(lines[e], lines[later]) for e, later in pairs if (e, later) not in settled], duplicate_verdict(case)


@transaction.atomic
def reverse_duplicate(case, user):
    """The later line of each pair was a duplicate: post one compensating
    ledger line each (type reversal, the tower's source) that moves its legs
    back, all of a replayed batch in one transaction, link them to the case
    and record the verdicts. A reversal's transaction id is the reversed
    line's, so two clicks or two requests reverse it once. The case
    resolves itself on the next suspected_duplicate run."""
    pending, verdict = _settle_duplicate(case, user, "reverse_duplicate")
    if verdict is not None and verdict.verdict != DuplicateVerdict.Verdict.REVERSED:
        raise ValidationError({"verdict": f"{verdict.decided_by} explained this pair as not a duplicate."})
    if not pending:
        return verdict  # already reversed: nothing more to post
    tower = control_tower_source()
    for start in range(0, len(pending), settings.INGEST_MAX_EVENTS):
        chunk = pending[start:start + settings.INGEST_MAX_EVENTS]
        report = ingest_events(tower, [reversal_of(later, later.type) for _, later in chunk], keep_rejections=False, reversals=True)
        refused = [result for result in report.results if result.status not in ("accepted", "duplicate")]
        if refused:
            raise ValidationError({"reversal": f"The ledger refused it: {refused[0].errors}"})
    reversals = {
        e.transaction_id: e for e in InventoryEvent.objects.filter(
            source=tower, transaction_id__in=[reversal_transaction_id(later) for _, later in pending])
    }
    now = timezone.now()
    verdicts = []
    for earlier, later in pending:
        reverse_transfer_line(later)
        verdicts.append(DuplicateVerdict(
            earlier_event=earlier, later_event=later, verdict=DuplicateVerdict.Verdict.REVERSED,
            reversal=reversals[reversal_transaction_id(later)], case=case, decided_by=user, decided_at=now))
    DuplicateVerdict.objects.bulk_create(verdicts, batch_size=1000)
    CaseLink.objects.bulk_create(
        [CaseLink(case=case, kind=CaseLink.Kind.EVENT, object_id=v.reversal_id) for v in verdicts],
        ignore_conflicts=True, batch_size=1000)
    earlier, later = pending[0]
    if len(pending) == 1:
        note = (f"{later.source.code}:{later.transaction_id} was a duplicate of {earlier.source.code}:"
                f"{earlier.transaction_id}; ledger line {verdicts[0].reversal_id} reverses it.")
        txn = reversal_transaction_id(later)
    else:
        note = f"{len(pending)} lines were duplicates; {len(pending)} reversal lines reverse them together."
        txn = f"{reversal_transaction_id(later)} and {len(pending) - 1} more"
    write_history(case, user, "duplicate_reversed", now, field="reversal", to_value=txn,
                  note=f"{note} The case resolves itself on the next run.")
    return verdicts[0]


@transaction.atomic
def explain_duplicate(case, user, why):
    """The pairs are not duplicates (`why` required): record who said so and
    why; they are never raised again and the case resolves itself on the
    next suspected_duplicate run."""
    why = (why or "").strip()
    if not why:
        raise ValidationError({"reason": "Say why the two lines are not duplicates."})
    pending, verdict = _settle_duplicate(case, user, "explain_duplicate")
    if verdict is not None or not pending:
        raise ValidationError({"verdict": f"This pair was settled already: {verdict.get_verdict_display().lower()}."})
    now = timezone.now()
    verdicts = DuplicateVerdict.objects.bulk_create([
        DuplicateVerdict(earlier_event=earlier, later_event=later, verdict=DuplicateVerdict.Verdict.NOT_DUPLICATE,
                         case=case, decided_by=user, decided_at=now, note=why[:300])
        for earlier, later in pending
    ], batch_size=1000)
    write_history(case, user, "duplicate_explained", now, note=f"Not a duplicate: {why[:250]}")
    return verdicts[0]
