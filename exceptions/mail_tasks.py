"""Celery tasks of case mail; the work is in exceptions.services.mail. Apart
from exceptions.tasks, as the SLA sweep there queues this mail."""
from smtplib import SMTPException

from django.conf import settings

from controltower.tasks import tower_task

from .services import mail


# SMTP talks to the outside: a failure (the server away, refusing for now)
# is tried again after 1, 2, 4... seconds (at most 10 minutes apart, jittered),
# MAIL_MAX_RETRIES times; then the sweep of unsent mail takes it.
@tower_task("exceptions.send_case_mail", soft_time_limit=60, time_limit=90,
            autoretry_for=(SMTPException, OSError), retry_backoff=True, retry_backoff_max=600,
            max_retries=settings.MAIL_MAX_RETRIES)
def send_case_mail(mail_id):
    return mail.send(mail_id)


@tower_task("exceptions.send_unsent_mail", soft_time_limit=240, time_limit=270)
def send_unsent_mail():
    return {"sent": mail.send_unsent()}
