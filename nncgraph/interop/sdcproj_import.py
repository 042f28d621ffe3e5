"""Import an NNC project (.sdcproj) as an nncgraph project file.

`import_sdcproj(path)` returns the YAML text. Networks become `network:` (or
`networks:`), NNC units (a Unit layer naming a network with Argument layers)
become `units:`, and the dataset, config and optimizer sections become
`datasets:`, `training:` and `context:`. A setting the project file cannot
hold is written as a comment above its section; one that would change
training and cannot even be described (an unknown layer, solver or value) is
a UserError at its line of the .sdcproj.
"""
from __future__ import annotations

import os
import re
import textwrap
from typing import Any, Dict, List

import yaml

from .sdcproj_ini import IniFile, IniSection, read_ini
from .sdcproj_layers import Scope, argument, convert_layer, layer_list
from .sdcproj_network import NncNetwork, order_layers, read_networks
from .sdcproj_settings import training_settings


def import_sdcproj(path: str) -> str:
    ini = read_ini(path)
    engine = ini.section("Engine")
    if engine is not None and engine.get("SDeepEngineType", "NNabla") != "NNabla":
        raise ini.error(f"the project is for engine {engine.get('SDeepEngineType')!r}; nncgraph imports NNabla "
                        "projects.", engine.line_of("SDeepEngineType"), fix="set SDeepEngineType=NNabla in NNC.")
    notes: Dict[str, List[str]] = {}
    networks = read_networks(ini)
    units, unit_nets, scope = _units(ini, networks, _stem(path))
    mains = {net.name: _network(scope, net) for net in networks if net not in unit_nets.values()}
    if not mains:
        mains = _instances(scope, unit_nets, notes)
    settings = training_settings(ini, list(mains), notes)
    return _render(path, ini, units, mains, settings, notes)


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


# -- networks and units -------------------------------------------------------------------------
def _units(ini: IniFile, networks: List[NncNetwork], stem: str):
    """NNC networks that are units: one a Unit layer names, or one with Argument layers."""
    called = {l.props["Network"][0] for net in networks for l in net.layers.values()
              if l.type == "Unit" and "Network" in l.props}
    unit_nets = {net.name: net for net in networks
                 if net.name in called or any(l.type == "Argument" for l in net.layers.values())}
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
        scope.units[renamed[name]] = {a: prop for a, (prop, _) in args.items()}
        arg_values[name] = {a: written for a, (_, written) in args.items()}
        scope.unit_inputs[renamed[name]] = [l.name for l in net.layers.values() if l.type == "Input"]
    for net in networks:            # Unit layers name the unit as nncgraph does
        for layer in net.layers.values():
            if layer.type == "Unit" and "Network" in layer.props:
                value, line = layer.props["Network"]
                layer.props["Network"] = (renamed.get(value, value), line)
    units = {renamed[name]: _unit(ini, scope, net, arg_values[name]) for name, net in unit_nets.items()}
    return units, {renamed[n]: net for n, net in unit_nets.items()}, scope


def _unit(ini: IniFile, scope: Scope, net: NncNetwork, args: Dict[str, Any]) -> dict:
    inputs = [l for l in net.layers.values() if l.type == "Input"]
    if not inputs:
        raise ini.error(f"unit network '{net.name}' has no Input layer, so it has no input.", net.line,
                        fix="add an Input layer where the unit's input enters.")
    skip = {l.id for l in net.layers.values() if l.type in ("Argument", "Input")}
    ordered = order_layers(ini, net, skip)
    names = _names(ini, net)
    inner = Scope(ini, args=dict(args), units=scope.units, unit_inputs=scope.unit_inputs)
    layers = layer_list(inner, ordered, names, inputs[0].name)
    sinks = [l for l in ordered if not net.consumers(l.id)]
    if len(sinks) != 1:
        raise ini.error(f"unit network '{net.name}' must end in one layer; it ends in "
                        f"{', '.join(l.name for l in sinks) or 'none'}.", net.line,
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
            raise ini.error(f"the name '{layer.name}' is used by two layers of network '{net.name}' (the other is "
                            f"at line {seen[layer.name].line}).", layer.line, layer=layer.name, layer_type=layer.type,
                            fix="give each layer its own Name.")
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
        notes.setdefault("network", []).append(
            f"This file defines the unit '{name}' (its network has Argument layers). The network below only "
            f"uses it once, at the size of its Input layer(s), so that `nncgraph check` can show it; copy the "
            f"unit into your own project to use it.")
    return out


# -- YAML ---------------------------------------------------------------------------------------------
def _render(path, ini, units, mains, settings, notes) -> str:
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
                    lines += [f"      - {_flow(e, '        ')}" for e in value]
                else:
                    lines.append(f"    {key}: {_flow(value, '      ')}")
    lines += _comments(notes.get("network", []))
    if list(mains) == ["Main"]:
        lines.append("network:")
        lines += [f"  - {_flow(e, '    ')}" for e in mains["Main"]]
    else:
        lines.append("networks:")
        for name, layers in mains.items():
            lines.append(f"  {_scalar(name)}:")
            lines += [f"    - {_flow(e, '      ')}" for e in layers]
    training = settings.get("training")
    lines += _comments(notes.get("training", []))
    if training:
        lines.append("training:")
        lines += [f"  {k}: {_flow(v, '    ')}" for k, v in training.items()]
    if settings.get("context"):
        lines += _comments(notes.get("context", []))
        lines.append("context: " + _flow(settings["context"], "  "))
    return "\n".join(lines) + "\n"


def _comments(notes: List[str]) -> List[str]:
    out = []
    for note in notes:
        wrapped = textwrap.wrap(note, 100)
        out += ["# " + wrapped[0]] + ["#   " + w for w in wrapped[1:]]
    return out


def _flow(value: Any, indent: str) -> str:
    if isinstance(value, (dict, list)):
        text = yaml.safe_dump(value, default_flow_style=True, width=110, sort_keys=False).rstrip("\n")
        return text.replace("\n", "\n" + indent)
    return _scalar(value)


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1000)
    return re.sub(r"\n(\.\.\.\n)?$", "", text)
