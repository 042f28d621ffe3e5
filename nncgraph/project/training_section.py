"""`training:` as a typed TrainingSpec: the run's settings and its optimizers.

NNC runs each of a project's optimizers ([Optimizer_N]) within every iteration, in order, each over its
own network and dataset with its own solver, schedule and update interval. A project writes them as
`training.optimizers: [{name, network, dataset, optimizer, lr_scheduler, update_interval}, ...]`, or,
with one optimizer, writes those keys (all but `name`) in `training:` itself.
"""
from __future__ import annotations

from typing import Dict, List

from ..errors import UserError, did_you_mean, shown
from ..optimizers import DEFAULT_OPTIMIZER
from .fields import coerce_prop, read_fields, reject_unknown
from .located_yaml import LocatedDict, LocatedList
from .model import OptimizerEntry, OptimizerSpec, SchedulerSpec, TrainingSpec
from .sections import OPTIMIZER_ENTRY_FIELDS, OPTIMIZER_FIELDS, SCHEDULER_FIELDS, TRAINING_FIELDS

BLOCKS = ("optimizer", "lr_scheduler")
SINGLE_KEYS = [k for k in OPTIMIZER_ENTRY_FIELDS if k != "name"] + list(BLOCKS)


def parse_training(mapping: LocatedDict, networks: Dict) -> TrainingSpec:
    reject_unknown(mapping, list(TRAINING_FIELDS) + SINGLE_KEYS + ["optimizers"], "training key")
    values = read_fields(_only(mapping, TRAINING_FIELDS), TRAINING_FIELDS, "training key")
    if "optimizers" in mapping:
        single = [k for k in SINGLE_KEYS if k in mapping]
        if single:
            raise UserError(f"`training.{single[0]}` is one optimizer's setting, and `training.optimizers` lists "
                            "them all.", location=mapping.where(single[0]),
                            fix=f"move `{single[0]}` into the entries of `optimizers` (each has network, dataset, "
                                "optimizer, lr_scheduler, update_interval), or drop `optimizers`.")
        values["optimizers"] = _entries(mapping, networks)
    else:
        # no location of its own: what concerns it is said at `training:`
        values["optimizers"] = [_entry(_only(mapping, SINGLE_KEYS), networks, "training", located=False)]
    return TrainingSpec(**values)


def _only(mapping: LocatedDict, keys) -> LocatedDict:
    """The part of `mapping` under `keys`, keeping where each was written."""
    out = LocatedDict({k: v for k, v in mapping.items() if k in keys})
    out.file, out.line, out.column, out.key_positions = mapping.file, mapping.line, mapping.column, \
        mapping.key_positions
    return out


def _entries(mapping: LocatedDict, networks: Dict) -> List[OptimizerEntry]:
    raw = mapping["optimizers"]
    if not isinstance(raw, LocatedList) or not raw:
        raise UserError("`training.optimizers` must be a non-empty list of optimizers.",
                        location=mapping.where("optimizers"),
                        fix="e.g. optimizers: [{network: Generator, optimizer: {type: Adam}}, {network: "
                            "Discriminator, optimizer: {type: Adam}}]")
    out: List[OptimizerEntry] = []
    for index, item in enumerate(raw):
        if not isinstance(item, LocatedDict):
            raise UserError(f"optimizer {index + 1} of `training.optimizers` must be a mapping.",
                            location=raw.where(index), fix="e.g. - {network: Main, optimizer: {type: Adam}}")
        entry = _entry(item, networks, f"training.optimizers[{index}]")
        if any(e.name == entry.name for e in out):
            raise UserError(f"two optimizers are called {shown(entry.name)}.",
                            location=item.where("name") if "name" in item else raw.where(index),
                            fix="give each optimizer its own `name:` (metrics.csv's columns and the resume point "
                                "tell them apart by it).")
        out.append(entry)
    return out


def _entry(item: LocatedDict, networks: Dict, where: str, located: bool = True) -> OptimizerEntry:
    reject_unknown(item, list(OPTIMIZER_ENTRY_FIELDS) + list(BLOCKS), f"{where} key")
    values = read_fields(_only(item, OPTIMIZER_ENTRY_FIELDS), OPTIMIZER_ENTRY_FIELDS, f"{where} key")
    network = values["network"]
    if network is None:
        network = next(iter(networks))
    elif network not in networks:
        hint = did_you_mean(network, networks)
        raise UserError(f"{where}.network '{network}' is not a network of this project.",
                        location=item.where("network"),
                        fix=(hint + " " if hint else "") + f"Networks: {', '.join(networks)}.")
    return OptimizerEntry(name=values["name"] or network, network=network, dataset=values["dataset"],
                          optimizer=_optimizer(item.get("optimizer"), item), update_interval=values["update_interval"],
                          lr_scheduler=_scheduler(item.get("lr_scheduler"), item),
                          location=item.where() if located else None)


def _typed_block(raw, parent: LocatedDict, key: str, table: Dict[str, dict], default_type):
    if raw is None:
        return default_type, LocatedDict()
    if not isinstance(raw, LocatedDict):
        raise UserError(f"`{key}` must be a mapping with a `type`.", location=parent.where(key),
                        fix=f"e.g. {key}: {{type: {next(iter(table))}}}")
    kind = raw.get("type", default_type)
    if not isinstance(kind, str) or kind not in table:
        hint = did_you_mean(str(kind), table)
        raise UserError(f"unknown {key} type {shown(kind)}.", location=raw.where("type"),
                        fix=(hint + " " if hint else "") + f"Choose one of: {', '.join(table)}.")
    return kind, raw


def _typed_values(raw, parent, key: str, table, default):
    """(type, {parameter: value}) of an optimizer or scheduler block, each value checked, defaults filled."""
    kind, block = _typed_block(raw, parent, key, table, default)
    fields = table[kind]
    reject_unknown(block, ["type"] + list(fields), f"{kind} {key} parameter")
    return kind, {k: (coerce_prop(p, block[k], block.where(k), k) if k in block else p.default)
                  for k, p in fields.items()}


def _optimizer(raw, parent) -> OptimizerSpec:
    kind, values = _typed_values(raw, parent, "optimizer", OPTIMIZER_FIELDS, DEFAULT_OPTIMIZER)
    weight_decay = values.pop("weight_decay")
    return OptimizerSpec(type=kind, params=values, weight_decay=weight_decay)


def _scheduler(raw, parent) -> SchedulerSpec:
    if raw is None:
        return SchedulerSpec(type=None, params={}, warmup_epochs=0.0)
    kind, values = _typed_values(raw, parent, "lr_scheduler", SCHEDULER_FIELDS, None)
    warmup = values.pop("warmup_epochs")
    return SchedulerSpec(type=kind, params=values, warmup_epochs=warmup)
