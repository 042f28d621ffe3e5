"""`nncgraph render`: the fully defaulted project, as YAML that loads again."""
from __future__ import annotations

import os
from typing import Any, Dict

from ..project.model import Project
from ..project.sections import FORMAT
from ..project.yaml_text import dump
from .expand import expand_network
from .ir import build_graph


def render_project(project: Project, absolute_paths: bool = False) -> Dict[str, Any]:
    """`absolute_paths`: dataset CSVs and parameter files (`w_file`, ...) as absolute paths, for a copy
    kept away from the project (a run folder)."""
    base = os.path.dirname(project.path)
    networks = {}
    for net_name in project.networks:
        specs = expand_network(project.networks[net_name], project.units)   # render shows units expanded
        graph = build_graph(net_name, specs)
        layers, previous = [], None
        for spec in specs:   # written order, not topological, so the file reads as the user wrote it
            node = graph.by_name[spec.name]
            entry = {"type": node.type, "name": node.name}
            if node.inputs and list(node.inputs) != ([previous] if previous else []):
                entry["input"] = node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)
            entry.update(node.props)
            if absolute_paths:
                entry.update({k: os.path.normpath(os.path.join(base, v)) for k, v in node.props.items()
                              if k.endswith("_file") and isinstance(v, str) and v})
            layers.append(entry)
            previous = node.name
        networks[net_name] = layers
    t = project.training
    training = {"max_epoch": t.max_epoch, "batch_size": t.batch_size, "monitor_interval": t.monitor_interval,
                "save_best": t.save_best, "seed": t.seed, "train_error": t.train_error,
                "resume_every": t.resume_every}
    entries = [_optimizer_entry(o) for o in t.optimizers]
    if len(entries) == 1:       # the one optimizer's keys in `training:` itself, as most projects write it
        del entries[0]["name"]
        training = {**{k: entries[0].pop(k) for k in ("network", "dataset")}, **training, **entries[0]}
    else:
        training["optimizers"] = entries
    out = {
        "format": FORMAT,
        "name": project.name,
        "datasets": {name: {"csv": d.csv if absolute_paths else d.csv_as_written, "shuffle": d.shuffle,
                            "image_normalization": d.image_normalization}
                     for name, d in project.datasets.items()},
    }
    if list(networks) == ["Main"]:
        out["network"] = networks["Main"]
    else:
        out["networks"] = networks
    if project.init_from is not None:
        out["init_from"] = {"path": project.init_from.path, "map": dict(project.init_from.mapping)}
    out["training"] = training
    out["evaluation"] = {"num_evaluations": project.evaluation.num_evaluations, "repeat": project.evaluation.repeat}
    out["context"] = {"backend": project.context.backend, "device_id": project.context.device_id,
                      "precision": project.context.precision}
    return out


def _optimizer_entry(o) -> Dict[str, Any]:
    out = {"name": o.name, "network": o.network, "dataset": o.dataset, "update_interval": o.update_interval,
           "optimizer": {"type": o.optimizer.type, **o.optimizer.params, "weight_decay": o.optimizer.weight_decay}}
    if o.lr_scheduler.type:
        out["lr_scheduler"] = {"type": o.lr_scheduler.type, **o.lr_scheduler.params,
                               "warmup_epochs": o.lr_scheduler.warmup_epochs}
    return out


def render_yaml(project: Project, absolute_paths: bool = False) -> str:
    return dump(render_project(project, absolute_paths), sort_keys=False, default_flow_style=None,
                     width=110)
