"""A declared search space, sampled by an Optuna trial into one plain project document.

Every declaration becomes one Optuna parameter named after where it sits
(`network/3/out_maps`); choices that are lists (a kernel shape) are sampled
by index, so every sampler can handle them. An optional layer that is left
out is removed with its consumers rewired to its input.
"""
from __future__ import annotations

import copy
import math
from typing import List

from ..errors import UserError, shown
from ..project.search_declarations import Declaration, declarations, layer_lists, located
from .mutation_graph import Net, name_all

MAX_BOUND = 1e12     # no layer value or training setting is larger; 1e300 is a typo or a sampler's overflow


def sample_candidate(doc: dict, trial, found: List[Declaration] = None):
    """(a copy of `doc` with every declaration replaced by the trial's choice, {declaration: value})."""
    found = declarations(doc) if found is None else found
    out = copy.deepcopy(doc)
    out.pop("search", None)
    dropped, chosen = [], {}
    for decl in found:
        if decl.kind == "optional":
            if decl.spec is True:
                chosen[decl.name] = trial.suggest_categorical(decl.name, [True, False])
                if not chosen[decl.name]:
                    dropped.append(decl.path)
            continue
        value = chosen[decl.name] = _suggest(trial, decl)
        holder = out
        for step in decl.path[:-1]:
            holder = holder[step]
        holder[decl.path[-1]] = value
    for path, layers in layer_lists(out):
        for layer in layers:
            layer.pop("optional", None)
        name_all(layers)          # explicit names: removing a layer must not rename the ones after it
        gone = [layers[p[-1]]["name"] for p in dropped if p[:-1] == path]
        if gone:
            layers[:] = _without(layers, gone)
    return out, chosen


def _without(layers: List[dict], names: List[str]) -> List[dict]:
    """The layer list with `names` left out, their readers reading their input instead."""
    net = Net.from_layers(layers)
    for name in names:
        entry = net.find(name)
        if entry is None or entry.role != "layer" or entry.kind != "layer" or len(entry.inputs or []) != 1:
            raise UserError(f"layer '{name}' is optional but cannot be left out (only a single-input computing "
                            "layer outside repeat and recurrent blocks can).", fix="remove `optional: true` from it.")
        net.remove(entry)
    return net.to_layers()


def _suggest(trial, decl: Declaration):
    spec = decl.spec
    if decl.kind == "choice":
        if not isinstance(spec, list) or not spec:
            raise UserError(f"search choice at {decl.name} must be a non-empty list.",
                            fix="e.g. out_maps: {search: [16, 32, 64]}")
        if all(v is None or isinstance(v, (bool, int, float, str)) for v in spec):
            return trial.suggest_categorical(decl.name, spec)
        index = trial.suggest_categorical(decl.name + "#", list(range(len(spec))))
        return copy.deepcopy(spec[index])
    low, high = spec.get("low"), spec.get("high")
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)) or low > high:
        raise UserError(f"search range at {decl.name} needs numbers low <= high, got {spec}.",
                        fix="e.g. p: {search: {low: 0.1, high: 0.5}} or out_maps: {search: {low: 8, high: 64, "
                            "log: true}}")
    log = bool(spec.get("log", False))
    step = spec.get("step")
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
        return trial.suggest_int(decl.name, low, high, step=step or 1, log=log)
    # 4 significant decimals are plenty for a dropout rate or a learning rate, and read well in the YAML
    return float(f"{trial.suggest_float(decl.name, float(low), float(high), step=step, log=log):.4g}")


def validate_declarations(found: List[Declaration], doc=None) -> None:
    """Malformed declarations fail before any trial is asked, at their line when `doc` has positions."""
    for decl in found:
        try:
            _validate(decl)
        except UserError as exc:
            holder, step = located(doc, decl.path) if doc is not None else (None, None)
            raise exc.with_context(location=holder.where(step) if hasattr(holder, "where") else None) from None


def _validate(decl: Declaration) -> None:
    if decl.kind == "optional" and not isinstance(decl.spec, bool):
        raise UserError(f"`optional:` at {decl.name} must be true or false.", fix="optional: true")
    if decl.kind == "choice" and (not isinstance(decl.spec, list) or not decl.spec):
        raise UserError(f"search choice at {decl.name} must be a non-empty list.",
                        fix="e.g. out_maps: {search: [16, 32, 64]}")
    if decl.kind == "range":
        _validate_range(decl)


def _validate_range(decl: Declaration) -> None:
    """A range every sampler can draw from: numbers, low <= high, a positive step that fits, log only
    above 0 (and not with a step: Optuna allows one or the other), bounds below MAX_BOUND."""
    spec = decl.spec
    example = "e.g. p: {search: {low: 0.1, high: 0.5}} or out_maps: {search: {low: 8, high: 64, log: true}}"
    unknown = set(spec) - {"low", "high", "step", "log"}
    if unknown or not all(_number(spec.get(k)) for k in ("low", "high")):
        raise UserError(f"search range at {decl.name} must be {{low: L, high: H}} with optional step and log, "
                        f"got {shown(spec)}.", fix=example)
    low, high, step, log = spec["low"], spec["high"], spec.get("step"), spec.get("log", False)
    if low > high:
        raise UserError(f"search range at {decl.name} needs low <= high, got low {low} and high {high}.",
                        fix="swap them.")
    if max(abs(low), abs(high)) > MAX_BOUND:
        raise UserError(f"search range at {decl.name} reaches {max(abs(low), abs(high)):.3g}, beyond any layer "
                        f"value or setting (the limit is {MAX_BOUND:.0e}).", fix="give a range a network can use.")
    if not isinstance(log, bool):
        raise UserError(f"`log` of the search range at {decl.name} must be true or false, got {shown(log)}.",
                        fix="log: true")
    if log and low <= 0:
        raise UserError(f"search range at {decl.name} is logarithmic (log: true), so low must be above 0, got {low}.",
                        fix="set low to a positive value such as 1e-5, or drop `log: true`.")
    if step is not None:
        if not _number(step) or step <= 0:
            raise UserError(f"`step` of the search range at {decl.name} must be a number above 0, got {shown(step)}.",
                            fix="e.g. step: 8, or leave it out.")
        if log:
            raise UserError(f"search range at {decl.name} has both `step` and `log: true`; samplers take one.",
                            fix="keep one of them.")
        if isinstance(low, int) and isinstance(high, int) and not isinstance(step, int):
            raise UserError(f"search range at {decl.name} is of integers, so `step` must be one, got {step}.",
                            fix="e.g. step: 8")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
