"""Multi-fidelity: judge a candidate after a few epochs, and only train on the promising ones.

A candidate trains in stages (Fidelity.stages: 1, 3, 9, ... epochs, then
max_epoch); between stages the run is resumed exactly, so a promoted
candidate costs what an uninterrupted run costs.

- One objective (validation error): Optuna's SuccessiveHalvingPruner or
  HyperbandPruner decide from the errors reported at each stage.
- Two objectives (error and a cost): Optuna's pruners compare one number, and
  a cheap network with a high early error must not lose to an expensive one
  with a low error -- that is the trade-off being searched. So the rule is
  successive halving over Pareto ranks: at a stage, the candidate joins the
  errors every earlier candidate had at that same stage (shared through the
  study, so workers on other machines count too), paired with their costs;
  it continues when it lies in the best fronts (non-dominated sorting) that
  hold the top 1/reduction_factor of them. Until a stage has seen
  reduction_factor candidates, everyone continues: there is no evidence yet.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

STAGE_KEY = "error@{}"        # user attribute: the best validation error after that many epochs


def make_pruner(settings):
    import optuna

    f = settings.fidelity
    if f is None or len(settings.directions) > 1:
        return optuna.pruners.NopPruner()
    if f.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=f.min_epochs, reduction_factor=f.reduction_factor)
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=f.min_epochs, reduction_factor=f.reduction_factor)


def fronts(points: Sequence[Tuple[float, float]]) -> List[List[int]]:
    """Indices of `points` by non-dominated front (both coordinates minimized)."""
    remaining = list(range(len(points)))
    out = []
    while remaining:
        front = [i for i in remaining if not any(_dominates(points[j], points[i]) for j in remaining if j != i)]
        out.append(front)
        remaining = [i for i in remaining if i not in front]
    return out


def _dominates(a, b) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def promote(mine: Tuple[float, float], others: Sequence[Tuple[float, float]], reduction_factor: int) -> bool:
    """Whether a candidate at (error, cost) continues past a stage where `others` were seen."""
    points = list(others) + [mine]
    if len(points) < reduction_factor:
        return True
    keep = math.ceil(len(points) / reduction_factor)
    kept: List[int] = []
    for front in fronts(points):
        if len(kept) >= keep:
            break
        kept += front
    return len(points) - 1 in kept


def stage_population(study, stage: int, cost_key: str, exclude: int) -> List[Tuple[float, float]]:
    """(error after `stage` epochs, cost) of every other trial that reached that stage."""
    key = STAGE_KEY.format(stage)
    out = []
    for t in study.get_trials(deepcopy=False):
        if t.number != exclude and key in t.user_attrs and cost_key in t.user_attrs:
            out.append((t.user_attrs[key], t.user_attrs[cost_key]))
    return out
