"""Celery task for the SLA sweep; the work is in exceptions.services.sla
(its mail goes through exceptions.mail_tasks)."""
from controltower.tasks import tower_task

from .services.sla import escalation_sweep as sweep


@tower_task("exceptions.escalation_sweep", soft_time_limit=240, time_limit=270)
def escalation_sweep():
    return sweep()
