"""Load and validate a project file into a typed `Project`.

Every check here knows where the value was written, so errors read
`project.yaml:12:5: layer 'Convolution_2' (Convolution): ... Fix: ...`.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List

from ..errors import Location, UserError, shown
from ..layers import get_layer
from ..layers.structure import default_name, is_structural
from .fields import coerce_prop, read_fields, reject_unknown, section
from .located_yaml import LocatedDict, LocatedList, load_located_yaml
from .model import (ArgumentValue, ContextSpec, DatasetSpec, EvaluationSpec, InitFromSpec, LayerSpec, Project,
                    UnitSpec, holds_argument)
from .sections import CONTEXT_FIELDS, DATASET_FIELDS, EVALUATION_FIELDS, check_format
from .training_section import parse_training

TOP_LEVEL_KEYS = ("format", "name", "datasets", "units", "network", "networks", "training", "init_from", "evaluation",
                  "context", "search")
LAYER_KEYS = ("type", "name", "input")
UNIT_KEYS = ("args", "inputs", "layers", "output")


def load_project(path: str) -> Project:
    return parse_project(read_project_text(path), path)


def read_project_text(path: str) -> str:
    """The text of a project file; what keeps it from being read is said as it is."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise UserError(f"project file '{path}' does not exist.", fix="check the path.") from None
    except IsADirectoryError:
        raise UserError(f"project file '{path}' is a directory.", fix="give the .yaml file inside it.") from None
    except OSError as exc:
        raise UserError(f"cannot read project file '{path}': {exc.strerror or exc}.",
                        fix="check the file and its permissions.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        what = "a binary file, not text" if b"\0" in data[:8192] else "not UTF-8 text"
        raise UserError(f"project file is {what}: byte 0x{data[exc.start]:02x} cannot be read.",
                        location=Location(path, line, column),
                        fix="save the file as UTF-8 (a project file is YAML text).") from None


def parse_project(text: str, path: str) -> Project:
    return parse_document(load_located_yaml(text, path), path)


def parse_document(doc: Any, path: str) -> Project:
    """The typed project of a loaded YAML document (`path`: where relative paths start, and its name)."""
    if not isinstance(doc, LocatedDict):
        raise UserError("a project file must be a mapping with `name`, `datasets`, `network` and `training`.",
                        location=Location(path, 1), fix="see docs/project-file.md for an example.")
    if "format" in doc:      # first: a newer file's other keys may mean what this nncgraph cannot know
        check_format(doc["format"], doc.where("format"))
    reject_unknown(doc, TOP_LEVEL_KEYS, "top-level key")
    _reject_search_declarations(doc, path)
    base = os.path.dirname(os.path.abspath(path))
    name = doc.get("name", os.path.splitext(os.path.basename(path))[0])
    check_name(name, doc.where("name") if "name" in doc else Location(path, 1))
    networks, net_locs = _networks(doc, path)
    training = parse_training(section(doc, "training"), networks)
    return Project(
        name=name, path=os.path.abspath(path),
        datasets=_datasets(section(doc, "datasets"), base),
        networks=networks, network_locations=net_locs, training=training,
        units=_units(doc), init_from=_init_from(doc, base),
        evaluation=EvaluationSpec(**read_fields(section(doc, "evaluation"), EVALUATION_FIELDS, "evaluation key")),
        context=ContextSpec(**read_fields(section(doc, "context"), CONTEXT_FIELDS, "context key")),
        locations={k: doc.where(k) for k in doc})


MAX_NAME_BYTES = 200         # a folder name: file systems allow 255 bytes


def check_name(name: Any, where: Location) -> None:
    """A project's `name` names its run folder (runs/<name>/...), so it must be one safe folder name:
    nothing a path could climb out of runs/ with."""
    problem = None
    if not isinstance(name, str) or not name.strip():
        problem = f"must be a non-empty string, got {shown(name)}"
    elif name in (".", "..") or any(c in name for c in "/\\:") or any(ord(c) < 32 or c == "\x7f" for c in name):
        problem = f"names a folder, so it cannot be {shown(name)} (no /, \\, :, control characters, . or ..)"
    elif name != name.strip():
        problem = f"must not start or end with spaces, got {shown(name)}"
    elif len(name.encode("utf-8")) > MAX_NAME_BYTES:
        problem = f"is {len(name.encode('utf-8'))} bytes long, more than a folder name may be ({MAX_NAME_BYTES})"
    if problem:
        raise UserError(f"the project's `name` {problem}.", location=where,
                        fix="use letters, digits, - and _, e.g. name: lenet-mnist")


# -- helpers ----------------------------------------------------------------
def _reject_search_declarations(doc: LocatedDict, path: str) -> None:
    """A single run needs one value everywhere; a declared space is for `nncgraph search`."""
    from .search_declarations import declarations, located

    found = declarations(doc)
    if found:
        first = found[0]
        holder, step = located(doc, first.path)
        what = "an optional layer" if first.kind == "optional" else f"a searched value ({first.name})"
        raise UserError(f"this project declares a search space: {what}, and {len(found)} declaration(s) in all.",
                        location=holder.where(step) if hasattr(holder, "where") else Location(path),
                        fix=f"explore it with `nncgraph search {os.path.basename(path)}`; to run one network, "
                            "write a single value instead of `{search: ...}` and drop `optional:`.")


def _datasets(mapping: LocatedDict, base: str) -> Dict[str, DatasetSpec]:
    out = {}
    for name in mapping:
        spec = mapping[name]
        if not isinstance(spec, LocatedDict):
            raise UserError(f"dataset {shown(name)} must be a mapping such as {{csv: data/train.csv}}.",
                            location=mapping.where(name), fix="give at least `csv:`.")
        values = read_fields(spec, DATASET_FIELDS, f"dataset {shown(name)} key")
        if not values["csv"]:
            raise UserError(f"dataset {shown(name)} has no `csv`.", location=mapping.where(name),
                            fix="add `csv: path/to/dataset.csv`.")
        shuffle = values["shuffle"] if values["shuffle"] is not None else name == "training"
        out[name] = DatasetSpec(name=name, csv=os.path.normpath(os.path.join(base, values["csv"])),
                                csv_as_written=values["csv"], shuffle=shuffle,
                                image_normalization=values["image_normalization"],
                                location=spec.where("csv"))
    return out


def _networks(doc: LocatedDict, path: str):
    if "network" in doc and "networks" in doc:
        raise UserError("give either `network` (one network) or `networks` (several), not both.",
                        location=doc.where("networks"), fix="move the single network under `networks: {Main: ...}`.")
    if "network" in doc:
        nets = {"Main": (doc["network"], doc.where("network"))}
    elif "networks" in doc:
        raw = doc["networks"]
        if not isinstance(raw, LocatedDict) or not raw:
            raise UserError("`networks` must map network names to layer lists.", location=doc.where("networks"),
                            fix="e.g. networks: {Main: [...]}")
        nets = {str(k): (raw[k], raw.where(k)) for k in raw}
    else:
        raise UserError("the project has no network.", location=Location(path, 1),
                        fix="add `network:` with a list of layers, starting with an Input layer.")
    out, locs = {}, {}
    for net_name, (layers, where) in nets.items():
        if not isinstance(layers, LocatedList) or not layers:
            raise UserError(f"network {shown(net_name)} must be a non-empty list of layers.", location=where,
                            fix="write one `- {type: ..., ...}` line per layer.")
        out[net_name] = _layers(layers)
        locs[net_name] = where
    return out, locs


def _layers(items: LocatedList, in_unit: bool = False) -> List[LayerSpec]:
    """Layer specs of one layer list: a network, or a unit's body (`in_unit`). Their `$` values are kept
    as ArgumentValues until the expansion substitutes them (graph/expand.py): a unit's arguments when an
    instance is made, and `$input_shape[i]` in any layer once its input is known."""
    specs, counts = [], {}
    explicit = {i.get("name") for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)}
    for index, item in enumerate(items):
        where = items.where(index)
        if not isinstance(item, LocatedDict) or "type" not in item:
            raise UserError("each layer must be a mapping with a `type`.", location=where,
                            fix="e.g. - {type: ReLU}")
        type_name = item["type"]
        if not isinstance(type_name, str):
            raise UserError(f"a layer's `type` must be a layer type name, got {shown(type_name)}.",
                            location=item.where("type"), fix="e.g. type: Convolution (`nncgraph layers` lists them)")
        structural = is_structural(type_name)
        if not structural:
            try:
                layer = get_layer(type_name)
            except UserError as exc:
                raise exc.with_context(location=item.where("type")) from None
        name = item.get("name")
        if name is None:
            unit = item.get("unit")
            name = default_name(type_name, None if in_unit and isinstance(unit, str) and "$" in unit else unit,
                                counts, explicit)
        elif not isinstance(name, str) or not name:
            raise UserError(f"layer name {shown(name)} must be a non-empty string.",
                            location=item.where("name"), layer_type=type_name, fix="e.g. name: conv1")
        elif in_unit and "$" in name:
            raise UserError(f"layer name {shown(name)}: a `$` value stands for a property's value, not a name.",
                            location=item.where("name"), layer_type=type_name,
                            fix="write the name out (an instance's layers are named <instance>/<name>).")
        ctx = dict(layer=name, layer_type=type_name)
        written = {k: _written(item[k], item.where(k), True) for k in item if k not in LAYER_KEYS}
        if structural:   # checked when expanded, where the unit definitions are known
            props = written
        else:
            allowed = list(LAYER_KEYS) + list(layer.props)
            reject_unknown(item, allowed, "property", **ctx)
            props = {k: (written[k] if holds_argument(written[k]) else
                         coerce_prop(layer.props[k], item[k], item.where(k), k, **ctx))
                     for k in item if k in layer.props}
        specs.append(LayerSpec(type=type_name, name=name, props=props, inputs=_inputs(item, ctx), location=where,
                               prop_locations={k: item.where(k) for k in props}))
    return specs


def _written(value: Any, where: Location, expressions: bool) -> Any:
    """A YAML value as plain Python; with `expressions` (a layer's values), a text with `$` becomes an
    ArgumentValue."""
    if isinstance(value, dict):
        return {k: _written(v, value.where(k) if isinstance(value, LocatedDict) else where, expressions)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_written(v, value.where(i) if isinstance(value, LocatedList) else where, expressions)
                for i, v in enumerate(value)]
    if expressions and isinstance(value, str) and "$" in value:
        return ArgumentValue(value, where)
    return value


def _init_from(doc: LocatedDict, base: str):
    raw = doc.get("init_from")
    if raw is None:
        return None
    where = doc.where("init_from")
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        raise UserError("`init_from` needs a `path` (a run folder, an .h5 parameter file or an .nnp).", location=where,
                        fix="e.g. init_from: {path: ../runs/pretrain/20261123-120000, map: {'Share_Unit/*': "
                            "'Share_Unit/*'}}")
    if isinstance(raw, LocatedDict):
        reject_unknown(raw, ("path", "map"), "init_from key")
    mapping = raw.get("map", {"*": "*"})
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise UserError("`init_from.map` must map parameter-name patterns to source-name patterns.", location=where,
                        fix="e.g. map: {'Share_Unit/*': 'Share_Unit/*'}")
    return InitFromSpec(path=os.path.normpath(os.path.join(base, raw["path"])), mapping=dict(mapping),
                        location=where)


def _units(doc: LocatedDict) -> Dict[str, UnitSpec]:
    raw = doc.get("units")
    if raw is None:
        return {}
    if not isinstance(raw, LocatedDict):
        raise UserError("`units` must map unit names to definitions.", location=doc.where("units"),
                        fix="e.g. units: {Block: {args: {maps: 16}, layers: [...]}}")
    out = {}
    for name in raw:
        body = raw[name]
        where = raw.where(name)
        if not isinstance(body, LocatedDict) or not isinstance(body.get("layers"), LocatedList) \
                or not body["layers"]:
            raise UserError(f"unit {shown(name)} must be a mapping with a non-empty `layers` list.", location=where,
                            fix="e.g. Block: {args: {maps: 16}, layers: [{type: Convolution, out_maps: $maps}]}")
        reject_unknown(body, UNIT_KEYS, f"unit {shown(name)} key")
        args = body.get("args") or LocatedDict()
        if not isinstance(args, dict):
            raise UserError(f"`args` of unit {shown(name)} must map argument names to default values.",
                            location=body.where("args"), fix="e.g. args: {maps: 16, stride: 1}")
        if "input_shape" in args:
            raise UserError(f"unit {shown(name)} has an argument called 'input_shape', a name its layers use for their "
                            "input's shape ($input_shape[0]).",
                            location=args.where("input_shape") if isinstance(args, LocatedDict) else where,
                            fix="rename the argument.")
        inputs = body.get("inputs", ["x"])
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
            raise UserError(f"`inputs` of unit {shown(name)} must be a list of names.", location=body.where("inputs"),
                            fix="e.g. inputs: [x, shortcut]")
        output = body.get("output")
        if output is not None and not isinstance(output, str):
            raise UserError(f"`output` of unit {shown(name)} must be a layer name.", location=body.where("output"),
                            fix="name the layer whose output the unit returns")
        out[str(name)] = UnitSpec(name=str(name), args=_written(args, where, False), inputs=list(inputs),
                                  layers=_layers(body["layers"], in_unit=True), output=output, location=where)
    return out


def _inputs(item: LocatedDict, ctx) -> Any:
    if "input" not in item:
        return None
    value = item["input"]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise UserError("`input` must be a layer name or a list of layer names.", location=item.where("input"),
                        fix="e.g. input: conv1  or  input: [conv1, shortcut]", **ctx)
    return list(values)
