"""Learning-rate schedules as pure functions of training progress.

`progress` is in epochs and may be fractional (iteration / iterations per
epoch), so warm-up, Cosine and Polynomial move smoothly every iteration, while
Step and Exponential change at epoch boundaries as NNC's do.

>>> from nncgraph.project.model import SchedulerSpec
>>> step = SchedulerSpec("Step", {"multiplier": 0.1, "steps": [5, 8]}, 0.0)
>>> [round(learning_rate(step, 1.0, e, 10), 6) for e in (0, 4.9, 5, 8)]
[1.0, 1.0, 0.1, 0.01]
>>> cos = SchedulerSpec("Cosine", {"min_rate": 0.0}, 0.0)
>>> [round(learning_rate(cos, 1.0, e, 10), 6) for e in (0, 5, 10)]
[1.0, 0.5, 0.0]
>>> warm = SchedulerSpec(None, {}, 2.0)
>>> [learning_rate(warm, 1.0, e, 10) for e in (0.5, 1.0, 3.0)]
[0.25, 0.5, 1.0]
"""
from __future__ import annotations

from ..optimizers import SCHEDULERS
from ..project.model import SchedulerSpec


def learning_rate(spec: SchedulerSpec, base: float, progress: float, max_epoch: int) -> float:
    rate = base if spec.type is None else base * SCHEDULERS[spec.type].decay(spec.params, progress, max_epoch)
    if spec.warmup_epochs > 0 and progress < spec.warmup_epochs:
        rate *= progress / spec.warmup_epochs
    return rate
