"""Every Celery task is declared through controltower.tasks.tower_task."""
import logging

import pytest

from controltower.celery import app
from controltower.tasks import tower_task


@tower_task("tests.divide", soft_time_limit=5, time_limit=10)
def divide(a, b):
    return a / b


def test_tasks_have_stable_names_and_time_limits():
    app.loader.import_default_modules()
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert "exceptions.escalation_sweep" in names
    assert "reconcile.snapshot_mismatch" in names
    for name in ("exceptions.escalation_sweep", "reconcile.snapshot_mismatch", "tests.divide"):
        task = app.tasks[name]
        assert 0 < task.soft_time_limit < task.time_limit, name


def test_a_run_is_logged_with_its_duration(caplog):
    with caplog.at_level(logging.INFO, logger="controltower.tasks"):
        assert divide.delay(6, 3).get() == 2
    ours = [r for r in caplog.records if r.name == "controltower.tasks"]
    assert [r.getMessage().split(" in ")[0] for r in ours] == [
        "task tests.divide started", "task tests.divide done",
    ]


def test_a_failure_is_logged_and_raised(caplog):
    with caplog.at_level(logging.INFO, logger="controltower.tasks"), pytest.raises(ZeroDivisionError):
        divide.delay(1, 0).get()
    last = [r for r in caplog.records if r.name == "controltower.tasks"][-1]
    assert last.levelname == "ERROR"
    assert last.getMessage().startswith("task tests.divide failed after")


def test_the_hard_limit_must_follow_the_soft_one():
    with pytest.raises(ValueError, match="hard time limit"):
        tower_task("tests.wrong", soft_time_limit=10, time_limit=10)
