"""NNC's project settings as nncgraph's `datasets:`, `training:`, `evaluation:` and `context:`.

[Dataset_N], [Config], [Optimizer_N] (solver and learning-rate schedule),
[Monitor_N], [Executor_N] (sdcproj_executor.py), [StructureSearch], [Script] and [Engine]. What the
project file cannot hold becomes a note (a YAML comment above its section),
so no setting that changes training disappears without a word.
"""
from __future__ import annotations

import math
import re
from typing import Dict, List, Optional

from ..errors import shown
from ..optimizers import DEFAULT_OPTIMIZER, L2, OPTIMIZERS, SCHEDULERS, snake_case
from ..project.sections import MAX_BATCH_SIZE, MAX_EPOCHS
from .sdcproj_executor import executor_settings
from .sdcproj_ini import IniFile, IniSection

EPOCH, ITERATION = "0", "1"           # NNC's LearningRate*Unit values
TRUE_FALSE = {"1": True, "0": False, "True": True, "False": False, "true": True, "false": False}
_NUMBERED = re.compile(r"(Dataset|Optimizer|Monitor|Executor)_\d+|.*(Layer|Link)_\d+|.*Network_Global")
KNOWN_SECTIONS = {"Engine", "Global", "Dataset", "Description", "Config", "Script", "StructureSearch"}


def training_settings(ini: IniFile, networks: List[str], notes: Dict[str, List[str]]) -> dict:
    def note(section: str, text: str) -> None:
        notes.setdefault(section, []).append(text)

    optimizers = list(ini.numbered("Optimizer_"))
    monitors = list(ini.numbered("Monitor_"))
    optimizer = optimizers[0] if optimizers else None
    train_set = optimizer.get("Optimizer_DatasetName", "Training") if optimizer else "Training"
    valid_set = next((m.get("Monitor_DatasetName") for m in monitors if m.get("Monitor_Name") == "valid_error"),
                     "Validation")
    keys = {train_set: "training", valid_set: "validation"} if valid_set != train_set else {train_set: "training"}
    out: dict = {}
    datasets, sizes = _datasets(ini, keys, note)
    if datasets:
        out["datasets"] = datasets
    config = ini.section("Config")
    if config is not None or optimizer is not None:
        training = _config(ini, config or IniSection("Config", 0), out, note)
        if len(networks) > 1:
            wanted = optimizer.get("Optimizer_NetworkName") if optimizer else None
            training = {"network": wanted if wanted in networks else networks[0], **training}
            others = [f"'{n}'" for n in networks if n != training["network"]]
            kept = f"networks {', '.join(others)} are" if len(others) > 1 else f"network {others[0]} is"
            note("network", f"NNC's {kept} kept as written. nncgraph trains '{training['network']}' "
                            "(training.network) and derives its own validation and runtime variants from it, so "
                            "the others serve `nncgraph check` and comparison only.")
        if optimizer is not None:
            per_epoch = sizes.get(train_set, 0) / training.get("batch_size", 64)
            _optimizer(ini, optimizer, networks, training, per_epoch, note)
        for extra in optimizers[1:]:
            note("training", f"NNC's optimizer '{extra.get('Optimizer_Name')}' (network "
                             f"{extra.get('Optimizer_NetworkName')}, [{extra.name}]) was not imported: nncgraph "
                             "trains one network with one optimizer.")
        _monitors(monitors, train_set, networks, training, note)
        order = ("network", "max_epoch", "batch_size", "monitor_interval", "save_best", "train_error", "optimizer",
                 "lr_scheduler")
        out["training"] = {k: training[k] for k in order if k in training}
    evaluation = executor_settings(ini, note)
    if evaluation:
        out["evaluation"] = evaluation
    search = _structure_search(ini.section("StructureSearch"), note)
    if search:
        out["search"] = search
    _others(ini, note)
    return out


def _structure_search(section: Optional[IniSection], note) -> Optional[dict]:
    """NNC's [StructureSearch], when enabled, as the project's `search:` settings for `nncgraph search`."""
    if section is None or section.get("Enabled") != "1":
        return None
    out: dict = {"objective": {"Error": "error"}.get(section.get("Objective", ""), "error+macs")}

    def bound(key):
        value = section.get(key, "-1").strip()
        try:
            number = float(value)
        except ValueError:
            return None
        return None if number < 0 else (int(number) if number.is_integer() else number)

    for ours, low, high in (("error_range", "Validation_Min", "Validation_Max"),
                            ("macs_range", "CostMultiplyAdd_Min", "CostMultiplyAdd_Max")):
        pair = [bound(low), bound(high)]
        if pair != [None, None]:
            out[ours] = pair
    if section.get("EarlyStopping") == "1":
        out["fidelity"] = {"min_epochs": 1, "reduction_factor": 3}
    if section.get("AttemptTimes", "").strip().isdigit():
        out["trials"] = int(section.get("AttemptTimes"))
    hours = section.get("AttemptHours", "").strip()
    if hours and hours not in ("0", "-1"):
        out["time_limit"] = f"{hours}h"
    method = section.get("Method", "Random")
    if method != "Random":
        note("search", f"NNC's structure search method {method} models mutated networks; nncgraph mutates at "
                       "random when nothing is declared, and models a declared space with --sampler tpe, nsga2 "
                       "or gp.")
    return out


def _int(ini: IniFile, section: IniSection, key: str, default: int) -> int:
    if key not in section:
        return default
    return int(_number(ini, section, key))


def _float(ini: IniFile, section: IniSection, key: str, default: float) -> float:
    if not section.get(key):
        return default
    return _number(ini, section, key)


def _number(ini: IniFile, section: IniSection, key: str) -> float:
    """A setting's finite number (inf and nan would reach the arithmetic below as OverflowError)."""
    try:
        number = float(section.get(key))
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ini.error(f"{section.title} {key} must be a finite number, got {shown(section.get(key))}.",
                        section.line_of(key), fix=f"set {key} to a number in NNC.")
    return number


def _within(ini: IniFile, section: IniSection, key: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ini.error(f"{section.title} {key}={shown(section.get(key), quote=False)} is outside {low:,} to "
                        f"{high:,}.", section.line_of(key), fix=f"set {key} to a number from {low:,} to {high:,}.")
    return value


def _flag(ini: IniFile, section: IniSection, key: str, default: bool) -> bool:
    value = section.get(key)
    if value is None or value == "":
        return default
    if value not in TRUE_FALSE:
        raise ini.error(f"{section.title} {key} must be 1 or 0, got {shown(value)}.", section.line_of(key),
                        fix=f"set {key}=1 or {key}=0.")
    return TRUE_FALSE[value]


def _leftover(section: IniSection, used, note, where: str) -> None:
    rest = [f"{k}={v}" for k, (v, _) in section.values.items() if k not in used]
    if rest:
        note(where, f"NNC's [{section.name}] also sets {', '.join(rest)}, which nncgraph has no setting for.")


# -- datasets -------------------------------------------------------------------------------------------
def _datasets(ini: IniFile, keys: Dict[str, str], note):
    out, sizes, any_uri = {}, {}, False
    for section in ini.numbered("Dataset_"):
        name = section.get("Name", section.name)
        key = keys.get(name, name.lower())
        sizes[name] = _int(ini, section, "NumData", 0)
        # EnableCache only speeds NNC up; NumData is what NNC counted when it last read the data
        _leftover(section, {"Name", "URI", "Shuffle", "EnableCache", "ImageNormalization", "NumData"}, note,
                  "datasets")
        if not section.get("URI"):
            note("datasets", f"NNC's dataset '{name}' has no URI (NNC Cloud leaves it out of downloaded projects): "
                             f"give a CSV with `nncgraph run --dataset {key}=data.csv`.")
            continue
        any_uri = True
        entry: dict = {"csv": section.get("URI")}
        shuffle = _flag(ini, section, "Shuffle", key == "training")
        if shuffle != (key == "training"):
            entry["shuffle"] = shuffle
        if not _flag(ini, section, "ImageNormalization", True):
            entry["image_normalization"] = False
        out[key] = entry
    if any_uri:
        note("datasets", "The URIs are NNC's (its sample data, or NNC Cloud dataset IDs) and do not exist here: "
                         "give your CSVs with `nncgraph run --dataset training=train.csv --dataset "
                         "validation=valid.csv`.")
    return out, sizes


# -- config -------------------------------------------------------------------------------------------------
def _config(ini: IniFile, config: IniSection, out: dict, note) -> dict:
    training: dict = {}
    epochs = _int(ini, config, "MaxEpoch", 10)
    if epochs == 0:
        raise ini.error("MaxEpoch=0 (NNC's way to save an untrained network) has no nncgraph counterpart.",
                        config.line_of("MaxEpoch"), fix="set MaxEpoch to 1 or more.")
    training["max_epoch"] = _within(ini, config, "MaxEpoch", epochs, 1, MAX_EPOCHS)
    # the epoch's iteration count divides by it
    training["batch_size"] = _within(ini, config, "BatchSize", _int(ini, config, "BatchSize", 64), 1, MAX_BATCH_SIZE)
    if "MonitorInterval" in config:
        interval = _int(ini, config, "MonitorInterval", 1)
        if interval < 1:
            note("training", "NNC's MonitorInterval=0 validates only at the end; so does monitor_interval = "
                             "max_epoch.")
            interval = epochs
        training["monitor_interval"] = interval
    training["save_best"] = _flag(ini, config, "SaveBest", True)
    precision = config.get("TypeConfig", "Float")
    if precision not in ("Float", "Half"):
        raise ini.error(f"[Config] TypeConfig={shown(precision)} is neither Float nor Half.",
                        config.line_of("TypeConfig"), fix="set TypeConfig=Float or Half.")
    if precision == "Half":
        out["context"] = {"precision": "half"}
        note("context", "NNC trains this project in half precision (TypeConfig=Half), which needs a GPU: run with "
                        "`--context cudnn`, or `--precision float` on a CPU.")
    if _flag(ini, config, "AutoEvaluation", False):
        note("training", "NNC evaluates the result right after training (AutoEvaluation=1): run `nncgraph "
                         "evaluate RUN_FOLDER` after `nncgraph run`.")
    _leftover(config, {"MaxEpoch", "BatchSize", "MonitorInterval", "SaveBest", "TypeConfig", "AutoEvaluation",
                       "NumOptimizer", "NumMonitor", "NumExecutor"}, note, "training")
    return training


# -- optimizer and learning-rate schedule ------------------------------------------------------------------
def _optimizer(ini: IniFile, o: IniSection, networks, training: dict, per_epoch: float, note) -> None:
    solver = o.get("SolverName", DEFAULT_OPTIMIZER)
    if solver not in OPTIMIZERS:
        raise ini.error(f"solver {shown(solver)} is not one nncgraph offers.", o.line_of("SolverName"),
                        fix=f"choose one of {', '.join(OPTIMIZERS)} in NNC.")
    table = OPTIMIZERS[solver]
    # a decoupled decay is one of the solver's own parameters in NNC ("Weight Decay")
    own = [h.name for h in table.params + (() if table.decay_kind == L2 else (table.decay,))]
    optimizer: dict = {"type": solver}
    for i in range(_int(ini, o, "SolverParameterNum", 0)):
        name = o.get(f"SolverParameterName_{i}", "")
        key = snake_case(name)
        if key not in own:
            raise ini.error(f"solver parameter {shown(name)} is not a parameter of nncgraph's {solver}.",
                            o.line_of(f"SolverParameterName_{i}"), fix=f"{solver} takes {', '.join(own)}.")
        optimizer[key] = _float(ini, o, f"SolverParameter_{i}", 0.0)
    decay = _float(ini, o, "WeightDecay", 0.0)
    if decay and table.decay_kind != L2 and optimizer.get("weight_decay", decay) != decay:
        raise ini.error(f"{solver} has both its own weight decay and WeightDecay; nncgraph's {solver} has one.",
                        o.line_of("WeightDecay"), fix=f"set WeightDecay=0 (keep {solver}'s) in NNC.")
    if decay:
        optimizer["weight_decay"] = decay
    training["optimizer"] = optimizer
    scheduler = _scheduler(ini, o, training["max_epoch"], per_epoch, note)
    if scheduler:
        training["lr_scheduler"] = scheduler
    net = o.get("Optimizer_NetworkName")
    if net and net not in networks:
        note("training", f"NNC's optimizer trains network '{net}', which this file does not hold.")
    accumulate = _int(ini, o, "UpdateInterval", 1)
    if accumulate != 1:
        note("training", f"NNC accumulates gradients over UpdateInterval={accumulate} mini-batches (an update every "
                         f"{accumulate * training['batch_size']} samples); nncgraph updates after every batch, so "
                         f"raise batch_size to {accumulate * training['batch_size']} to match if memory allows.")
    if _int(ini, o, "RangeFrom", -1) != -1 or _int(ini, o, "RangeTo", -1) != -1:
        note("training", f"NNC applies the optimizer only from {o.get('RangeFrom')} to {o.get('RangeTo')} "
                         f"({'iterations' if o.get('RangeUnit') == ITERATION else 'epochs'}); nncgraph trains "
                         "throughout.")
    _leftover(o, {"Optimizer_Name", "Optimizer_NetworkName", "Optimizer_DatasetName", "UpdateInterval", "SolverName",
                  "SolverParameterNum", "WeightDecay", "RangeFrom", "RangeTo", "RangeUnit", "LearningRateScheduler",
                  "LearningRateMultiplier", "LearningRateUpdateInterval", "LearningRateUpdateIntervalUnit",
                  "LearningRatePower", "LearningRateSteps", "LearningRateWarmupScheduler",
                  "LearningRateWarmupLength", "LearningRateWarmupLengthUnit", "NumLearningRateStep"}
              | {k for k in o.values if k.startswith(("SolverParameterName_", "SolverParameter_"))}, note, "training")


def _scheduler(ini: IniFile, o: IniSection, max_epoch: int, per_epoch: float, note) -> Optional[dict]:
    kind = o.get("LearningRateScheduler") or "Exponential"     # what NNC writes when none is chosen
    multiplier = _float(ini, o, "LearningRateMultiplier", 1.0)

    def epochs(key: str, unit_key: str, exact: bool = False) -> float:
        value = _float(ini, o, key, 0.0)
        # without a unit NNC counts iterations, as nnabla's lr_decay_interval does
        if o.get(unit_key, ITERATION) == EPOCH:
            return value
        if per_epoch <= 0:
            raise ini.error(f"{key}={shown(o.get(key), quote=False)} counts iterations, and the training dataset's "
                            "NumData is unknown, so it cannot be turned into epochs.", o.line_of(key),
                            fix=f"set {unit_key}=0 and give the interval in epochs in NNC.")
        return value / per_epoch if exact else round(value / per_epoch, 2)

    if _int(ini, o, "NumLearningRateStep", 0):
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
        out = {"type": kind, **{p.name: _float(ini, o, p.nnc, p.default) for p in SCHEDULERS[kind].params if p.nnc}}
        unused = [f"{k}={o.get(k)}" + (f" ({_unit(o, k + 'Unit')})" if k.endswith("Interval") else "")
                  for k in ("LearningRateMultiplier", "LearningRateUpdateInterval") if o.get(k)]
        if unused:
            note("training", f"nncgraph's {kind} schedule runs from the base rate to 0 over max_epoch; NNC's "
                             f"{' and '.join(unused)} have no counterpart there and were not imported.")
    elif kind != "None":
        raise ini.error(f"learning-rate scheduler {shown(kind)} is not one nncgraph offers.",
                        o.line_of("LearningRateScheduler"), fix="use Exponential, Step, Cosine or Polynomial in NNC.")
    warmup = o.get("LearningRateWarmupScheduler") or "None"
    if warmup == "Linear" and _float(ini, o, "LearningRateWarmupLength", 0.0) > 0:
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


# -- monitors, executors and the rest ------------------------------------------------------------------
def _monitors(monitors: List[IniSection], train_set: str, networks, training: dict, note) -> None:
    for m in monitors:
        name, net, data = m.get("Monitor_Name"), m.get("Monitor_NetworkName"), m.get("Monitor_DatasetName")
        if name == "train_error" and data == train_set:
            # NNC runs a separate pass over the training set after each epoch, as `exact` does
            training["train_error"] = "exact"
        elif name == "train_error":
            note("training", f"NNC's train_error is network '{net}' on dataset '{data}'; nncgraph's training "
                             "error is measured on the training set.")
        elif name == "valid_error" and net in networks and net != training.get("network"):
            note("training", f"NNC validates with its network '{net}'; nncgraph validates with the validation "
                             "variant it derives from the trained network (Dropout off, BatchNormalization on "
                             "running statistics).")
        elif name != "valid_error":
            note("training", f"NNC's monitor '{name}' (network '{net}', dataset '{data}') was not imported.")


def _others(ini: IniFile, note) -> None:
    script = ini.section("Script")
    if script is not None and script.get("Enabled") == "1":
        note("project", "NNC runs scripts with this project ([Script] Enabled=1); they were not imported.")
    engine = ini.section("Engine")
    if engine is not None and engine.get("RNNTrainingMode", "0") != "0":
        note("training", f"NNC's RNNTrainingMode={engine.get('RNNTrainingMode')} was not imported.")
    unknown = [s for s in ini.sections if s not in KNOWN_SECTIONS and not _NUMBERED.fullmatch(s)]
    if unknown:
        note("project", f"NNC sections not imported: {', '.join(f'[{s}]' for s in unknown)}.")
