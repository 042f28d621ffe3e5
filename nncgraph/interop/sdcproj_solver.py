"""One NNC optimizer's solver and learning-rate schedule ([Optimizer_N]) as nncgraph's `optimizer:`,
`lr_scheduler:` and `update_interval:`. NNC counts schedule intervals in iterations or epochs
(LearningRate*Unit); nncgraph's schedules count epochs, so iterations are turned into epochs at the
training dataset's recorded size."""
from __future__ import annotations

import math
from typing import Optional

from ..errors import shown
from ..optimizers import DEFAULT_OPTIMIZER, L2, OPTIMIZERS, SCHEDULERS, snake_case
from ..project.sections import MAX_UPDATE_INTERVAL
from .sdcproj_ini import IniFile, IniSection
from .sdcproj_values import EPOCH, ITERATION, leftover, read_float, read_int, within


def solver_settings(ini: IniFile, o: IniSection, max_epoch: int, batch_size: int, per_epoch: float, note) -> dict:
    """One [Optimizer_N]'s solver as {optimizer, lr_scheduler, update_interval} (the last two when set);
    `per_epoch`: iterations in an epoch, which turns NNC's iteration counts into epochs."""
    solver = o.get("SolverName", DEFAULT_OPTIMIZER)
    if solver not in OPTIMIZERS:
        raise ini.error(f"solver {shown(solver)} is not one nncgraph offers.", o.line_of("SolverName"),
                        fix=f"choose one of {', '.join(OPTIMIZERS)} in NNC.")
    table = OPTIMIZERS[solver]
    # a decoupled decay is one of the solver's own parameters in NNC ("Weight Decay")
    own = [h.name for h in table.params + (() if table.decay_kind == L2 else (table.decay,))]
    optimizer: dict = {"type": solver}
    for i in range(read_int(ini, o, "SolverParameterNum", 0)):
        name = o.get(f"SolverParameterName_{i}", "")
        key = snake_case(name)
        if key not in own:
            raise ini.error(f"solver parameter {shown(name)} is not a parameter of nncgraph's {solver}.",
                            o.line_of(f"SolverParameterName_{i}"), fix=f"{solver} takes {', '.join(own)}.")
        optimizer[key] = read_float(ini, o, f"SolverParameter_{i}", 0.0)
    decay = read_float(ini, o, "WeightDecay", 0.0)
    if decay and table.decay_kind != L2 and optimizer.get("weight_decay", decay) != decay:
        raise ini.error(f"{solver} has both its own weight decay and WeightDecay; nncgraph's {solver} has one.",
                        o.line_of("WeightDecay"), fix=f"set WeightDecay=0 (keep {solver}'s) in NNC.")
    if decay:
        optimizer["weight_decay"] = decay
    out: dict = {"optimizer": optimizer}
    scheduler = _scheduler(ini, o, max_epoch, per_epoch, note)
    if scheduler:
        out["lr_scheduler"] = scheduler
    interval = read_int(ini, o, "UpdateInterval", 1)
    if interval > 1:        # NNC writes 0 for "every iteration", as nnabla reads it
        out["update_interval"] = within(ini, o, "UpdateInterval", interval, 1, MAX_UPDATE_INTERVAL)
    if read_int(ini, o, "RangeFrom", -1) != -1 or read_int(ini, o, "RangeTo", -1) != -1:
        note("training", f"NNC applies the optimizer '{o.get('Optimizer_Name', o.name)}' only from "
                         f"{o.get('RangeFrom')} to {o.get('RangeTo')} "
                         f"({'iterations' if o.get('RangeUnit') == ITERATION else 'epochs'}); nncgraph trains "
                         "throughout.")
    leftover(o, {"Optimizer_Name", "Optimizer_NetworkName", "Optimizer_DatasetName", "UpdateInterval", "SolverName",
                 "SolverParameterNum", "WeightDecay", "RangeFrom", "RangeTo", "RangeUnit", "LearningRateScheduler",
                 "LearningRateMultiplier", "LearningRateUpdateInterval", "LearningRateUpdateIntervalUnit",
                 "LearningRatePower", "LearningRateSteps", "LearningRateWarmupScheduler",
                 "LearningRateWarmupLength", "LearningRateWarmupLengthUnit", "NumLearningRateStep"}
             | {k for k in o.values if k.startswith(("SolverParameterName_", "SolverParameter_"))}, note, "training")
    return out


def _scheduler(ini: IniFile, o: IniSection, max_epoch: int, per_epoch: float, note) -> Optional[dict]:
    kind = o.get("LearningRateScheduler") or "Exponential"     # what NNC writes when none is chosen
    multiplier = read_float(ini, o, "LearningRateMultiplier", 1.0)

    def epochs(key: str, unit_key: str, exact: bool = False) -> float:
        value = read_float(ini, o, key, 0.0)
        # without a unit NNC counts iterations, as nnabla's lr_decay_interval does
        if o.get(unit_key, ITERATION) == EPOCH:
            return value
        if per_epoch <= 0:
            raise ini.error(f"{key}={shown(o.get(key), quote=False)} counts iterations, and the training dataset's "
                            "NumData is unknown, so it cannot be turned into epochs.", o.line_of(key),
                            fix=f"set {unit_key}=0 and give the interval in epochs in NNC.")
        return value / per_epoch if exact else round(value / per_epoch, 2)

    if read_int(ini, o, "NumLearningRateStep", 0):
        note("training", "NNC's learning-rate steps list (NumLearningRateStep) was not imported; use "
                         "lr_scheduler: {type: Step, steps: [...]}.")
    out: Optional[dict] = None
    if kind in ("None", "Exponential") and multiplier == 1.0:
        pass                                               # a constant rate
    elif kind == "Exponential":
        every = epochs("LearningRateUpdateInterval", "LearningRateUpdateIntervalUnit")
        exact = epochs("LearningRateUpdateInterval", "LearningRateUpdateIntervalUnit", exact=True)
        if exact <= 0:
            raise ini.error(f"LearningRateUpdateInterval={shown(o.get('LearningRateUpdateInterval'), quote=False)} "
                            "must be more than 0.", o.line_of("LearningRateUpdateInterval"),
                            fix="set the number of iterations (or epochs) between the rate's changes in NNC.")
        if every == 1:
            out = {"type": "Exponential", "multiplier": multiplier}
        elif exact < 1:          # several changes an epoch: their product once an epoch, as nncgraph steps
            out = _per_epoch(ini, o, multiplier, exact)
            note("training", f"NNC multiplies the rate by {multiplier} every "
                             f"{o.get('LearningRateUpdateInterval')} {_unit(o, 'LearningRateUpdateIntervalUnit')}; "
                             f"nncgraph multiplies it by {out['multiplier']:.6g} once an epoch.")
        else:                                              # rate x multiplier every `every` epochs, as steps
            steps = sorted({max(1, round(every * k)) for k in range(1, int(max_epoch / every) + 1)
                            if every * k < max_epoch})
            if steps:
                out = {"type": "Step", "multiplier": multiplier, "steps": steps}
            nnc_says = (f"NNC multiplies the rate by {multiplier} every {o.get('LearningRateUpdateInterval')} "
                        f"{_unit(o, 'LearningRateUpdateIntervalUnit')}"
                        + ("" if o.get("LearningRateUpdateIntervalUnit") == EPOCH else
                           f" (= {every} epochs at the sample count NNC recorded)"))
            if not steps:
                note("training", nnc_says + ", which is never within max_epoch: the rate stays constant.")
            elif every != int(every) or o.get("LearningRateUpdateIntervalUnit", ITERATION) != EPOCH:
                note("training", nnc_says + "; nncgraph steps at whole epochs.")
    elif kind == "Step":
        raw = [s for s in (o.get("LearningRateSteps") or "").split(",") if s.strip()]
        per = 1.0 if o.get("LearningRateUpdateIntervalUnit", ITERATION) == EPOCH else per_epoch
        if raw and per <= 0:
            raise ini.error("LearningRateSteps count iterations, and the training dataset's NumData is unknown.",
                            o.line_of("LearningRateSteps"), fix="give the steps in epochs in NNC.")
        try:
            steps = sorted({max(1, round(float(s) / per)) for s in raw})
        except (ValueError, OverflowError):
            raise ini.error(f"LearningRateSteps={shown(o.get('LearningRateSteps'))} is not a list of numbers.",
                            o.line_of("LearningRateSteps"), fix="e.g. LearningRateSteps=30,60,90") from None
        out = {"type": "Step", "multiplier": multiplier, "steps": steps or [max_epoch]}
    elif kind in ("Cosine", "Polynomial"):
        out = {"type": kind, **{p.name: read_float(ini, o, p.nnc, p.default) for p in SCHEDULERS[kind].params if p.nnc}}
        unused = [f"{k}={o.get(k)}" + (f" ({_unit(o, k + 'Unit')})" if k.endswith("Interval") else "")
                  for k in ("LearningRateMultiplier", "LearningRateUpdateInterval") if o.get(k)]
        if unused:
            note("training", f"nncgraph's {kind} schedule runs from the base rate to 0 over max_epoch; NNC's "
                             f"{' and '.join(unused)} have no counterpart there and were not imported.")
    elif kind != "None":
        raise ini.error(f"learning-rate scheduler {shown(kind)} is not one nncgraph offers.",
                        o.line_of("LearningRateScheduler"), fix="use Exponential, Step, Cosine or Polynomial in NNC.")
    warmup = o.get("LearningRateWarmupScheduler") or "None"
    if warmup == "Linear" and read_float(ini, o, "LearningRateWarmupLength", 0.0) > 0:
        out = out or {"type": "Exponential", "multiplier": 1.0}     # a constant rate after the warm-up
        out["warmup_epochs"] = epochs("LearningRateWarmupLength", "LearningRateWarmupLengthUnit")
    elif warmup not in ("None", "Linear"):
        raise ini.error(f"warm-up scheduler {shown(warmup)} is not one nncgraph offers.",
                        o.line_of("LearningRateWarmupScheduler"), fix="use Linear or None in NNC.")
    return out


def _per_epoch(ini: IniFile, o: IniSection, multiplier: float, every: float) -> dict:
    """Exponential once an epoch for `multiplier` every `every` (< 1) epochs."""
    try:
        per_epoch = multiplier ** (1 / every)
    except OverflowError:
        per_epoch = math.inf
    if isinstance(per_epoch, complex) or not math.isfinite(per_epoch):
        raise ini.error(f"LearningRateMultiplier={shown(o.get('LearningRateMultiplier'), quote=False)} applied "
                        f"{1 / every:,.0f} times an epoch makes no finite positive rate.",
                        o.line_of("LearningRateMultiplier"), fix="use a multiplier from 0 to 1, or a longer "
                        "LearningRateUpdateInterval, in NNC.")
    return {"type": "Exponential", "multiplier": per_epoch}


def _unit(o: IniSection, key: str) -> str:
    return "epochs" if o.get(key, ITERATION) == EPOCH else "iterations"
