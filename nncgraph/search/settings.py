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

import math
import re
from dataclasses import dataclass, field, replace
from typing import Optional, Tuple

from ..errors import UserError, did_you_mean, shown
from ..project.sections import MAX_EPOCHS, MAX_SEED

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


MAX_TRIALS = 1_000_000


def parse_duration(value) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf"):
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(value))
    if not match or float(match.group(1)) <= 0:
        raise UserError(f"time limit {shown(value)} is not a duration above 0.", fix="e.g. 600, 600s, 30m or 2h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _range(value, key: str) -> Range:
    if value is None:
        return (None, None)
    if not isinstance(value, list) or len(value) != 2 or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)) for v in value):
        raise UserError(f"search.{key} must be [min, max] (null for no bound), got {shown(value)}.",
                        fix=f"e.g. {key}: [null, 0.05]")
    if value[0] is not None and value[1] is not None and value[0] > value[1]:
        raise UserError(f"search.{key} has its minimum {value[0]} above its maximum {value[1]}.", fix="swap them.")
    return (value[0], value[1])


def _int(section, key: str, default, low: int, high: int, example: str, label: str = "search."):
    """An integer setting; `where` is added by the caller (the section's key positions)."""
    value = section.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{label}{key} must be a whole number from {low:,} to {high:,}, got {shown(value)}.",
                        fix=f"e.g. {key}: {example}")
    return value


def _located(section, key: str):
    return section.where(key) if hasattr(section, "where") else None


def from_project(section) -> SearchSettings:
    """The `search:` section of a project document (a mapping, with positions when read from a file, or None)."""
    section = section if section is not None else {}
    if not isinstance(section, dict):
        raise UserError(f"`search:` must be a mapping of settings, got {shown(section)}.", fix="e.g. search: {trials: 20}")
    known = {"trials", "time_limit", "objective", "sampler", "error_range", "macs_range", "params_range",
             "fidelity", "seed", "epochs", "epoch_budget"}
    unknown = [k for k in section if k not in known]
    if unknown:
        hint = did_you_mean(str(unknown[0]), sorted(known))
        raise UserError(f"unknown search setting(s): {', '.join(shown(k, quote=False) for k in unknown)}.",
                        location=_located(section, unknown[0]),
                        fix=(hint + " " if hint else "") + f"Use {', '.join(sorted(known))}.")
    key = None
    try:
        s = SearchSettings()
        key = "trials"
        s.trials = _int(section, "trials", s.trials, 1, MAX_TRIALS, "20")
        key = "time_limit"
        s.time_limit = parse_duration(section.get("time_limit"))
        for key in ("objective", "sampler"):
            if section.get(key) is not None and not isinstance(section[key], str):
                raise UserError(f"search.{key} must be a name, got {shown(section[key])}.",
                                fix=f"use one of {', '.join(OBJECTIVES if key == 'objective' else SAMPLERS)}.")
        s.objective = section.get("objective", s.objective)
        s.sampler = section.get("sampler")
        for key in ("error_range", "macs_range", "params_range"):
            setattr(s, key, _range(section.get(key), key))
        key = "seed"
        s.seed = _int(section, "seed", 0, 0, MAX_SEED, "0")
        key = "epochs"
        s.epochs = _int(section, "epochs", None, 1, MAX_EPOCHS, "5")
        key = "epoch_budget"
        s.epoch_budget = _int(section, "epoch_budget", None, 1, MAX_EPOCHS * MAX_TRIALS, "60")
        key = "fidelity"
        fid = section.get("fidelity")
        if fid is not None and not isinstance(fid, dict):
            raise UserError(f"search.fidelity must be a mapping, got {shown(fid)}.",
                            fix="e.g. fidelity: {min_epochs: 1, reduction_factor: 3}")
        if fid:
            s.fidelity = Fidelity(_int(fid, "min_epochs", 1, 1, MAX_EPOCHS, "1", "search.fidelity."),
                                  _int(fid, "reduction_factor", 3, 2, 1000, "3", "search.fidelity."),
                                  fid.get("pruner", "sha"))
        key = None
        return check(s)
    except UserError as exc:
        raise exc.with_context(location=_located(section, key) if key else None) from None


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
