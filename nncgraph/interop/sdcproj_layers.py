"""NNC layers as nncgraph layer mappings: properties, arguments, inputs and names.

NNC writes every property as text ("1,28,28", "True", "1/255", "*Name"); each
becomes the typed value of the nncgraph property whose `nnc` name it is, and
is checked by that property's own `coerce`, so an imported project never
holds a value the loader would refuse. Inside a unit's network, argument names
in a value ("Maps*2") become nncgraph's `$Maps*2`, NNC's `Input[i]` (axis i
of the layer's own input shape, in any network) becomes `$input_shape[i]`,
`*Name` naming one of the unit's Argument layers (in a value of any type:
`BatchStat=*NetworkBS`, also a Unit layer's argument passed on to a unit it
calls) becomes `$Name`, and `*UnitProperty(Size)` (in the network behind a
built-in NNC layer such as LSTM) becomes the argument `$Size`. A Unit layer's
`<LayerName>.<parameter>.<Setting>` (`Convolution.W.File`) becomes the unit
call's `<layer>.<setting>` key (graph/unit_settings.py); an empty value keeps
the unit's own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

from ..errors import UserError, shown
from ..graph.unit_settings import parameter_settings
from ..layers import get_layer
from ..layers.base import FloatsProp, Layer, Prop
from ..layers.structure import STRUCTURAL as STRUCTURE_PROPS, UNIT_PROPS, default_name
from .sdcproj_arithmetic import number
from .sdcproj_ini import IniFile
from .sdcproj_network import NncLayer

# NNC properties without an nncgraph counterpart that change nothing nncgraph computes: the GUI's
# inspection switch, and the IDs/length NNC pairs and sizes blocks with (nncgraph pairs them by nesting
# and takes the length from the input).
IGNORED = {"SkipAtInspection", "RecurrentGroupID", "ID", "Length"}
# Data-pin generators whose NNC default is the one nncgraph implements (others default to "None": no generator).
GENERATOR_DEFAULTS = {"H.Initial.Generator": "Constant", "C.Initial.Generator": "Constant"}
# Written even when they equal the default: the CSV columns a dataset must provide, and what a reader
# looks for first in a layer (its size).
ALWAYS_WRITTEN = ("dataset", "target", "size", "out_maps", "out_shape", "kernel_shape", "times")
ARRAY_KINDS = ("ints", "uints", "pints")
BOOLS = {"true": True, "false": False, "1": True, "0": False}
ARGUMENT_KINDS = {"Int": "int", "UInt": "uint", "PInt": "pint", "Float": "float", "Boolean": "bool",
                  "BooleanOrMacro": "bool", "IntArray": "ints", "UIntArray": "uints", "PIntArray": "pints",
                  "FloatArray": "floats", "Text": "str", "File": "str"}
UNIT_PROPERTY = re.compile(r"\*UnitProperty\((\w+)\)")
DERIVED = object()     # an NNC macro standing for nncgraph's own derived default


@dataclass
class Scope:
    """What a layer's values may refer to."""

    ini: IniFile
    args: Optional[Dict[str, Any]] = None                          # a unit's argument defaults, inside its network
    units: Dict[str, Dict[str, Prop]] = field(default_factory=dict)   # unit -> its arguments' typed props
    unit_inputs: Dict[str, List[str]] = field(default_factory=dict)
    unit_layers: Dict[str, Dict[str, NncLayer]] = field(default_factory=dict)     # unit -> its layers by name
    implements: Dict[str, str] = field(default_factory=dict)   # unit -> the built-in layer its *UnitProperty reads
    entry_lines: Dict[int, int] = field(default_factory=dict)  # id(layer mapping) -> its layer's line


def layer_list(scope: Scope, ordered: List[NncLayer], names: Dict[str, str], previous: Optional[str]) -> List[dict]:
    """The nncgraph layer mappings of `ordered`; `input:` only where the previous layer is not the input."""
    entries = []
    for layer in ordered:
        entry = convert_layer(scope, layer)
        inputs = [names[i] for i in layer.inputs]
        _check_input_count(scope, layer, len(inputs))
        if layer.type != "RepeatEnd" and inputs and (layer.type in ("Delay", "RecurrentOutput")
                                                     or inputs != [previous]):
            entry = {"type": entry.pop("type"), "name": entry.pop("name"),
                     "input": inputs[0] if len(inputs) == 1 else inputs, **entry}
        if layer.type != "Delay":       # a Delay is read by name; the chain goes past it
            previous = layer.name
        entries.append(entry)
        scope.entry_lines[id(entry)] = layer.line
    _omit_default_names(entries)
    return entries


def _check_input_count(scope: Scope, layer: NncLayer, count: int) -> None:
    if layer.type == "RepeatEnd":        # its link was checked with its block
        return
    if layer.type == "Unit":
        lo = hi = len(scope.unit_inputs[layer.props["Network"][0]])     # convert_layer checked it exists
    elif layer.type in STRUCTURE_PROPS:
        lo = hi = 1
    else:
        lo, hi = get_layer(layer.type).input_range()
    if count < lo or (hi is not None and count > hi):
        raise scope.ini.error(f"is linked from {count} layer(s) but takes {Layer.wanted_inputs((lo, hi))}.", layer.line, layer=layer.name,
                              layer_type=layer.type, fix="correct the links into this layer.")


def convert_layer(scope: Scope, layer: NncLayer) -> dict:
    ctx = dict(layer=layer.name, layer_type=layer.type)
    if layer.type == "Unit":
        return _unit_instance(scope, layer, ctx)
    impl = None
    if layer.type in STRUCTURE_PROPS:
        table = STRUCTURE_PROPS[layer.type]
    else:
        try:
            impl = get_layer(layer.type)
        except UserError as exc:
            raise exc.with_context(location=scope.ini.where(layer.line), **ctx) from None
        table = impl.props
    by_nnc = {p.nnc: key for key, p in table.items() if p.nnc}
    written, concrete = {}, {}
    for nnc, (text, line) in layer.props.items():
        if _generated(nnc, layer):      # NNC reads a data pin's Dataset only when no generator fills the pin
            continue
        key = by_nnc.get(nnc)
        if key is None:
            # RepeatEnd's properties are NNC's computed copies of its RepeatStart's
            if layer.type == "RepeatEnd" or ignorable(nnc, text, layer):
                continue
            generator = _generator_of(nnc)
            if generator:
                value = layer.props.get(generator, (GENERATOR_DEFAULTS.get(generator, "None"), 0))[0]
                also = "" if generator == nnc else f" (with {shown(nnc, quote=False)}={shown(text)})"
                raise scope.ini.error(f"has {shown(generator, quote=False)}={shown(value)}{also}: NNC fills this data "
                                      f"from a generator or a dataset variable, which nncgraph's {layer.type} does "
                                      "not support.", line,
                                      fix=f"set {shown(generator, quote=False)}="
                                          f"{GENERATOR_DEFAULTS.get(generator, 'None')} in NNC.", **ctx)
            raise scope.ini.error(f"has property {shown(nnc, quote=False)}={shown(text)}, which nncgraph's "
                                  f"{layer.type} does not support.", line,
                                  fix=f"remove it in NNC, or use a layer that has it (`nncgraph layers {layer.type}` "
                                      f"lists {layer.type}'s properties).", **ctx)
        value = convert_value(scope, table[key], nnc, text, line, ctx, own=by_nnc)
        if value is not DERIVED:
            written[key] = value[0]
            if not _unknown(value[1]):
                concrete[key] = value[1]
    try:        # resolving checks what no one property can (a Normal generator's negative spread)
        kept = _without_defaults(impl, table, written, concrete, layer.name)
    except UserError as exc:
        raise exc.with_context(location=scope.ini.where(layer.line), **ctx) from None
    return {"type": layer.type, "name": layer.name, **kept}


def ignorable(nnc: str, text: str, layer: NncLayer) -> bool:
    if nnc in IGNORED or nnc == "InPlace":          # in-place is a memory saving only
        return True
    if nnc == "Order":
        return text == "-1"
    generator = _generator_of(nnc)
    if generator is None:
        return False
    value = text if generator == nnc else \
        layer.props.get(generator, (GENERATOR_DEFAULTS.get(generator, "None"), 0))[0]
    if nnc.endswith("GeneratorMultiplier"):         # scales a generator that is not used
        return value == "None"
    if nnc.endswith("Dataset"):                     # read only when there is no generator
        return _generated(nnc, layer)
    return value == GENERATOR_DEFAULTS.get(generator, "None")


def _generated(nnc: str, layer: NncLayer) -> bool:
    """Whether `nnc` is the Dataset of a data pin that a generator fills instead."""
    generator = _generator_of(nnc) if nnc.endswith("Dataset") else None
    return generator is not None and \
        layer.props.get(generator, (GENERATOR_DEFAULTS.get(generator, "None"), 0))[0] != "None"


def _generator_of(nnc: str) -> Optional[str]:
    """The generator property behind an NNC data-pin property (`T.GeneratorMultiplier` -> `T.Generator`)."""
    for suffix in ("GeneratorMultiplier", "Generator", "Dataset"):
        if nnc.endswith(suffix):
            return nnc[: -len(suffix)] + "Generator"
    return None


def _without_defaults(impl, table, written, concrete, name) -> dict:
    """Drop what nncgraph would fill in by itself, so the file reads like a hand-written one."""
    full = impl.resolve(concrete, name) if impl else None
    out = {}
    for key, value in written.items():
        if key not in ALWAYS_WRITTEN and not _symbolic(value):     # `$argument` values always stay
            rest = {k: v for k, v in concrete.items() if k != key}
            if (impl.resolve(rest, name) == full) if impl else concrete[key] == table[key].default:
                continue
        out[key] = value
    return out


def _unknown(concrete) -> bool:
    """A value that depends on the input's shape (`$input_shape`), known only when the unit is expanded."""
    return concrete is None or (isinstance(concrete, list) and None in concrete)


def _symbolic(value) -> bool:
    return any(isinstance(v, str) and "$" in v for v in (value if isinstance(value, list) else [value]))


def _unit_instance(scope: Scope, layer: NncLayer, ctx) -> dict:
    unit, line = layer.props.get("Network", ("", layer.line))
    if unit not in scope.units:
        raise scope.ini.error(f"uses network {shown(unit)}, which is not a network of this project." if unit else
                              "names no network (its Network property is empty).", line,
                              fix=f"set Network to one of: {', '.join(scope.units) or '(none)'}.", **ctx)
    args = scope.units[unit]
    entry: Dict[str, Any] = {"type": "Unit", "name": layer.name, "unit": unit}
    for nnc, (text, line) in layer.props.items():
        if nnc == "Network":
            continue
        if nnc == "ParameterScope":
            if text != "*Name":
                entry["parameter_scope"] = text
        elif nnc in args:
            value = convert_value(scope, args[nnc], nnc, text, line, ctx)
            if value is DERIVED:
                raise scope.ini.error(f"sets argument {shown(nnc, quote=False)} to the macro {shown(text)}.", line,
                                      fix="write a value.", **ctx)
            if value[0] != args[nnc].default:
                entry[nnc] = value[0]
        elif "." in nnc:            # <LayerName>.<parameter>.<Setting> of a layer of the unit
            entry.update(_unit_setting(scope, unit, nnc, text, line, ctx))
        elif not ignorable(nnc, text, layer):
            raise scope.ini.error(f"sets {shown(nnc, quote=False)}={shown(text)}, but unit {shown(unit)} has no "
                                  f"Argument layer named {shown(nnc, quote=False)}.", line,
                                  fix=f"its arguments are: {', '.join(args) or 'none'}.", **ctx)
    return entry


def _unit_setting(scope: Scope, unit: str, nnc: str, text: str, line: int, ctx) -> Dict[str, Any]:
    """{`<layer>.<setting>`: value} for a Unit layer's `<LayerName>.<parameter>.<Setting>` ({} for an empty
    value: NNC's "keep the unit's own"); the layer may be one of a unit the unit calls (`Inner.Conv.W.File`
    -> `Inner/Conv.w_file`)."""
    path, (layer, prop) = [], _setting_target(scope, unit, nnc, line, ctx)
    while isinstance(layer, tuple):         # (instance name, its unit's remaining key)
        path.append(layer[0])
        layer, prop = _setting_target(scope, layer[1], prop, line, ctx)
    value = "" if text.strip() in ("''", '""') else text
    if not value.strip():
        return {}
    table = {p.nnc: (k, p) for k, p in parameter_settings(get_layer(layer.type).props).items()}
    key, typed = table[prop]
    converted = convert_value(scope, typed, nnc, value, line, ctx)
    return {} if converted is DERIVED else {"/".join(path + [layer.name]) + "." + key: converted[0]}


def _setting_target(scope: Scope, unit: str, nnc: str, line: int, ctx):
    """(the layer of `unit` that `nnc` (`<LayerName>.<rest>`) names, or (a Unit layer's name, its unit), and
    `<rest>`), checked: a plain layer's `<rest>` is one of its parameter settings."""
    layers = scope.unit_layers.get(unit, {})
    parts = nnc.split(".")
    for cut in range(1, len(parts)):            # NNC layer names may hold dots: the longest name that fits
        name, rest = ".".join(parts[:-cut]), ".".join(parts[-cut:])
        if name in layers:
            break
    else:
        raise scope.ini.error(f"sets {shown(nnc, quote=False)}, but unit {shown(unit)} has no layer named "
                              f"{shown(parts[0], quote=False)}.", line, **ctx,
                              fix=f"write <LayerName>.<parameter>.<Setting> with one of its layers: "
                                  f"{', '.join(layers) or 'none'}.")
    layer = layers[name]
    if layer.type == "Unit" and "Network" in layer.props:
        return (name, layer.props["Network"][0]), rest
    table = {} if layer.type in STRUCTURE_PROPS else \
        {p.nnc: p for p in parameter_settings(get_layer(layer.type).props).values()}
    if rest not in table:
        raise scope.ini.error(f"sets {shown(nnc, quote=False)}, but {rest} is not a parameter setting of layer "
                              f"{shown(name)} ({layer.type}) of unit {shown(unit)}.", line, **ctx,
                              fix="a Unit layer sets its unit's layers' parameter settings only ("
                                  + (", ".join(table) or f"{layer.type} has none") + "); make other values "
                                  "Argument layers of the unit.")
    return layer, rest


def argument(scope: Scope, layer: NncLayer) -> Tuple[Prop, Any]:
    """An Argument layer: the typed prop of its value, and its default as written."""
    ctx = dict(layer=layer.name, layer_type="Argument")
    kind_name, line = layer.props.get("Type", ("Text", layer.line))
    if kind_name not in ARGUMENT_KINDS:
        raise scope.ini.error(f"has argument type {shown(kind_name, quote=False)}, which nncgraph units do not "
                              "support.", line,
                              fix=f"use one of: {', '.join(ARGUMENT_KINDS)}.", **ctx)
    if reserved_argument(layer.name):
        raise scope.ini.error(f"an argument cannot be called {shown(layer.name)} in nncgraph.", layer.line,
                              fix="rename the Argument layer.", **ctx)
    kind = ARGUMENT_KINDS[kind_name]
    probe = FloatsProp(kind, None, "argument") if kind == "floats" else Prop(kind, None, "argument")
    text, line = layer.props.get("Value", ("1", layer.line))
    written, _ = convert_value(scope, probe, "Value", text, line, ctx)
    return replace(probe, default=written), written


def reserved_argument(name: str) -> bool:
    return name in ("type", "name", "input", "input_shape") or name in UNIT_PROPS


# -- values --------------------------------------------------------------------------------------
def convert_value(scope: Scope, prop: Prop, nnc: str, text: str, line: int, ctx, own=()):
    """(written, concrete) for an NNC property value; DERIVED for a macro nncgraph derives itself. `own`:
    the NNC names of the layer's properties, which `*Name` macros refer to before arguments do."""
    def error(what: str, fix: str) -> UserError:
        return scope.ini.error(f"property {shown(nnc, quote=False)}={shown(text)} {what}", line, fix=fix, **ctx)

    text = text.strip()
    reference = _argument_reference(scope, prop, nnc, text, own)
    if reference is not None:
        try:
            return "$" + reference, prop.coerce(scope.args[reference])
        except ValueError as exc:
            raise error(f"is {shown(scope.args[reference])} with the default of argument {reference}, but this "
                        f"property {exc}.", prop.doc) from None
    if text.startswith("*"):
        unit_property = UNIT_PROPERTY.fullmatch(text)
        if unit_property:
            name = unit_property.group(1)
            if scope.args is None or name not in scope.args:     # sdcproj_import made each one an argument
                raise error("reads a property of the NNC layer this network implements (*UnitProperty), which "
                            "nncgraph cannot give here.", "use nncgraph's built-in layer instead (e.g. {type: "
                            f"LSTM, size: 100}}), or add an Argument layer named {shown(name, quote=False)} to the "
                            f"network and write {shown(name, quote=False)} as the value.")
            try:
                return "$" + name, prop.coerce(scope.args[name])
            except ValueError as exc:
                raise error(f"is {shown(scope.args[name])} with the argument's default, but this property {exc}.",
                            prop.doc) from None
        derivable = prop.default is None and prop.derived and not prop.derived.startswith("required")
        if derivable or nnc == "InPlace":           # NNC's *AutoInPlace: a memory choice, not a value
            return DERIVED
        names = (f"the unit's Argument layers are {', '.join(scope.args)}" if scope.args else
                 "this network has no Argument layers" if scope.args is not None else
                 "only a unit's network has Argument layers")
        raise error("is an NNC macro that nncgraph does not compute for this property, and names no Argument "
                    f"layer ({names}).", f"write the value: {prop.doc}")
    try:
        if prop.kind in ARRAY_KINDS or isinstance(prop, FloatsProp):
            items = [t.strip() for t in text.split(",")]
            while len(items) > 1 and not items[-1]:      # NNC leaves a trailing comma now and then
                items.pop()
            pairs = [number(scope.args, t, float if isinstance(prop, FloatsProp) else int, error) for t in items]
            written, concrete = [w for w, _ in pairs], [c for _, c in pairs]
            if len(written) == 1 and not isinstance(prop, FloatsProp):
                written = written[0]            # NNC's (and nncgraph's) way to write a one-element array
                if _unknown(concrete):
                    concrete = None
        elif prop.kind in ("int", "uint", "pint", "float"):
            written, concrete = number(scope.args, text, float if prop.kind == "float" else int, error)
        elif prop.kind == "bool":
            if text.lower() not in BOOLS:
                raise ValueError(f"must be True or False, got {shown(text)}")
            written = concrete = BOOLS[text.lower()]
        else:
            written = concrete = text
        if not _unknown(concrete):      # else nncgraph checks it when it expands the unit
            concrete = prop.coerce(concrete)
    except ValueError as exc:
        raise error(f"{exc}.", prop.doc) from None
    return (concrete if written == concrete else written), concrete


def _argument_reference(scope: Scope, prop: Prop, nnc: str, text: str, own) -> Optional[str]:
    """The argument a value refers to: NNC's `*Name` (unless Name is the layer's own property, as in
    `Strides=*KernelShape` or `ParameterScope=*Name`, or the property itself), or for a bool or an option
    the argument's bare name (which no value of theirs could be)."""
    if not scope.args:
        return None
    name = text[1:] if text.startswith("*") else text
    if name not in scope.args:
        return None
    if text.startswith("*"):
        return name if name == nnc or (name != "Name" and name not in own) else None
    if prop.kind == "bool" and text.lower() not in BOOLS or \
            prop.kind == "option" and text not in prop.options and text not in dict(prop.aliases):
        return name
    return None


# -- names -------------------------------------------------------------------------------------------
def _omit_default_names(entries: List[dict]) -> None:
    """Leave out `name:` where the loader's default (NNC's Convolution, Convolution_2, ...) gives it anyway."""
    omitted = set(range(len(entries)))
    while True:
        wrong = _first_misnamed(entries, omitted)
        if wrong is None:
            break
        omitted.discard(wrong)
    for i in omitted:
        entries[i].pop("name")


def _first_misnamed(entries: List[dict], omitted) -> Optional[int]:
    """The first entry whose default name would differ from its name, as project/load.py names them."""
    explicit = {e["name"] for i, e in enumerate(entries) if i not in omitted}
    counts: Dict[str, int] = {}
    for i, entry in enumerate(entries):
        if i not in omitted:
            continue
        if default_name(entry["type"], entry.get("unit"), counts, explicit) != entry["name"]:
            return i
    return None
