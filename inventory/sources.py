"""Source systems the tower itself is: the one its own ledger lines are posted as."""
from .models import CONTROL_TOWER_SOURCE, SourceSystem


def control_tower_source():
    """The source system the tower's own lines (corrective adjustments,
    reversals, reservation releases) are posted as."""
    source, _ = SourceSystem.objects.get_or_create(
        code=CONTROL_TOWER_SOURCE,
        defaults={"name": "Control Tower corrections", "kind": SourceSystem.Kind.ERP,
                  "expected_interval_s": 2_000_000_000},  # posts only when a case needs it: never stale
    )
    return source
