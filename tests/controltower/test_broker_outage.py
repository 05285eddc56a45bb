"""Work that can wait is not lost while the broker is away, and no page fails.

A private redis-server (tests/redis_server.py) is the Celery broker, with
tasks sent to it as in production (not run inline); it is killed halfway,
never the shared one. "Evaluate now" is then recorded and the page says it is
queued; case mail is recorded; the beat's sweeps run both once the broker is
back (here: called as the worker would)."""
from datetime import timedelta

import pytest
import redis
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from controltower.celery import app
from controltower.models import Role
from exceptions.services.sla import escalation_sweep
from exceptions.models import CaseMail, SLAPolicy, Team
from exceptions.mail_tasks import send_unsent_mail
from rollout.models import EvaluationRequest
from rollout.tasks import run_left_queued_evaluations
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.redis_server import PrivateRedis
from tests.rollout.factories import CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db


def use_broker(url, options):
    app.conf.update(broker_url=url, broker_transport_options=options)
    app._pool = None  # the connections and producers of the last broker
    app.amqp._producer_pool = None


@pytest.fixture
def private_broker(monkeypatch):
    """The private Redis as the broker, tasks sent to it (not run inline)."""
    server = PrivateRedis()
    before = app.conf.broker_url, dict(app.conf.broker_transport_options)
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)  # Celery reads it before its settings
    use_broker(server.url, {})
    app.conf.task_always_eager = False
    yield server
    app.conf.task_always_eager = True
    monkeypatch.undo()
    use_broker(*before)
    server.stop()


def queued_messages(server):
    return redis.Redis.from_url(server.url).llen("celery")


def test_with_the_broker_away_evaluate_now_and_case_mail_wait_and_are_done_later(private_broker, client, time_machine):
    pmo = make_user(Role.PMO)
    client.force_login(pmo)
    north, south = (WaveFactory(name=name) for name in ("North", "South"))
    for wave in (north, south):
        CriterionFactory(template=GateTemplateFactory(program=wave.program), metric="training_completion")

    # The broker up: the request goes to it, for a worker.
    assert client.post(reverse("rollout-evaluate", args=[north.pk])).status_code == 302
    assert queued_messages(private_broker) == 1

    private_broker.stop()

    # The broker away: recorded, and the page says it is queued.
    response = client.post(reverse("rollout-evaluate", args=[south.pk]), follow=True)
    assert response.status_code == 200
    assert "Evaluation queued at" in response.content.decode()
    assert EvaluationRequest.objects.filter(finished_at__isnull=True).count() == 2

    # Case mail due while it is away is recorded, not lost.
    now = timezone.now()
    case = CaseFactory(owner=Team.objects.get(code="STORE-OPS"),
                       sla_policy=SLAPolicy.objects.get(kind="", severity=3),
                       response_due_at=now + timedelta(hours=1), warning_due_at=now - timedelta(minutes=1),
                       resolution_due_at=now + timedelta(hours=1))
    assert escalation_sweep()["warned"] == 1
    assert CaseMail.objects.get(case=case).sent_at is None and mail.outbox == []

    # Back, the beat's sweeps (run here as a worker runs them) do what was left.
    app.conf.task_always_eager = True
    time_machine.move_to(timezone.now() + timedelta(minutes=20))
    assert run_left_queued_evaluations() == {"ran": 2}
    assert send_unsent_mail() == {"sent": 1}
    assert [m.to for m in mail.outbox] == [["store-ops@example.com"]]
    for wave in (north, south):
        assert "1 criterion measured, 1 failing" in client.get(reverse("rollout-evaluation", args=[wave.pk])).content.decode()
