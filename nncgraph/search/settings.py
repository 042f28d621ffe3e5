"""Search settings: the project's `search:` section, overridden by the command line.

```yaml
search:
  trials: 20
  time_limit: 30m              # NNC's TimeLimit; seconds, or with s/m/h
  objective: error+macs        # error | error+macs | error+params
  sampler: nsga2               # tpe | nsga2 | random | gp   (a declared space)
  error_range: [null, 0.05]    # NNC's Validation_Min/Max: candidates outside are infeasible
  macs_range: [null, 2000000]  # NNC's CostMultiplyAdd_Min/Max: checked before training
  params_range: [null, null]
  fidelity: {min_epochs: 1, reduction_factor: 3}   # multi-fidelity; absent: every candidate trains fully
  epoch_budget: 60             # start no new trial once all trials together trained 60 epochs
```
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Optional, Tuple

from ..errors import UserError

OBJECTIVES = ("error", "error+macs", "error+params")
SAMPLERS = ("tpe", "nsga2", "random", "gp")
PRUNERS = ("sha", "hyperband")
Range = Tuple[Optional[float], Optional[float]]


@dataclass
class Fidelity:
    min_epochs: int = 1
    reduction_factor: int = 3
    pruner: str = "sha"            # single objective: Optuna's SuccessiveHalving or Hyperband

    def stages(self, max_epoch: int):
        """Epoch counts at which a candidate is judged: r, r*eta, ... and finally max_epoch."""
        out, r = [], max(1, self.min_epochs)
        while r < max_epoch:
            out.append(r)
            r *= self.reduction_factor
        return out + [max_epoch]


@dataclass
class SearchSettings:
    trials: int = 20
    time_limit: Optional[float] = None          # seconds
    objective: str = "error+macs"
    sampler: Optional[str] = None               # None: tpe/nsga2 for a declared space, random for mutation
    error_range: Range = (None, None)
    macs_range: Range = (None, None)
    params_range: Range = (None, None)
    fidelity: Optional[Fidelity] = None
    seed: int = 0
    epochs: Optional[int] = None                # overrides training.max_epoch for every candidate
    epoch_budget: Optional[int] = None          # start no new trial once the study trained this many epochs
    extra: dict = field(default_factory=dict)

    @property
    def directions(self):
        return ["minimize"] if self.objective == "error" else ["minimize", "minimize"]

    @property
    def cost_key(self) -> str:
        return "params" if self.objective == "error+params" else "macs"


def parse_duration(value) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(value))
    if not match:
        raise UserError(f"time limit '{value}' is not a duration.", fix="e.g. 600, 600s, 30m or 2h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _range(value, key: str) -> Range:
    if value is None:
        return (None, None)
    if not isinstance(value, list) or len(value) != 2 or not all(v is None or isinstance(v, (int, float))
                                                                 for v in value):
        raise UserError(f"search.{key} must be [min, max] (null for no bound), got {value!r}.",
                        fix=f"e.g. {key}: [null, 0.05]")
    return (value[0], value[1])


def from_project(section) -> SearchSettings:
    """The `search:` section of a project document (plain dict or None)."""
    section = dict(section or {})
    known = {"trials", "time_limit", "objective", "sampler", "error_range", "macs_range", "params_range",
             "fidelity", "seed", "epochs", "epoch_budget"}
    unknown = set(section) - known
    if unknown:
        raise UserError(f"unknown search setting(s): {', '.join(sorted(unknown))}.",
                        fix=f"use {', '.join(sorted(known))}.")
    s = SearchSettings()
    s.trials = int(section.get("trials", s.trials))
    s.time_limit = parse_duration(section.get("time_limit"))
    s.objective = section.get("objective", s.objective)
    s.sampler = section.get("sampler")
    s.error_range = _range(section.get("error_range"), "error_range")
    s.macs_range = _range(section.get("macs_range"), "macs_range")
    s.params_range = _range(section.get("params_range"), "params_range")
    s.seed = int(section.get("seed", 0))
    s.epochs = section.get("epochs")
    s.epoch_budget = section.get("epoch_budget")
    fid = section.get("fidelity")
    if fid:
        fid = fid if isinstance(fid, dict) else {}
        s.fidelity = Fidelity(int(fid.get("min_epochs", 1)), int(fid.get("reduction_factor", 3)),
                              fid.get("pruner", "sha"))
    return check(s)


def check(s: SearchSettings) -> SearchSettings:
    if s.objective not in OBJECTIVES:
        raise UserError(f"unknown objective '{s.objective}'.", fix=f"use one of {', '.join(OBJECTIVES)}.")
    if s.sampler is not None and s.sampler not in SAMPLERS:
        raise UserError(f"unknown sampler '{s.sampler}'.", fix=f"use one of {', '.join(SAMPLERS)}.")
    if s.trials < 1:
        raise UserError(f"trials must be 1 or more, got {s.trials}.", fix="e.g. --trials 20")
    if s.fidelity is not None:
        if s.fidelity.min_epochs < 1 or s.fidelity.reduction_factor < 2:
            raise UserError("fidelity needs min_epochs >= 1 and reduction_factor >= 2.",
                            fix="e.g. fidelity: {min_epochs: 1, reduction_factor: 3}")
        if s.fidelity.pruner not in PRUNERS:
            raise UserError(f"unknown pruner '{s.fidelity.pruner}'.", fix=f"use one of {', '.join(PRUNERS)}.")
    return s


def with_overrides(s: SearchSettings, **given) -> SearchSettings:
    """Command-line values (those not None) over the project's."""
    return check(replace(s, **{k: v for k, v in given.items() if v is not None}))
