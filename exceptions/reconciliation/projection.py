"""The projection against the ledger: positions that differ from the fold.

Positions are a projection of the ledger and must equal it at all times
(DOMAIN.md). `rebuild_positions(repair=False)` (inventory.ledger, the one
owner of that comparison) reports every (location, SKU, state) whose stored
quantity differs from the fold; any difference means the projection itself
is wrong, so it is one severity-1 case for the whole estate, routed to
integration (IT), never a case per position: the fix is one repair run.
"""
from __future__ import annotations

from django.db import connection, transaction

from inventory.ledger import rebuild_positions
from inventory.models import SKU

from ..detectors import Detector, Route, register
from ..findings import CaseKind, Finding
from .common import money

LISTED = 50  # differences named on the case; the details keep the full count
REFERENCE = "positions"


def _check():
    """The check on one snapshot of the database. On PostgreSQL (READ
    COMMITTED by default) the fold and the positions are read by two
    statements: an ingest committing between them would look like drift.
    REPEATABLE READ makes both see the same committed state. Inside an
    outer transaction (a test, a caller's atomic; a run of the kind, which
    sets it: exceptions.reconciliation.runs) the isolation level can no
    longer be set and the caller's own snapshot rules apply."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return rebuild_positions(repair=False)
    return rebuild_positions(repair=False)


def projection_drift() -> list[Finding]:
    """One finding when any position differs from the ledger fold, none
    when all agree (the case then clears itself on the next run)."""
    report = _check()
    differences = report.differences  # (location code, SKU code, state, stored, ledger), sorted
    if not differences:
        return []
    costs = dict(SKU.objects.filter(code__in={d[1] for d in differences}).values_list("code", "unit_cost"))
    quantity = sum(abs(stored - ledger) for _, _, _, stored, ledger in differences)
    value = money(sum(abs(stored - ledger) * costs.get(sku, 0) for _, sku, _, stored, ledger in differences))
    positions = len({(loc, sku) for loc, sku, *_ in differences})
    count = len(differences)
    quantities = "quantity differs" if count == 1 else "quantities differ"
    where = "1 position" if positions == 1 else f"{positions} positions"
    listed = [
        f"{loc} {sku} {state}: position {stored}, ledger {ledger}"
        for loc, sku, state, stored, ledger in differences[:LISTED]
    ]
    return [Finding(
        kind=CaseKind.PROJECTION_DRIFT,
        location_id=None,
        sku_id=None,
        reference=REFERENCE,
        severity=1,  # every screen, case and KPI reads positions: they are wrong
        quantity_at_risk=quantity,
        value_at_risk=value,
        customer_impact="Stock shown to stores, customers and every reconciliation is off the ledger.",
        summary=(
            f"{count} position {quantities} from the ledger at {where}; "
            f"check them, then run manage.py rebuild_positions to repair"
        ),
        details={
            "differences": count,
            "positions": positions,
            "positions_checked": report.positions_checked,
            "listed": listed if count <= LISTED else [*listed, f"... and {count - LISTED} more"],
        },
    )]


# A full fold of the ledger against every position (seconds at the bench's
# scale), both read in one state of the database; the fix is the tower's own
# data, not a store's: integration (IT).
register(Detector(CaseKind.PROJECTION_DRIFT, "Positions differ from the ledger", projection_drift,
                  every_s=3600, one_snapshot=True, routes=(Route("INTEGRATION"),)))
