"""Where a project file declares a search space, for `nncgraph search`.

A declaration sits where a value would: `out_maps: {search: [16, 32, 64]}`
(a choice), `p: {search: {low: 0.1, high: 0.5}}` (a range; `step`, `log`),
`type: {search: [ReLU, Tanh]}` (a layer's type), `repeat: {search: [1, 2, 3]}`
or `times: ...` (a repeat count), a unit argument's value; and
`optional: true` on a layer (keep it or not). Found in `network:`,
`networks:`, the layers and `args:` of `units:`, and `training:` (the batch
size, the optimizer's and the schedule's settings).

`nncgraph run` and `check` need one value everywhere, so the loader refuses a
declaration with a pointer to `nncgraph search`; the search samples every
declaration and writes a plain project per candidate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, List, Tuple

from ..layers.structure import default_name


@dataclass(frozen=True)
class Declaration:
    path: Tuple                  # keys/indices from the document root to the value (or to the layer, for optional)
    kind: str                    # "choice", "range" or "optional"
    spec: Any                    # the list of choices, the range mapping, or True
    name: str                    # stable and readable: "Convolution_2.out_maps", "Dropout.keep", "Block.maps"


def is_declaration(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"search"}


def layer_lists(doc: dict) -> Iterator[Tuple[Tuple, list]]:
    """(path, layer list) of every network and unit body."""
    if isinstance(doc.get("network"), list):
        yield ("network",), doc["network"]
    networks = doc.get("networks")
    if isinstance(networks, dict):
        for name, layers in networks.items():
            if isinstance(layers, list):
                yield ("networks", name), layers
    units = doc.get("units")
    if isinstance(units, dict):
        for name, unit in units.items():
            if isinstance(unit, dict) and isinstance(unit.get("layers"), list):
                yield ("units", name, "layers"), unit["layers"]


def declarations(doc: dict) -> List[Declaration]:
    found = []
    for path, layers in layer_lists(doc):
        prefix = "" if path == ("network",) else f"{path[1]}/"
        for index, (layer, label) in enumerate(zip(layers, _labels(layers))):
            if not isinstance(layer, dict):
                continue
            for key, value in layer.items():
                if key == "optional":
                    found.append(Declaration(path + (index,), "optional", value, f"{prefix}{label}.keep"))
                elif is_declaration(value):
                    found.append(_declaration(path + (index, key), value["search"], f"{prefix}{label}.{key}"))
    units = doc.get("units")
    if isinstance(units, dict):
        for name, unit in units.items():
            args = unit.get("args") if isinstance(unit, dict) else None
            if isinstance(args, dict):
                for key, value in args.items():
                    if is_declaration(value):
                        found.append(_declaration(("units", name, "args", key), value["search"], f"{name}.{key}"))
    if isinstance(doc.get("training"), dict):
        found.extend(_nested(doc["training"], ("training",)))
    return found


def _nested(mapping: dict, path: Tuple) -> List[Declaration]:
    """The declarations in a settings section and the mappings within it (`training.optimizer.alpha`):
    the batch size and the optimizer's rates are searched as layer values are."""
    found = []
    for key, value in mapping.items():
        if is_declaration(value):
            found.append(_declaration(path + (key,), value["search"], ".".join(map(str, path + (key,)))))
        elif isinstance(value, dict):
            found.extend(_nested(value, path + (key,)))
    return found


def _declaration(path: Tuple, spec: Any, name: str) -> Declaration:
    return Declaration(path, "range" if isinstance(spec, dict) else "choice", spec, name)


def _labels(layers: list) -> List[str]:
    """The loader's default names (Convolution, Convolution_2, ...); a layer whose type is searched
    is "layer<position>", since its name would depend on the choice."""
    counts: dict = {}
    explicit = {l.get("name") for l in layers if isinstance(l, dict) and isinstance(l.get("name"), str)}
    out = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            out.append(f"layer{index}")
        elif isinstance(layer.get("name"), str):
            out.append(layer["name"])
        elif isinstance(layer.get("type"), str):
            out.append(default_name(layer["type"], layer.get("unit"), counts, explicit))
        else:
            out.append(f"layer{index}")
    return out


def located(doc, path: Tuple):
    """The LocatedDict/LocatedList holding the last step of `path`, and that step."""
    node = doc
    for step in path[:-1]:
        node = node[step]
    return node, path[-1]
