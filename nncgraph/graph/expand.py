"""Expand units and repeats into one flat list of layers with explicit inputs.

The pipeline stage between loading and the graph IR:
- a `Unit` layer becomes a copy of the unit's body (typed by the loader), its
  `$arg` values substituted and checked, its layers named `<instance>/<layer>` and its parameters scoped
  under the instance's `parameter_scope` (default: the instance name), so two
  instances with the same scope share parameters, as NNC's ParameterScope does;
- `repeat: N` on a unit chains N instances (`<name>_1` ... `<name>_N`);
- a unit call's `<layer>.<setting>` keys set parameter settings of the unit's layers (unit_settings.py);
- layers between `RepeatStart` (`times`) and `RepeatEnd` are chained that many
  times (`<RepeatStart>_i/<layer>`); `input: <RepeatStart>` inside the block is
  the current repetition's input, as NNC links from RepeatStart;
- `$input_shape[i]` in a layer's value (of a unit or of the network itself) is
  axis i of that layer's (first) input shape, NNC's `Input[i]`: it is evaluated
  when the layer is expanded, from the shapes of the layers expanded before it.
After expansion every layer names its inputs, so the IR needs no defaults.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Tuple

from ..errors import UserError, did_you_mean, shown
from ..layers import get_layer
from ..layers.pins import pin_keys
from ..layers.structure import CLOSERS, OPENERS, REPEAT_PROPS, UNIT_PROPS, is_structural, takes_no_input
from ..project.fields import coerce_prop
from ..project.model import LayerSpec, UnitSpec, holds_argument
from .expressions import (evaluate_shapes, has_shape_expression, no_shape_expressions,
                          shape_expressions, substitute)
from .limits import LayerCounter, check_layer_count
from .node import infer_node_shape, make_node
from .recurrent import recurrent_block
from .unit_settings import apply_settings, is_setting

MAX_DEPTH = 16


def expand_network(specs: List[LayerSpec], units: Dict[str, UnitSpec]) -> List[LayerSpec]:
    out: List[LayerSpec] = []
    _Expander(units, out).block(_substituted(specs, {}, None), prefix="", scope=None, aliases={}, previous=None,
                                stack=())
    return out


class _Expander:
    def __init__(self, units: Dict[str, UnitSpec], out: List[LayerSpec]):
        self.units, self.out = units, out
        self.shapes: Dict[str, Tuple[int, ...]] = {}     # output shapes of `out`, inferred as `$input_shape` needs
        self.unshaped: List[LayerSpec] = []
        self.seen = 0                                     # how much of `out` went into the two above
        self.counter = LayerCounter(units, MAX_DEPTH)

    def add(self, spec: LayerSpec) -> None:
        """Every expanded layer comes here: the counts checked before each repeat are estimates (an
        argument's repeat count, recurrent steps), so the total is held to the limit as it grows."""
        check_layer_count(len(self.out), 1, "counting as they are expanded", location=spec.location,
                          layer=spec.name, layer_type=spec.type)
        self.out.append(spec)

    def block(self, specs, *, prefix, scope, aliases, previous, stack) -> Optional[str]:
        """Expand one layer list; returns the global name of its last output.

        `scope` None: layers keep their default parameter scope (their expanded name); a string: it
        prefixes their scope (units), or is forced as is (recurrent steps share parameters).
        """
        return self.block_with_aliases(specs, prefix=prefix, scope=scope, aliases=aliases, previous=previous,
                                       stack=stack)[0]

    def block_with_aliases(self, specs, *, prefix, scope, aliases, previous, stack):
        aliases = dict(aliases)
        depth = 0
        for spec in specs:      # this list's plain layers may be named before they appear; they shadow outer names
            depth += (spec.type in OPENERS) - (spec.type in CLOSERS)
            if is_structural(spec.type) and spec.type != "Unit":     # their values are checked before any input
                no_shape_expressions(spec)
            if depth == 0 and not is_structural(spec.type):
                aliases[spec.name] = prefix + spec.name
        i = 0
        while i < len(specs):
            spec = specs[i]
            if spec.type == "Delay":            # resolved by the enclosing recurrent block
                i += 1
                continue
            if spec.type == "RecurrentInput":
                end = _matching_end(specs, i, "RecurrentInput", "RecurrentOutput")
                previous = recurrent_block(self, spec, specs[i + 1:end], specs[end], prefix=prefix, scope=scope,
                                           aliases=aliases, previous=previous, stack=stack)
                aliases[spec.name] = aliases[specs[end].name] = previous
                i = end + 1
                continue
            if spec.type in ("RecurrentOutput", "Delay"):
                raise UserError(f"{spec.type} outside a RecurrentInput ... RecurrentOutput block.",
                                location=spec.location, layer=spec.name, layer_type=spec.type,
                                fix="put the recurrent layers between a RecurrentInput and a RecurrentOutput.")
            if spec.type == "RepeatStart":
                end = _matching_end(specs, i)
                previous = self.repeat(spec, specs[i + 1:end], specs[end], prefix=prefix, scope=scope,
                                       aliases=aliases, previous=previous, stack=stack)
                aliases[spec.name] = aliases[specs[end].name] = previous
                i = end + 1
                continue
            if spec.type in CLOSERS:
                raise UserError(f"{spec.type} without a matching start before it.", location=spec.location,
                                layer=spec.name, layer_type=spec.type, fix="add the start of the block, or remove this.")
            inputs = self.inputs(spec, aliases, previous)
            if any(has_shape_expression(v) for v in spec.props.values()):
                spec = self.with_input_shape(spec, inputs, prefix)
            if spec.type == "Unit":
                previous = self.unit(spec, inputs, prefix=prefix, scope=scope, stack=stack)
                aliases[spec.name] = previous
            else:
                props = {**spec.props, **_pin_sources(spec, aliases)}
                if scope is not None and "parameter_scope" in _layer_props(spec):
                    props["parameter_scope"] = scope + props.get("parameter_scope", spec.name)
                previous = prefix + spec.name
                self.add(replace(spec, name=previous, props=props, inputs=inputs))
            i += 1
        return previous, aliases

    def inputs(self, spec, aliases, previous) -> List[str]:
        if spec.inputs is None:
            if takes_no_input(spec.type):
                return []
            if previous is None:
                raise UserError("has no input: it is the first layer.", location=spec.location,
                                layer=spec.name, layer_type=spec.type,
                                fix="start with an Input layer, or set `input:`.")
            return [previous]
        if not spec.inputs and is_structural(spec.type) and spec.type != "Unit":     # a Unit counts its inputs
            raise UserError("has `input: []`, which names no layer.", location=spec.location, layer=spec.name,
                            layer_type=spec.type, fix="leave `input` out (the previous layer), or name a layer.")
        resolved = []
        for ref in spec.inputs:
            if ref not in aliases:
                hint = did_you_mean(ref, aliases)
                raise UserError(f"input {shown(ref)} names no layer here.", location=spec.location, layer=spec.name,
                                layer_type=spec.type,
                                fix=(hint + " " if hint else "") + "use the `name` of an earlier layer (inside a "
                                "unit: of the unit, or one of its `inputs`).")
            resolved.append(aliases[ref])
        return resolved

    # -- $input_shape ----------------------------------------------------------
    def with_input_shape(self, spec: LayerSpec, inputs: List[str], prefix: str) -> LayerSpec:
        """The spec with its `$input_shape` expressions evaluated (and, for a layer, its values checked)."""
        where = dict(layer=prefix + spec.name, layer_type=spec.type)     # which instance's input it was
        first = next(v for v in shape_expressions(spec.props))
        if not inputs:
            raise UserError(f"'{first.written}' reads the shape of the layer's input, but a {spec.type} takes no "
                            "input.", location=first.where, **where,
                            fix="use $input_shape only in layers that have an input, or write the number.")
        shape = self.output_shape(inputs[0], where, f"'{first.written}'", first.where)
        props = {}
        for key, value in spec.props.items():
            props[key] = evaluate_shapes(value, shape, where)
            if spec.type != "Unit" and has_shape_expression(value):
                try:        # the instance left these unchecked (`_instance`)
                    props[key] = get_layer(spec.type).props[key].coerce(props[key])
                except ValueError as exc:
                    written = next(shape_expressions({key: value})).written
                    raise UserError(f"property '{key}' is {props[key]!r} ('{written}' for the input shape "
                                    f"{list(shape)}), but it {exc}.", location=spec.prop_locations[key], **where,
                                    fix=get_layer(spec.type).props[key].doc) from None
        return replace(spec, props=props)

    def output_shape(self, name: str, where: Dict[str, str], reader: str, location) -> Tuple[int, ...]:
        """The output shape of the already expanded layer `name`.

        Units are expanded before the shape pass, so this runs the pass's per-layer rules over the
        layers expanded so far, each once however many expressions ask. A layer may name a later
        one as input (the IR orders them), so one whose inputs are not shaped yet waits.
        """
        self.unshaped += self.out[self.seen:]
        self.seen = len(self.out)
        progress = True
        while name not in self.shapes and progress:
            progress = False
            waiting = []
            for spec in self.unshaped:
                if all(i in self.shapes for i in spec.inputs):
                    self.shapes[spec.name] = infer_node_shape(make_node(spec, spec.inputs),
                                                              tuple(self.shapes[i] for i in spec.inputs))
                    progress = True
                else:
                    waiting.append(spec)
            self.unshaped = waiting
        if name not in self.shapes:
            raise UserError(f"{reader} needs the shape of its input {shown(name)}, which is not known yet: "
                            "that layer, or one it reads, comes after this one.", location=location, **where,
                            fix="move the input's layers before this layer, or write the number.")
        return self.shapes[name]

    # -- units ----------------------------------------------------------------
    def unit(self, spec: LayerSpec, inputs, *, prefix, scope, stack) -> str:
        where = dict(location=spec.location, layer=spec.name, layer_type="Unit")
        located = spec.prop_locations
        unit_name = spec.props.get("unit")
        if unit_name is not None and not isinstance(unit_name, str):
            raise UserError(f"`unit:` must name a unit, got {shown(unit_name)}.", **where,
                            fix=f"write the unit's name as text, e.g. unit: '{unit_name}'" if isinstance(
                                unit_name, (int, float)) else "e.g. unit: Block")
        if unit_name not in self.units:
            hint = did_you_mean(str(unit_name), self.units)
            raise UserError(f"unit {shown(unit_name)} is not defined." if unit_name else "has no `unit:`.", **where,
                            fix=(hint + " " if hint else "") + "define it under `units:` and name it with "
                            "`unit: <name>`.")
        unit = self.units[unit_name]
        if unit_name in stack or len(stack) >= MAX_DEPTH:
            raise UserError(f"unit {shown(unit_name)} contains itself ({' -> '.join(stack + (unit_name,))}).", **where,
                            fix="a unit cannot use itself, directly or through other units.")
        args, settings = dict(unit.args), {}
        for key, value in spec.props.items():
            if key in UNIT_PROPS:
                continue
            if is_setting(key):
                settings[key] = value
                continue
            if key not in unit.args:
                hint = did_you_mean(key, list(unit.args) + list(UNIT_PROPS))
                raise UserError(f"unit {shown(unit_name)} has no argument {shown(key)}.", location=located[key],
                                layer=spec.name, layer_type="Unit",
                                fix=(hint + " " if hint else "") + f"Its arguments: {', '.join(unit.args) or 'none'}.")
            args[key] = value
        missing = [k for k, v in args.items() if v is None]
        if missing:
            raise UserError(f"unit {shown(unit_name)} needs argument(s) {', '.join(missing)}.", **where,
                            fix=f"add {missing[0]}: <value> to this layer.")
        for key in ("repeat", "parameter_scope"):
            if key in spec.props:
                try:
                    UNIT_PROPS[key].coerce(spec.props[key])
                except ValueError as exc:
                    raise UserError(f"property '{key}' {exc}.", location=located[key], layer=spec.name,
                                    layer_type="Unit", fix=UNIT_PROPS[key].doc) from None
        if len(inputs) != len(unit.inputs):
            raise UserError(f"unit {shown(unit_name)} takes {len(unit.inputs)} input(s) ({', '.join(unit.inputs)}), "
                            f"got {len(inputs)}.", **where, fix="set `input:` to that many layer names.")
        repeat = spec.props.get("repeat", 1)
        body_layers = self.counter.of_unit(unit_name, stack)
        check_layer_count(len(self.out), repeat * body_layers, f"repeat: {repeat:,} of unit {shown(unit_name)}, which "
                          f"has {body_layers:,} layers", location=located.get("repeat", spec.location), layer=spec.name,
                          layer_type="Unit")
        body = apply_settings(_instance(unit, args), settings, unit, spec, self.units)    # same for every repetition
        current = inputs
        for i in range(1, repeat + 1):
            name = spec.name if repeat == 1 else f"{spec.name}_{i}"
            own_scope = spec.props.get("parameter_scope", spec.name)
            if repeat > 1:          # repetitions never share parameters
                own_scope = f"{own_scope}_{i}"
            aliases = {local: ref for local, ref in zip(unit.inputs, current)}
            out = self.block(body, prefix=f"{prefix}{name}/", scope=f"{scope or ''}{own_scope}/", aliases=aliases,
                             previous=current[0], stack=stack + (unit_name,))
            if unit.output is not None:
                if unit.output not in {s.name for s in body}:
                    raise UserError(f"unit {shown(unit_name)} names output '{unit.output}', which is not one of its "
                                    "layers.", location=unit.location, fix="set `output:` to a layer of the unit.")
                out = f"{prefix}{name}/{unit.output}"
            current = [out] + list(current[1:])
        return current[0]

    # -- repeats --------------------------------------------------------------
    def repeat(self, start: LayerSpec, body, end: LayerSpec, *, prefix, scope, aliases, previous, stack) -> str:
        try:
            times = REPEAT_PROPS["times"].coerce(start.props.get("times", REPEAT_PROPS["times"].default))
        except ValueError as exc:
            raise UserError(f"property 'times' {exc}.", location=start.location, layer=start.name,
                            layer_type="RepeatStart", fix="e.g. times: 3") from None
        unknown = [k for k in start.props if k != "times"] + list(end.props)
        if unknown:
            raise UserError(f"unknown property '{unknown[0]}'.", location=start.location, layer=start.name,
                            layer_type="RepeatStart", fix="RepeatStart takes `times`; RepeatEnd takes nothing.")
        body_layers = self.counter.of_layers(body, stack)
        check_layer_count(len(self.out), times * body_layers, f"times: {times:,} of {body_layers:,} layers",
                          location=start.location, layer=start.name, layer_type="RepeatStart")
        current = self.inputs(start, aliases, previous)[0]
        for i in range(1, times + 1):
            inner = dict(aliases)
            inner[start.name] = current
            current = self.block(body, prefix=f"{prefix}{start.name}_{i}/", scope=f"{scope or ''}{start.name}_{i}/",
                                 aliases=inner, previous=current, stack=stack)
        return current


def _matching_end(specs, start: int, opener: str = "RepeatStart", closer: str = "RepeatEnd") -> int:
    depth = 0
    for j in range(start, len(specs)):
        if specs[j].type == opener:
            depth += 1
        elif specs[j].type == closer:
            depth -= 1
            if depth == 0:
                return j
    spec = specs[start]
    raise UserError(f"{opener} has no {closer} after it.", location=spec.location, layer=spec.name,
                    layer_type=spec.type, fix=f"add {{type: {closer}}} after the layers of the block.")


def _layer_props(spec):
    return get_layer(spec.type).props


def _pin_sources(spec, aliases) -> Dict[str, str]:
    """A parameter pin names its layer as `input:` does (inside a unit: a layer of the unit; layers/pins.py)."""
    out = {}
    for key in pin_keys(get_layer(spec.type)).values():
        ref = spec.props.get(key)
        if ref and ref not in aliases:
            hint = did_you_mean(ref, aliases)
            raise UserError(f"`{key}` {shown(ref)} names no layer here.",
                            location=spec.prop_locations.get(key, spec.location), layer=spec.name,
                            layer_type=spec.type, fix=(hint + " " if hint else "")
                            + "name a Parameter layer of this network (inside a unit: of the unit).")
        if ref:
            out[key] = aliases[ref]
    return out


def _instance(unit: UnitSpec, args) -> List[LayerSpec]:
    """The unit's body for one instance."""
    return _substituted(unit.layers, args, unit.name)


def _substituted(layers: List[LayerSpec], args, unit: Optional[str]) -> List[LayerSpec]:
    """A layer list (a unit's body, or a network: `unit` None, no arguments) with its arguments
    substituted, then the values that held them checked as the loader checks a layer's (a
    `$input_shape` value waits for the layer's input)."""
    if not any(holds_argument(v) for spec in layers for v in spec.props.values()):
        return layers
    body = []
    for spec in layers:
        try:
            body.append(replace(spec, props={k: substitute(v, args, unit) for k, v in spec.props.items()}))
        except UserError as exc:
            raise exc.with_context(layer=spec.name, layer_type=spec.type) from None
    for written, spec in zip(layers, body):
        if is_structural(spec.type):
            continue
        props = get_layer(spec.type).props
        for key, value in spec.props.items():
            if holds_argument(written.props[key]) and not has_shape_expression(value):
                spec.props[key] = coerce_prop(props[key], value, spec.prop_locations[key], key, layer=spec.name,
                                              layer_type=spec.type)
    return body
