"""Import an NNC project (.sdcproj) as an nncgraph project file.

`import_sdcproj(path)` returns the YAML text. Networks become `network:` (or
`networks:`), NNC units (a Unit layer naming a network with Argument layers,
or a network behind a built-in NNC layer reading its `*UnitProperty`) become
`units:`, the dataset, config and optimizer sections become
`datasets:`, `training:` and `context:`, and the executor `evaluation:`. A setting the project file cannot
hold is written as a comment above its section; one that would change
training and cannot even be described (an unknown layer, solver or value) is
a UserError at its line of the .sdcproj.
"""
from __future__ import annotations

import os
import re
import textwrap
from typing import Any, Dict, List, Tuple

from ..errors import UserError, shown
from ..layers import get_layer
from ..project.located_yaml import source_mark
from ..project.yaml_text import dump
from .sdcproj_ini import IniFile, IniSection, read_ini
from .sdcproj_layers import IGNORED, UNIT_PROPERTY, Scope, argument, convert_layer, layer_list, reserved_argument
from .sdcproj_network import NncLayer, NncNetwork, order_layers, read_networks
from .sdcproj_settings import training_settings


def import_sdcproj(path: str, located: bool = False) -> str:
    """The project file's text; `located`: each layer's line ends with a mark of its line in the .sdcproj
    (located_yaml.relocate), for a project built in memory."""
    ini = read_ini(path)
    engine = ini.section("Engine")
    if engine is not None and engine.get("SDeepEngineType", "NNabla") != "NNabla":
        raise ini.error(f"the project is for engine {shown(engine.get('SDeepEngineType'))}; nncgraph imports NNabla "
                        "projects.", engine.line_of("SDeepEngineType"), fix="set SDeepEngineType=NNabla in NNC.")
    notes: Dict[str, List[str]] = {}
    networks = read_networks(ini)
    units, unit_nets, scope = _units(ini, networks, _stem(path))
    mains = {net.name: _network(scope, net) for net in networks if net not in unit_nets.values()}
    if not mains:
        mains = _instances(scope, unit_nets, notes)
    settings = training_settings(ini, list(mains), notes)
    return _render(path, ini, units, mains, settings, notes, scope.entry_lines if located else {})


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


# -- networks and units -------------------------------------------------------------------------
def _units(ini: IniFile, networks: List[NncNetwork], stem: str):
    """NNC networks that are units: one a Unit layer names, one with Argument layers, or one that reads
    *UnitProperty (the inside of a built-in NNC layer, such as NNC's own LSTM.sdcproj)."""
    called = {l.props["Network"][0] for net in networks for l in net.layers.values()
              if l.type == "Unit" and "Network" in l.props}
    unit_nets = {net.name: net for net in networks
                 if net.name in called or _unit_properties(net)
                 or any(l.type == "Argument" for l in net.layers.values())}
    # a file that is only a unit (NNC's "custom unit" files) names it after the file, not "Main"
    renamed = {n: (stem if n == "Main" and len(networks) == 1 else n) for n in unit_nets}
    scope = Scope(ini)
    arg_values: Dict[str, Dict[str, Any]] = {}
    for name, net in unit_nets.items():
        args = {}
        for layer in net.layers.values():
            if layer.type == "Argument":
                if layer.inputs or net.consumers(layer.id):
                    raise ini.error("an Argument layer cannot be linked.", layer.line, layer=layer.name,
                                    layer_type="Argument", fix="remove its links; refer to it by name in values.")
                args[layer.name] = argument(scope, layer)
        for arg, (prop, default) in _unit_property_args(ini, scope, net, renamed[name], args).items():
            args[arg] = (prop, default)
        scope.units[renamed[name]] = {a: prop for a, (prop, _) in args.items()}
        arg_values[name] = {a: written for a, (_, written) in args.items()}
        scope.unit_inputs[renamed[name]] = [l.name for l in net.layers.values() if l.type == "Input"]
        scope.unit_layers[renamed[name]] = {l.name: l for l in net.layers.values() if l.type != "Argument"}
    for net in networks:            # Unit layers name the unit as nncgraph does
        for layer in net.layers.values():
            if layer.type == "Unit" and "Network" in layer.props:
                value, line = layer.props["Network"]
                layer.props["Network"] = (renamed.get(value, value), line)
    units = {renamed[name]: _unit(ini, scope, net, arg_values[name]) for name, net in unit_nets.items()}
    return units, {renamed[n]: net for n, net in unit_nets.items()}, scope


def _unit_properties(net: NncNetwork) -> Dict[str, Tuple[NncLayer, int]]:
    """The names read by `*UnitProperty(Name)` in values that matter, with the first layer and line reading each."""
    out: Dict[str, Tuple[NncLayer, int]] = {}
    for layer in net.layers.values():
        for nnc, (text, line) in layer.props.items():
            match = UNIT_PROPERTY.fullmatch(text.strip())
            if match and nnc not in IGNORED:      # RecurrentGroupID: nncgraph pairs recurrent blocks by nesting
                out.setdefault(match.group(1), (layer, line))
    return out


def _unit_property_args(ini: IniFile, scope: Scope, net: NncNetwork, unit: str, args) -> Dict[str, Tuple[Any, Any]]:
    """Arguments for the *UnitProperty values: typed and defaulted as nncgraph's built-in layer of the same
    name has them (the unit is that layer's inside: NNC's LSTM.sdcproj, saved as unit_LSTM.sdcproj too)."""
    read = _unit_properties(net)
    if not read:
        return {}
    layer_name, builtin = _builtin_layer(unit)
    if builtin is not None:
        scope.implements[unit] = layer_name
    by_nnc = {p.nnc: p for p in builtin.props.values() if p.nnc} if builtin is not None else {}
    out = {}
    for name, (layer, line) in read.items():
        ctx = dict(layer=layer.name, layer_type=layer.type)
        name = shown(name, quote=False)     # a word (UNIT_PROPERTY's \w+), but of any length
        fix = (f"add an Argument layer named {name} that holds its value, and write {name} instead of "
               f"*UnitProperty({name}).")
        if builtin is None:
            raise ini.error(f"reads *UnitProperty({name}), a property of the NNC layer this network implements; "
                            f"nncgraph has no built-in layer {shown(unit)} to take the value of {name} from.", line,
                            fix=fix, **ctx)
        prop = by_nnc.get(name)
        if prop is None or prop.default is None:
            known = ", ".join(p.nnc for p in by_nnc.values() if p.default is not None and "." not in p.nnc)
            raise ini.error(f"reads *UnitProperty({name}), but nncgraph's {layer_name} layer has no property "
                            f"{name} with a default to import it with.", line,
                            fix=f"{fix} ({layer_name}'s properties: {known}.)" if known else
                            f"{fix} ({layer_name} has no properties with defaults.)", **ctx)
        if name in args:
            raise ini.error(f"reads *UnitProperty({name}), and the network also has an Argument layer named {name}.",
                            line, fix=f"rename the Argument layer or write {name} instead of *UnitProperty({name}).",
                            **ctx)
        if reserved_argument(name):
            raise ini.error(f"reads *UnitProperty({name}), but an nncgraph unit argument cannot be called {name}.",
                            line, fix="add an Argument layer with another name that holds its value, and write that "
                                      f"name instead of *UnitProperty({name}).", **ctx)
        out[name] = (prop, prop.default)
    return out


def _builtin_layer(unit: str):
    """The built-in layer a *UnitProperty network implements: the unit's name (NNC's own file is
    `LSTM.sdcproj`), or its last `_` part (`unit_LSTM`: collections prefix it; NNC layer names have no `_`)."""
    for name in (unit, unit.rsplit("_", 1)[-1]):
        try:
            return name, get_layer(name)
        except UserError:
            continue
    return unit, None


def _unit(ini: IniFile, scope: Scope, net: NncNetwork, args: Dict[str, Any]) -> dict:
    inputs = [l for l in net.layers.values() if l.type == "Input"]
    if not inputs:
        raise ini.error(f"unit network {shown(net.name)} has no Input layer, so it has no input.", net.line,
                        fix="add an Input layer where the unit's input enters.")
    skip = {l.id for l in net.layers.values() if l.type in ("Argument", "Input")}
    ordered = order_layers(ini, net, skip)
    names = _names(ini, net)
    inner = Scope(ini, args=dict(args), units=scope.units, unit_inputs=scope.unit_inputs,
                  unit_layers=scope.unit_layers)
    layers = layer_list(inner, ordered, names, inputs[0].name)
    sinks = [l for l in ordered if not net.consumers(l.id)]
    if len(sinks) != 1:
        raise ini.error(f"unit network {shown(net.name)} must end in one layer; it ends in "
                        f"{shown(', '.join(l.name for l in sinks) or 'none', quote=False)}.", net.line,
                        fix="make exactly one layer the unit's output (the one no other layer reads).")
    body: Dict[str, Any] = {}
    if args:
        body["args"] = args
    if [l.name for l in inputs] != ["x"]:
        body["inputs"] = [l.name for l in inputs]
    body["layers"] = layers
    if sinks[0] is not ordered[-1]:
        body["output"] = sinks[0].name
    return body


def _names(ini: IniFile, net: NncNetwork) -> Dict[str, str]:
    seen: Dict[str, Any] = {}
    for layer in net.layers.values():
        if layer.name in seen:
            raise ini.error(f"the name {shown(layer.name)} is used by two layers of network {shown(net.name)} "
                            f"(the other is at line {seen[layer.name].line}).", layer.line, layer=layer.name,
                            layer_type=layer.type, fix="give each layer its own Name.")
        seen[layer.name] = layer
    return {i: l.name for i, l in net.layers.items()}


def _network(scope: Scope, net: NncNetwork) -> List[dict]:
    return layer_list(scope, order_layers(scope.ini, net, set()), _names(scope.ini, net), None)


def _instances(scope: Scope, unit_nets: Dict[str, NncNetwork], notes) -> Dict[str, List[dict]]:
    """A file that only defines units gets a network using each once, at the size of its Input layers,
    so that `nncgraph check` can show it."""
    out = {}
    for name, net in unit_nets.items():
        inputs = [convert_layer(scope, l) for l in net.layers.values() if l.type == "Input"]
        instance = {"type": "Unit", "name": name, "unit": name}
        if len(inputs) > 1:
            instance["input"] = [i["name"] for i in inputs]
        out["Main" if len(unit_nets) == 1 else name] = inputs + [instance]
        if name in scope.implements:
            layer = scope.implements[name]
            what = (f"the inside of NNC's {layer} layer; its arguments are the {layer} properties it reads, "
                    f"{', '.join(scope.units[name])}, with the defaults of nncgraph's {layer}")
        else:
            what = "its network has Argument layers"
        notes.setdefault("network", []).append(
            f"This file defines the unit '{name}' ({what}). The network below only "
            f"uses it once, at the size of its Input layer(s), so that `nncgraph check` can show it; copy the "
            f"unit into your own project to use it.")
    return out


# -- YAML ---------------------------------------------------------------------------------------------
def _render(path, ini, units, mains, settings, notes, entry_lines) -> str:
    def entry(e, indent):
        mark = source_mark(entry_lines.get(id(e)))
        return "\n".join(line + mark for line in _flow(e, indent).split("\n"))

    lines = [f"# Imported from the Neural Network Console project {os.path.basename(path)}."]
    description = (ini.section("Description") or IniSection("Description", 0)).get("Text", "")
    if description.strip():
        lines.append("# NNC's description:")
        lines += [("#   " + t).rstrip() for t in description.replace("\\n", "\n").splitlines()]
    lines += _comments(notes.get("project", []))
    lines.append("name: " + _scalar(_stem(path)))
    datasets = settings.get("datasets")
    lines += _comments(notes.get("datasets", []))
    if datasets:
        lines.append("datasets:")
        lines += [f"  {_scalar(k)}: {_flow(v, '    ')}" for k, v in datasets.items()]
    if units:
        lines.append("units:")
        for name, body in units.items():
            lines.append(f"  {_scalar(name)}:")
            for key, value in body.items():
                if key == "layers":
                    lines.append("    layers:")
                    lines += [f"      - {entry(e, '        ')}" for e in value]
                else:
                    lines.append(f"    {key}: {_flow(value, '      ')}")
    lines += _comments(notes.get("network", []))
    if list(mains) == ["Main"]:
        lines.append("network:")
        lines += [f"  - {entry(e, '    ')}" for e in mains["Main"]]
    else:
        lines.append("networks:")
        for name, layers in mains.items():
            lines.append(f"  {_scalar(name)}:")
            lines += [f"    - {entry(e, '      ')}" for e in layers]
    training = settings.get("training")
    lines += _comments(notes.get("training", []))
    if training:
        lines.append("training:")
        lines += [f"  {k}: {_flow(v, '    ')}" for k, v in training.items()]
    lines += _comments(notes.get("evaluation", []))
    if settings.get("evaluation"):
        lines.append("evaluation: " + _flow(settings["evaluation"], "  "))
    if settings.get("context"):
        lines += _comments(notes.get("context", []))
        lines.append("context: " + _flow(settings["context"], "  "))
    if settings.get("search"):
        lines += _comments(["NNC's structure search settings, for `nncgraph search` (`nncgraph run` ignores them)."]
                           + notes.get("search", []))
        lines.append("search:")
        lines += [f"  {k}: {_flow(v, '    ')}" for k, v in settings["search"].items()]
    return "\n".join(lines) + "\n"


def _comments(notes: List[str]) -> List[str]:
    out = []
    for note in notes:
        wrapped = textwrap.wrap(note, 100)
        out += ["# " + wrapped[0]] + ["#   " + w for w in wrapped[1:]]
    return out


def _flow(value: Any, indent: str) -> str:
    if isinstance(value, (dict, list)):
        text = dump(value, default_flow_style=True, width=110, sort_keys=False).rstrip("\n")
        return text.replace("\n", "\n" + indent)
    return _scalar(value)


def _scalar(value: Any) -> str:
    text = dump(value, default_flow_style=True, width=1000)
    return re.sub(r"\n(\.\.\.\n)?$", "", text)
