"""Celery tasks for the gate evaluation (hourly on beat, and "Evaluate now"
queued); the work is in rollout.evaluation."""
from django.utils import timezone

from controltower.tasks import tower_task

from .alerts import lapsing_waivers
from .evaluation import evaluate_all, evaluate_wave, run_left_queued, run_request
from .models import Wave


@tower_task("rollout.evaluate", soft_time_limit=600, time_limit=660)
def evaluate(wave_id=None):
    """Evaluate every wave not closed, or one wave."""
    if wave_id is None:
        return evaluate_all()
    made = evaluate_wave(Wave.objects.select_related("program").get(pk=wave_id))
    return {"waves": 1, "evaluations": len(made), "failing": sum(1 for e in made if not e.counts)}


@tower_task("rollout.alert_lapsing_waivers", soft_time_limit=240, time_limit=270)
def alert_lapsing_waivers():
    """The beat's sweep of waivers about to lapse (rollout.alerts)."""
    return {"told": lapsing_waivers(timezone.now())}


@tower_task("rollout.run_evaluation_request", soft_time_limit=600, time_limit=660)
def run_evaluation_request(request_id):
    """One "Evaluate now" of the wave page (rollout.evaluation.run_request)."""
    run_request(request_id)


@tower_task("rollout.run_left_queued_evaluations", soft_time_limit=600, time_limit=660)
def run_left_queued_evaluations():
    """The beat's sweep of "Evaluate now" requests the broker never took."""
    return {"ran": run_left_queued()}
