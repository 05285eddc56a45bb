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


def _worker_visibility_timeout(**env):
    """The visibility timeout a worker started with production settings and
    `env` gives its broker connection (the worker is built, not run)."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    code = ("import django; django.setup()\n"
            "from controltower.celery import app\n"
            "worker = app.Worker(pool='solo', concurrency=1, quiet=True)\n"
            "print(app.connection_for_read().transport_options['visibility_timeout'])\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR, timeout=120,
        env={**clean, "DATABASE_URL": "postgres://u:p@db:5432/ct", "CELERY_BROKER_URL": "redis://redis:6379/0",
             "SECRET_KEY": "tests-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH",
             "DJANGO_SETTINGS_MODULE": "controltower.settings", **env})
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_a_workers_visibility_timeout_is_just_above_the_longest_task_time_limit():
    from controltower.celery import longest_time_limit

    app.loader.import_default_modules()
    longest = longest_time_limit(app)
    assert all(task.time_limit <= longest for task in app.tasks.values())
    assert longest in {task.time_limit for task in app.tasks.values()}

    assert _worker_visibility_timeout() == longest + 60
    assert _worker_visibility_timeout(CELERY_VISIBILITY_MARGIN="5") == longest + 5
    assert _worker_visibility_timeout(CELERY_VISIBILITY_TIMEOUT="3") == 3
