"""Case mail goes through a worker: recorded when due, SMTP failures retried
with backoff, never sent twice, and the sweep sends what was left unsent.

Tasks run inline here (tests/conftest.py); with `retried_inline` a task's
failure stays in its result, as on a worker, and a retry runs at once."""
from datetime import timedelta
from smtplib import SMTPException, SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from exceptions.services.sla import escalation_sweep
from exceptions.models import CaseMail, SLAPolicy, Team
from exceptions.mail_tasks import send_case_mail, send_unsent_mail
from tests.exceptions.factories import CaseFactory

pytestmark = pytest.mark.django_db


class FlakySMTP(EmailBackend):
    """The outbox of the test, behind a server that drops the first `failures` sends."""

    failures = 0

    def send_messages(self, messages):
        if FlakySMTP.failures:
            FlakySMTP.failures -= 1
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky_smtp(settings):
    settings.EMAIL_BACKEND = "tests.exceptions.test_case_mail.FlakySMTP"
    yield FlakySMTP
    FlakySMTP.failures = 0


@pytest.fixture
def due_case():
    """A case past its warning time, owned by a team with an address."""
    now = timezone.now()
    return CaseFactory(owner=Team.objects.get(code="STORE-OPS"), sla_policy=SLAPolicy.objects.get(kind="", severity=3),
                       response_due_at=now + timedelta(hours=1), warning_due_at=now - timedelta(minutes=1),
                       resolution_due_at=now + timedelta(hours=1))


def test_a_dropped_connection_is_retried_and_the_mail_goes_once(due_case, flaky_smtp, retried_inline):
    flaky_smtp.failures = 2
    assert escalation_sweep()["warned"] == 1
    assert [m.to for m in mail.outbox] == [["store-ops@example.com"]]
    sent = CaseMail.objects.get(case=due_case)
    assert sent.action == "sla_warning" and sent.sent_at is not None
    assert mail.outbox[0].subject == sent.subject and "75% of the resolution time used" in sent.body

    # The task run once more (a redelivery) sends nothing.
    assert send_case_mail.delay(sent.pk).get() is False
    assert len(mail.outbox) == 1


def test_retries_back_off_and_are_bounded_by_the_setting(settings):
    task = send_case_mail
    assert task.autoretry_for == (SMTPException, OSError)
    assert task.retry_backoff is True and task.max_retries == settings.MAIL_MAX_RETRIES


def test_a_mail_whose_retries_ran_out_is_sent_by_the_sweep(due_case, flaky_smtp, retried_inline, time_machine):
    flaky_smtp.failures = send_case_mail.max_retries + 1
    assert escalation_sweep()["warned"] == 1
    assert flaky_smtp.failures == 0  # tried max_retries + 1 times
    left = CaseMail.objects.get(case=due_case)
    assert left.sent_at is None and mail.outbox == []

    assert send_unsent_mail() == {"sent": 0}  # too young: its task may still be retrying
    time_machine.move_to(left.created_at + timedelta(minutes=20))
    flaky_smtp.failures = 1
    assert send_unsent_mail() == {"sent": 0}  # the server still away: left for the next sweep
    assert send_unsent_mail() == {"sent": 1}
    assert send_unsent_mail() == {"sent": 0}
    assert len(mail.outbox) == 1

    # A day on, an unsent notice is no longer news: the sweep gives it up.
    stale = CaseMail.objects.create(case=due_case, action="sla_breach", recipients=["store-ops@example.com"],
                                    subject="old", body="old", created_at=timezone.now() - timedelta(days=2))
    assert send_unsent_mail() == {"sent": 0}
    stale.refresh_from_db()
    assert stale.sent_at is None


def test_a_team_without_an_address_gets_no_mail(due_case):
    Team.objects.filter(pk=due_case.owner_id).update(email="")
    assert escalation_sweep()["warned"] == 1
    assert not CaseMail.objects.exists() and mail.outbox == []
