"""Celery task for the SLA sweep; the work is in exceptions.escalation."""
from celery import shared_task

from .escalation import escalation_sweep as sweep


@shared_task(name="exceptions.escalation_sweep", soft_time_limit=240, time_limit=270)
def escalation_sweep():
    return sweep()
