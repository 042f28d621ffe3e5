"""NNC's recurrent blocks, unrolled: RecurrentInput ... RecurrentOutput with Delay.

As in NNC, RecurrentInput (`axis`) cuts its input into time steps along
`axis`; the layers up to RecurrentOutput run once per step with shared
parameters; a Delay layer gives the value its input had one step earlier
(at the first step: `initial_generator_multiplier` as a constant, or the
dataset variable `initial_dataset` when the generator is None); RecurrentOutput
(`axis`) stacks the steps back along `axis`. The unrolled steps are ordinary
layers (Slice, Reshape, Stack, Constant), named `<RecurrentInput>_<t>/<layer>`.
"""
from __future__ import annotations

from typing import Dict, List

from ..errors import UserError
from ..layers.structure import RECURRENT_PROPS
from ..project.model import LayerSpec
from .limits import check_layer_count

def _props(spec: LayerSpec) -> Dict:
    table = RECURRENT_PROPS[spec.type]
    out = {}
    for key, value in spec.props.items():
        if key not in table:
            raise UserError(f"unknown property '{key}'.", location=spec.location, layer=spec.name,
                            layer_type=spec.type, fix=f"{spec.type} takes {', '.join(table)}.")
        try:
            out[key] = table[key].coerce(value)
        except ValueError as exc:
            raise UserError(f"property '{key}' {exc}.", location=spec.location, layer=spec.name,
                            layer_type=spec.type, fix=table[key].doc) from None
    for key, prop in table.items():
        out.setdefault(key, prop.default)
    return out


def recurrent_block(expander, start: LayerSpec, body: List[LayerSpec], end: LayerSpec, *, prefix, scope, aliases,
                    previous, stack) -> str:
    source = expander.inputs(start, aliases, previous)[0]
    shape = expander.output_shape(source, dict(layer=start.name, layer_type=start.type), "the recurrent block",
                                  start.location)
    axis = _props(start)["axis"]
    if axis >= len(shape):
        raise UserError(f"axis {axis} is out of range for the input shape {list(shape)}.", location=start.location,
                        layer=start.name, layer_type=start.type, fix=f"use an axis below {len(shape)}.")
    steps = shape[axis]
    step_shape = [d for i, d in enumerate(shape) if i != axis]
    delays = [spec for spec in body if spec.type == "Delay"]
    delay_props = {d.name: _props(d) for d in delays}
    for d in delays:
        if delay_props[d.name]["size"] is None:
            raise UserError("needs `size`, the shape of the value it delays.", location=d.location, layer=d.name,
                            layer_type="Delay", fix=f"e.g. size: {step_shape}")
        if not d.inputs or len(d.inputs) != 1:
            raise UserError("needs `input:` naming the layer whose previous-step value it gives.",
                            location=d.location, layer=d.name, layer_type="Delay",
                            fix="e.g. input: Tanh (a layer later in the recurrent block)")
    initial = {d.name: _initial(expander, d, delay_props[d.name], prefix) for d in delays}
    out_name = end.inputs[0] if end.inputs else None
    step_outputs, last_step = [], None
    body_layers = expander.counter.of_layers(body, stack) + 2       # each step adds a Slice and a Reshape
    check_layer_count(len(expander.out), steps * body_layers, f"{steps:,} time steps of {body_layers:,} layers",
                      location=start.location, layer=start.name, layer_type=start.type)
    for t in range(steps):
        step = f"{prefix}{start.name}_{t}"
        _emit(expander, LayerSpec("Slice", f"{step}/slice", {
            "start": [t if i == axis else 0 for i in range(len(shape))],
            "stop": [t + 1 if i == axis else d for i, d in enumerate(shape)],
            "step": [1] * len(shape)}, [source], start.location))
        _emit(expander, LayerSpec("Reshape", step, {"out_shape": step_shape}, [f"{step}/slice"], start.location))
        inner = dict(aliases)
        inner[start.name] = step
        for d in delays:
            inner[d.name] = initial[d.name] if last_step is None else _resolve(last_step, d)
        # shared parameters: every step's layers use the block's scope, not the step's name
        last, step_aliases = expander.block_with_aliases(
            body, prefix=f"{step}/", scope=scope or "", aliases=inner, previous=step, stack=stack)
        step_outputs.append(step_aliases[out_name] if out_name else last)
        last_step = step_aliases
    name = f"{prefix}{end.name}"
    _emit(expander, LayerSpec("Stack", name, {"axis": _props(end)["axis"]}, step_outputs, end.location))
    return name


def _resolve(step_aliases, delay: LayerSpec) -> str:
    ref = delay.inputs[0]
    if ref not in step_aliases:
        raise UserError(f"input '{ref}' names no layer of the recurrent block.", location=delay.location,
                        layer=delay.name, layer_type="Delay", fix="name a layer between RecurrentInput and "
                        "RecurrentOutput.")
    return step_aliases[ref]


def _initial(expander, delay: LayerSpec, p, prefix) -> str:
    name = f"{prefix}{delay.name}_initial"
    if p["initial_generator"] == "Constant":
        _emit(expander, LayerSpec("Constant", name, {"value": [p["initial_generator_multiplier"]],
                                                     "size": list(p["size"])}, [], delay.location))
    else:
        _emit(expander, LayerSpec("Input", name, {"size": list(p["size"]), "dataset": p["initial_dataset"]}, [],
                                  delay.location))
    return name


def _emit(expander, spec: LayerSpec) -> None:
    expander.add(spec)
