"""NNC's project settings as nncgraph's `datasets:`, `training:`, `evaluation:` and `context:`.

[Dataset_N], [Config], [Optimizer_N] (each a network, a dataset, a solver and its schedule;
sdcproj_solver.py reads the last two), [Monitor_N], [Executor_N] (sdcproj_executor.py),
[StructureSearch], [Script] and [Engine]. What the
project file cannot hold becomes a note (a YAML comment above its section),
so no setting that changes training disappears without a word.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from ..errors import shown
from ..project.sections import MAX_BATCH_SIZE, MAX_EPOCHS
from .sdcproj_executor import executor_settings
from .sdcproj_ini import IniFile, IniSection
from .sdcproj_solver import solver_settings
from .sdcproj_values import leftover, read_flag, read_int, within
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
        # the epoch is one pass over the first optimizer's dataset: NNC's iteration counts become epochs by it
        per_epoch = sizes.get(train_set, 0) / training.get("batch_size", 64)
        entries = [_entry(ini, o, i, networks, keys, training, per_epoch, note) for i, o in enumerate(optimizers)]
        if len(entries) > 1:
            training["optimizers"] = entries
        else:
            first = entries[0] if entries else {}
            training.update({k: v for k, v in first.items() if k not in ("name", "network", "dataset")})
            if len(networks) > 1:
                training["network"] = first.get("network", networks[0])
        trained = list(dict.fromkeys(e["network"] for e in entries)) or networks[:1]
        others = [f"'{n}'" for n in networks if n not in trained]
        if others:
            kept = f"networks {', '.join(others)} are" if len(others) > 1 else f"network {others[0]} is"
            note("network", f"NNC's {kept} kept as written. nncgraph trains "
                            f"{', '.join(repr(n) for n in trained)} (the optimizers' networks) and derives their "
                            "validation and runtime variants from them, so the others serve `nncgraph check` and "
                            "comparison only.")
        _monitors(monitors, train_set, networks, training, note)
        order = ("network", "max_epoch", "batch_size", "monitor_interval", "save_best", "train_error", "optimizer",
                 "lr_scheduler", "update_interval", "optimizers")
        out["training"] = {k: training[k] for k in order if k in training}
    evaluation = executor_settings(ini, note)
    if evaluation:
        out["evaluation"] = evaluation
    search = _structure_search(ini.section("StructureSearch"), note)
    if search:
        out["search"] = search
    _others(ini, note)
    return out


def _entry(ini: IniFile, o: IniSection, index: int, networks: List[str], keys: Dict[str, str], training: dict,
           per_epoch: float, note) -> dict:
    """[Optimizer_N] as an entry of `training.optimizers`: its name, network, dataset and solver settings."""
    net = o.get("Optimizer_NetworkName")
    if net and net not in networks:
        if index > 0:       # a second optimizer trains only that network: nothing else can stand in
            raise ini.error(f"{o.title} trains network {shown(net)}, which this file does not hold.",
                            o.line_of("Optimizer_NetworkName"),
                            fix=f"name one of the project's networks ({', '.join(networks)}) in NNC.")
        note("training", f"NNC's optimizer trains network '{net}', which this file does not hold.")
    data = o.get("Optimizer_DatasetName", "Training")
    entry = {"name": o.get("Optimizer_Name") or f"Optimizer_{index}",
             "network": net if net in networks else networks[0], "dataset": keys.get(data, data.lower())}
    entry.update(solver_settings(ini, o, training["max_epoch"], training.get("batch_size", 64), per_epoch, note))
    return entry


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


# -- datasets -------------------------------------------------------------------------------------------
def _datasets(ini: IniFile, keys: Dict[str, str], note):
    out, sizes, any_uri = {}, {}, False
    for section in ini.numbered("Dataset_"):
        name = section.get("Name", section.name)
        key = keys.get(name, name.lower())
        sizes[name] = read_int(ini, section, "NumData", 0)
        # EnableCache only speeds NNC up; NumData is what NNC counted when it last read the data
        leftover(section, {"Name", "URI", "Shuffle", "EnableCache", "ImageNormalization", "NumData"}, note,
                  "datasets")
        if not section.get("URI"):
            note("datasets", f"NNC's dataset '{name}' has no URI (NNC Cloud leaves it out of downloaded projects): "
                             f"give a CSV with `nncgraph run --dataset {key}=data.csv`.")
            continue
        any_uri = True
        entry: dict = {"csv": section.get("URI")}
        shuffle = read_flag(ini, section, "Shuffle", key == "training")
        if shuffle != (key == "training"):
            entry["shuffle"] = shuffle
        if not read_flag(ini, section, "ImageNormalization", True):
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
    epochs = read_int(ini, config, "MaxEpoch", 10)
    if epochs == 0:
        raise ini.error("MaxEpoch=0 (NNC's way to save an untrained network) has no nncgraph counterpart.",
                        config.line_of("MaxEpoch"), fix="set MaxEpoch to 1 or more.")
    training["max_epoch"] = within(ini, config, "MaxEpoch", epochs, 1, MAX_EPOCHS)
    # the epoch's iteration count divides by it
    training["batch_size"] = within(ini, config, "BatchSize", read_int(ini, config, "BatchSize", 64), 1, MAX_BATCH_SIZE)
    if "MonitorInterval" in config:
        interval = read_int(ini, config, "MonitorInterval", 1)
        if interval < 1:
            note("training", "NNC's MonitorInterval=0 validates only at the end; so does monitor_interval = "
                             "max_epoch.")
            interval = epochs
        training["monitor_interval"] = interval
    training["save_best"] = read_flag(ini, config, "SaveBest", True)
    precision = config.get("TypeConfig", "Float")
    if precision not in ("Float", "Half"):
        raise ini.error(f"[Config] TypeConfig={shown(precision)} is neither Float nor Half.",
                        config.line_of("TypeConfig"), fix="set TypeConfig=Float or Half.")
    if precision == "Half":
        out["context"] = {"precision": "half"}
        note("context", "NNC trains this project in half precision (TypeConfig=Half), which needs a GPU: run with "
                        "`--context cudnn`, or `--precision float` on a CPU.")
    if read_flag(ini, config, "AutoEvaluation", False):
        note("training", "NNC evaluates the result right after training (AutoEvaluation=1): run `nncgraph "
                         "evaluate RUN_FOLDER` after `nncgraph run`.")
    leftover(config, {"MaxEpoch", "BatchSize", "MonitorInterval", "SaveBest", "TypeConfig", "AutoEvaluation",
                       "NumOptimizer", "NumMonitor", "NumExecutor"}, note, "training")
    return training


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
