"""An nnabla file's settings as the project's `datasets:`, `training:` and `evaluation:`: epochs, batch
size, each optimizer the imported networks train, with its dataset, solver, schedule and update interval,
and the executor's passes.
nnabla counts schedules in iterations; the project's count epochs (iter_per_epoch turns one into the other)."""
from __future__ import annotations

from typing import Dict, List, Optional

from ..errors import UserError, shown
from ..optimizers import L2, OPTIMIZERS, SCHEDULERS, WARMUP, WARMUP_MESSAGE, WARMUP_TYPE


def tidy(value):
    """float32 values as written (0.001, not 0.0010000000474974513)."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tidy(v) for v in value]
    return value


def dataset_keys(proto) -> Dict[str, str]:
    """The file's dataset name -> the project's key: the first optimizer's is `training`, a validation
    monitor's `validation`, another optimizer's its name in lower case (as written if that is taken)."""
    keys: Dict[str, str] = {}
    for o in proto.optimizer:
        name = o.dataset_name[0] if o.dataset_name else None
        if name is None or name in keys:
            continue
        key = "training" if not keys else name.lower()
        if key in set(keys.values()) | ({"training", "validation"} if keys else set()):
            key = name
        keys[name] = key
    for m in proto.monitor:
        name = m.dataset_name[0] if m.dataset_name else None
        if name and name not in keys and "valid" in m.name.lower() and "validation" not in keys.values():
            keys[name] = "validation"
    return keys


def dataset_settings(proto) -> Dict[str, Dict]:
    keys = dataset_keys(proto)
    out = {}
    for d in proto.dataset:
        key = keys.get(d.name)
        if key and key not in out:
            out[key] = {"csv": d.uri, "shuffle": d.shuffle, "image_normalization": not d.no_image_normalization}
    return out


def training_settings(proto, networks: List[str], batch_size: int) -> Dict:
    """`networks`: the file's networks the project holds (the first is its main one; a single one is the
    project's `network:`, called Main)."""
    settings = {}
    if proto.training_config.max_epoch:
        settings["max_epoch"] = int(proto.training_config.max_epoch)
    if batch_size:
        settings["batch_size"] = int(batch_size)
    per_epoch = proto.training_config.iter_per_epoch or 1
    optimizers = [o for o in proto.optimizer if o.network_name in networks]
    if len(optimizers) == 1:
        settings.update(_solver(optimizers[0], per_epoch))
    elif optimizers:
        keys = dataset_keys(proto)
        names = {net: net if len(networks) > 1 else "Main" for net in networks}
        settings["optimizers"] = [{"name": o.name, "network": names[o.network_name],
                                   "dataset": keys.get(o.dataset_name[0], "training") if o.dataset_name else
                                   "training", **_solver(o, per_epoch)} for o in optimizers]
    return settings


def evaluation_settings(source) -> Optional[Dict]:
    """The first executor's passes per batch (nnabla runs 0 or less once) and what they give."""
    from ..project.sections import MAX_EVALUATIONS, REPEATS

    if not source.proto.executor:
        return None
    e = source.proto.executor[0]
    passes = max(1, int(e.num_evaluations))
    if passes == 1:
        return None
    where = source._where(next((n for n, line in enumerate(source.text.splitlines(), 1)
                                if line.startswith("executor {")), None))
    if passes > MAX_EVALUATIONS:
        raise UserError(f"executor '{e.name}' runs its network {shown(f'{passes:,}', quote=False)} times per batch (num_evaluations), more "
                        f"than the {MAX_EVALUATIONS:,} nncgraph runs.", location=where,
                        fix=f"set num_evaluations to 1 to {MAX_EVALUATIONS:,} in the source.")
    # nnabla_cli forward: "last" keeps the last pass, "std" their standard deviation, anything else the mean
    repeat = e.repeat_evaluation_type if e.repeat_evaluation_type in REPEATS else "mean"
    if e.repeat_evaluation_type == "std":
        raise UserError(f"executor '{e.name}' gives the standard deviation of its {passes} passes "
                        "(repeat_evaluation_type \"std\"); nncgraph's evaluation gives their mean or the last.",
                        location=where, fix="set repeat_evaluation_type to \"mean\" or \"last\" in the source.")
    return {"num_evaluations": passes, "repeat": repeat}


def _solver(o, per_epoch: int) -> Dict:
    """{optimizer, lr_scheduler, update_interval} of one optimizer (the last two when set)."""
    out = _optimizer(o, per_epoch)
    if o.update_interval > 1:
        out["update_interval"] = int(o.update_interval)
    return out


def _optimizer(o, per_epoch: int) -> Dict:
    solver = o.solver
    if solver.type not in OPTIMIZERS:
        raise UserError(f"optimizer '{o.name}' uses solver {solver.type}, which nncgraph does not support.",
                        fix=f"use one of {', '.join(OPTIMIZERS)} in the source, or edit the imported project.")
    table = OPTIMIZERS[solver.type]
    params = getattr(solver, table.message)
    optimizer = tidy({"type": table.type, **{h.name: getattr(params, h.nnabla) for h in table.params}})
    decay = solver.weight_decay
    if table.decay_kind != L2:
        own = getattr(params, table.decay.nnabla)
        if decay and own and tidy(decay) != tidy(own):
            raise UserError(f"optimizer '{o.name}': {table.type} has both its own weight decay ({own:g}) and the "
                            f"solver's weight_decay ({decay:g}); nncgraph's {table.type} has one.",
                            fix=f"set the solver's weight_decay to 0 (keep {table.type}'s) in the source.")
        decay = own or decay
    if tidy(decay) != table.decay.default:
        optimizer["weight_decay"] = tidy(decay)
    out = {"optimizer": optimizer}
    schedule = _schedule(solver, per_epoch)
    if schedule:
        out["lr_scheduler"] = schedule
    return out


def _schedule(solver, per_epoch: int) -> Optional[Dict]:
    """nnabla counts iterations; our schedules count epochs."""
    kind = solver.lr_scheduler_type
    out = None
    if kind in SCHEDULERS:
        table = SCHEDULERS[kind]
        message = getattr(solver, table.message)
        out = {"type": kind}
        for p in table.params:
            if p.nnabla:
                value = getattr(message, p.nnabla)
                out[p.name] = [max(1, round(s / per_epoch)) for s in value] if p.epochs else value
    elif kind:
        raise UserError(f"learning-rate scheduler {kind} cannot be imported.",
                        fix=f"use {', '.join(list(SCHEDULERS)[:-1])} or {list(SCHEDULERS)[-1]} in the source.")
    if solver.lr_warmup_scheduler_type == WARMUP_TYPE:
        out = out or {}
        out[WARMUP.name] = getattr(getattr(solver, WARMUP_MESSAGE), WARMUP.nnabla) / per_epoch
    return out
