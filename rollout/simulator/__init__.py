"""The retailer simulator: `manage.py simulate` generates a retailer, runs
it through simulated time with faults injected at given rates, posting
everything through the tower's public ingest services, and records each
fault in a ground truth (rollout.models.InjectedFault) that no detector
reads; `manage.py simulate --score` measures what the detectors caught.

Everything runs on the simulated clock from START: for a seed, the run is
the same every time. Only the simulate command imports this package
(tests/controltower/test_layout.py).
"""
from .run import START, SimulationExists, simulate
from .scoring import score

__all__ = ["START", "SimulationExists", "score", "simulate"]
