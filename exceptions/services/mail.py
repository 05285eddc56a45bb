"""E-mail to a case's owning team: recorded when it is due, sent by a worker,
never twice.

`record` keeps the mail (CaseMail); exceptions.mail_tasks.send_case_mail sends it
through `send`, retrying SMTP failures with backoff. `send` sends a mail once:
one already sent is left alone, and on PostgreSQL two runs of one mail at
once (a redelivered task beside the sweep) send it once (an advisory lock
per mail). `send_unsent` is the sweep's: the mails the broker never took, or
whose retries ran out, while they are still news.
"""
import logging
from datetime import timedelta
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from controltower.locks import try_hold

from ..models import CaseMail

log = logging.getLogger(__name__)

# The sweep leaves a younger mail to its task and its retries.
LEFT_UNSENT_AFTER = timedelta(minutes=15)
# An SLA notice older than this is no longer news: the sweep gives it up.
NEWS_FOR = timedelta(days=1)


def record(case, action, message, at=None):
    """The mail telling the case's owning team about `action`, or None when the team has no address."""
    if not (case.owner and case.owner.email):
        return None
    where = case.location.code if case.location else "estate"
    return CaseMail.objects.create(
        case=case, action=action, recipients=[case.owner.email], created_at=at or timezone.now(),
        subject=f"[Control Tower] Case #{case.pk} {case.get_kind_display()} at {where}: {action.replace('_', ' ')}",
        body=f"{message}\n\n{case.summary}\n\nSeverity {case.severity}, value at risk {case.value_at_risk}.",
    )


def send(mail_id):
    """Send one mail unless it was sent already (or is being sent): whether
    this call sent it. An SMTP failure raises, leaving the mail unsent."""
    with try_hold(f"case-mail:{mail_id}") as held:
        mail = CaseMail.objects.filter(pk=mail_id, sent_at__isnull=True).first() if held else None
        if mail is None:
            return False
        send_mail(subject=mail.subject, message=mail.body, from_email=settings.DEFAULT_FROM_EMAIL,
                  recipient_list=mail.recipients)
        CaseMail.objects.filter(pk=mail.pk).update(sent_at=timezone.now())
    return True


def send_unsent(now=None):
    """The sweep: send the mails left unsent a while, still news. One that
    fails again is logged and left for the next sweep. Returns how many went."""
    now = now or timezone.now()
    left = CaseMail.objects.filter(sent_at__isnull=True, created_at__lte=now - LEFT_UNSENT_AFTER,
                                   created_at__gt=now - NEWS_FOR).order_by("created_at")
    sent = 0
    for mail_id in left.values_list("pk", flat=True):
        try:
            sent += send(mail_id)
        except (SMTPException, OSError):
            log.warning("case mail %s not sent; the next sweep tries again", mail_id, exc_info=True)
    return sent
