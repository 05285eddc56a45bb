"""Two evaluations of the same wave at once (the hourly run and the button)."""
from decimal import Decimal

import pytest

from rollout.evaluation import evaluate_wave
from rollout.models import Evaluation, Gate, GateKind, Wave
from tests.conftest import on_postgres
from tests.inventory.factories import LocationFactory
from tests.threads import run_at_once

from .factories import CriterionFactory, GateTemplateFactory, WaveFactory


@pytest.mark.skipif(not on_postgres(), reason="needs PostgreSQL: SQLite serialises writers, no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_evaluations_at_once_keep_one_gate_per_template_and_pass_it_once(gauge):
    store = LocationFactory(code="C001")
    wave = WaveFactory(name="Race", stores=[store])
    for kind in (GateKind.DATA_READINESS, GateKind.TRAINING_COMPLETE):
        CriterionFactory(template=GateTemplateFactory(program=wave.program, kind=kind), threshold=Decimal("95"))
    gauge.set({store: 97})

    results = run_at_once([lambda: evaluate_wave(Wave.objects.get(pk=wave.pk))] * 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    gates = Gate.objects.filter(wave=wave).order_by("template__order")
    assert [g.status for g in gates] == [Gate.Status.PASSED, Gate.Status.PASSED]
    # Each run keeps the evidence it measured: the second measured the first
    # gate too when it read it before the first run passed it (under load,
    # one run can finish before the other starts: then it measured only the next gate).
    assert Evaluation.objects.filter(gate=gates[0]).count() in (1, 2)
    assert Evaluation.objects.filter(gate=gates[1]).count() in (1, 2)


@pytest.mark.skipif(not on_postgres(), reason="needs PostgreSQL: SQLite serialises writers, no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_waves_given_the_same_order_at_once_one_is_refused_not_a_500(people):
    """Two PMOs move two waves of a program to the same order at the same
    moment: one change lands, the other is a 400 naming the order."""
    from rest_framework.test import APIClient

    from controltower.models import Role

    first = WaveFactory(name="First", order=1)
    second = WaveFactory(name="Second", order=2, program=first.program)
    pmo = people[Role.PMO].owner

    def move(wave):
        client = APIClient()
        client.force_authenticate(pmo)
        return client.patch(f"/api/v1/waves/{wave.pk}", {"order": 7}, format="json")

    answers = run_at_once([lambda: move(first), lambda: move(second)])

    assert sorted(answer.status_code for answer in answers) == [200, 400], answers
    refused = next(answer for answer in answers if answer.status_code == 400)
    assert set(refused.json()["errors"]) == {"order"}
    assert sorted(Wave.objects.filter(program=first.program).values_list("order", flat=True)) in ([1, 7], [2, 7])
