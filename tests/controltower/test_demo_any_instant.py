"""The demo tells its story (docs/getting-started.md) whenever it is
loaded: its times are relative to the load, so the story must not change
with the hour (before the stores open, after they close), the weekday,
the year's end or a night when Europe's clocks change. Each case loads the
small demo with the clock at that instant (time-machine) and checks what
that page promises."""
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model

from controltower.demo.retailer import load_demo
from exceptions import reconciliation
from inventory.models import Location
from rollout import board
from rollout.models import Evaluation, Program

from .test_demo_rollout import PILOT_STATES

pytestmark = pytest.mark.django_db

INSTANTS = {
    "monday-00:10": datetime(2026, 12, 7, 0, 10, tzinfo=UTC),  # the stores' new day has not started
    "sunday-noon": datetime(2026, 12, 13, 12, 0, tzinfo=UTC),
    "new-year's-eve-23:55": datetime(2026, 12, 31, 23, 55, tzinfo=UTC),
    "spring-forward-00:40": datetime(2027, 3, 28, 0, 40, tzinfo=UTC),  # EU clocks go forward at 01:00 UTC
    "fall-back-00:40": datetime(2026, 10, 25, 0, 40, tzinfo=UTC),  # EU clocks go back at 01:00 UTC
}


def latest(gate, metric):
    return Evaluation.objects.filter(gate=gate, criterion__metric=metric).order_by("-at").first()


@pytest.mark.parametrize("instant", INSTANTS.values(), ids=INSTANTS.keys())
def test_the_demo_tells_its_story_at(instant):
    with time_machine.travel(instant):
        load_demo(size="small")
        program = Program.objects.get(name="ERP rollout (demo)")
        _templates, rows = board.board(program, get_user_model().objects.get(username="pmo"))
        snapshot_mismatches = reconciliation.snapshot_mismatch()
        financial_variances = reconciliation.financial_variance()
        gaps = reconciliation.sales_posting_gap()
        picks = reconciliation.beyond_reserved()
        arrivals = reconciliation.transfer_in_without_out()
    by_name = {row.wave.name: row for row in rows}
    states = {name: [cell.state for cell in row.cells] for name, row in by_name.items()}

    # The pilot waits in hypercare exit, red on its measured count accuracy.
    assert states["Pilot (demo)"] == PILOT_STATES
    accuracy = latest(by_name["Pilot (demo)"].cells[-1].gate, "inventory_accuracy_exact")
    assert accuracy.sample > 0 and accuracy.value < 95 and not accuracy.passed
    # Germany red at training (15 of 24 people), France and Spain amber by a waiver.
    assert states["Germany (demo)"] == ["amber", "green", "amber", "red"] + ["waiting"] * 3
    training = latest(by_name["Germany (demo)"].cells[3].gate, "training_completion")
    assert (training.value, training.sample) == (62.5, 24)
    assert states["France and Spain (demo)"] == ["amber", "green", "amber", "amber"] + ["waiting"] * 3

    # Every snapshot and posting check has something real to find.
    assert 1 <= len(snapshot_mismatches) <= 3
    assert 1 <= len(financial_variances) <= 2
    [gap] = gaps
    assert gap.details["pos_quantity"] > gap.details["erp_quantity"]
    [pick] = picks
    assert pick.location_id == Location.objects.get(code="WEB01").pk
    assert arrivals and len({f.details["transfer"] for f in arrivals}) == 1
