"""The Celery app: configured from Django settings under the CELERY_ namespace."""
import os

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings")

app = Celery("controltower")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="reconciliation_tasks")
app.autodiscover_tasks(related_name="mail_tasks")
app.autodiscover_tasks(related_name="alert_tasks")


def longest_time_limit(celery_app):
    """The longest hard time limit (seconds) of the app's tasks; a task without
    its own has the app's default (CELERY_TASK_TIME_LIMIT)."""
    default = celery_app.conf.task_time_limit or 0
    return max((task.time_limit or default) for task in celery_app.tasks.values())


def derive_visibility_timeout(celery_app):
    """Redis hands an unacknowledged task to another worker after the
    visibility timeout: unless settings give one (CELERY_VISIBILITY_TIMEOUT),
    just above the longest task's time limit (CELERY_VISIBILITY_MARGIN more).
    Shorter would hand a running task out twice; longer, a dead worker's task waits."""
    from django.conf import settings

    options = celery_app.conf.broker_transport_options
    if celery_app.conf.broker_url.startswith(("redis://", "rediss://")) and "visibility_timeout" not in options:
        options["visibility_timeout"] = longest_time_limit(celery_app) + settings.CELERY_VISIBILITY_MARGIN


@celeryd_init.connect
def _on_worker_start(sender, instance, **kwargs):
    # The worker has imported every task module by now and not yet connected to the broker.
    derive_visibility_timeout(instance.app)
