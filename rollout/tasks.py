"""Celery task for the gate evaluation (hourly on beat, and on demand); the work is in rollout.evaluation."""
from controltower.tasks import tower_task

from .evaluation import evaluate_all, evaluate_wave
from .models import Wave


@tower_task("rollout.evaluate", soft_time_limit=600, time_limit=660)
def evaluate(wave_id=None):
    """Evaluate every wave not closed, or one wave (the button)."""
    if wave_id is None:
        return evaluate_all()
    made = evaluate_wave(Wave.objects.select_related("program").get(pk=wave_id))
    return {"waves": 1, "evaluations": len(made), "failing": sum(1 for e in made if not e.counts)}
