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

import math

from ..project.model import SchedulerSpec


def learning_rate(spec: SchedulerSpec, base: float, progress: float, max_epoch: int) -> float:
    rate = base * _decay(spec, progress, max_epoch)
    if spec.warmup_epochs > 0 and progress < spec.warmup_epochs:
        rate *= progress / spec.warmup_epochs
    return rate


def _decay(spec: SchedulerSpec, progress: float, max_epoch: int) -> float:
    p = spec.params
    if spec.type is None:
        return 1.0
    if spec.type == "Step":
        passed = sum(1 for s in p["steps"] if progress >= s)
        return p["multiplier"] ** passed
    if spec.type == "Exponential":
        return p["multiplier"] ** math.floor(progress)
    fraction = min(max(progress / max_epoch, 0.0), 1.0)
    if spec.type == "Cosine":
        low = p["min_rate"]
        return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * fraction))
    if spec.type == "Polynomial":
        return (1 - fraction) ** p["power"]
    raise ValueError(f"unknown scheduler {spec.type!r}")
