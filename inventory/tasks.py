"""Celery tasks of inventory; the work is in the modules they name."""
from controltower.tasks import tower_task

from .alerts import stale_sources


@tower_task("inventory.alert_stale_sources", soft_time_limit=240, time_limit=270)
def alert_stale_sources():
    """The beat's sweep of sources gone stale (inventory.alerts)."""
    return {"told": stale_sources()}
