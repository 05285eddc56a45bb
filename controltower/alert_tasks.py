"""Celery tasks of alerts; the work is in controltower.alert_delivery."""
from django.conf import settings

from . import alert_delivery
from .alert_delivery import Undelivered
from .tasks import enqueue, tower_task


# A channel that refuses (its service away, a 500) is tried again after 1, 2,
# 4... seconds (at most 10 minutes apart, jittered), ALERT_MAX_RETRIES times;
# then the sweep of unsent deliveries takes it while it is news.
@tower_task("controltower.deliver_alert", soft_time_limit=60, time_limit=90,
            autoretry_for=(Undelivered, OSError), retry_backoff=True, retry_backoff_max=600,
            max_retries=settings.ALERT_MAX_RETRIES)
def deliver(delivery_id):
    return alert_delivery.deliver(delivery_id)


@tower_task("controltower.send_unsent_alerts", soft_time_limit=240, time_limit=270)
def send_unsent_alerts():
    return {"sent": alert_delivery.send_unsent()}


# Beat runs it every hour: each person's digest goes at the first run from their hour.
@tower_task("controltower.send_alert_digests", soft_time_limit=240, time_limit=270)
def send_alert_digests():
    made = alert_delivery.digests()
    for delivery_id in made:
        enqueue(deliver, delivery_id)
    return {"deliveries": len(made)}
