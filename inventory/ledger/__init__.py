"""The inventory ledger: the truth every position, case and KPI is built on.

- validation: one raw event in, a ledger line or its field errors out;
- posting: `ingest_events`, the one way events enter the tower;
- fold: `fold_ledger`, the book per location x SKU x state from the lines;
- repair: `rebuild_positions` (check or repair the projection) and
  `replay_rejections`.
"""
from .fold import book_sql, fold_ledger, since_non_negative
from .posting import (
    EventResult,
    IngestError,
    IngestReport,
    ingest_events,
    reversal_of,
    reversal_transaction_id,
    reverse_transfer_line,
)
from .repair import RebuildReport, rebuild_positions, replay_rejections
from .validation import MOVES, MasterData, validate_event

__all__ = [
    "MOVES",
    "EventResult",
    "IngestError",
    "IngestReport",
    "MasterData",
    "RebuildReport",
    "book_sql",
    "fold_ledger",
    "ingest_events",
    "rebuild_positions",
    "replay_rejections",
    "reversal_of",
    "reversal_transaction_id",
    "reverse_transfer_line",
    "since_non_negative",
    "validate_event",
]
