"""Celery tasks of alerts; the work is in controltower.alerts."""
from django.conf import settings

from .alerts import Undelivered, deliver as deliver_alert, send_digests, send_unsent
from .tasks import tower_task


# A channel that refuses (its service away, a 500) is tried again after 1, 2,
# 4... seconds (at most 10 minutes apart, jittered), ALERT_MAX_RETRIES times;
# then the sweep of unsent deliveries takes it while it is news.
@tower_task("controltower.deliver_alert", soft_time_limit=60, time_limit=90,
            autoretry_for=(Undelivered, OSError), retry_backoff=True, retry_backoff_max=600,
            max_retries=settings.ALERT_MAX_RETRIES)
def deliver(delivery_id):
    return deliver_alert(delivery_id)


@tower_task("controltower.send_unsent_alerts", soft_time_limit=240, time_limit=270)
def send_unsent_alerts():
    return {"sent": send_unsent()}


@tower_task("controltower.send_alert_digests", soft_time_limit=240, time_limit=270)
def send_alert_digests():
    return {"digests": send_digests()}
