"""Editing a layer list (plain dicts from YAML) without breaking its connections.

Layers read the previous layer unless `input:` names others, and unnamed
layers get NNC's default names from their position; so before anything is
removed every layer gets its name written out, and a removed layer's readers
are pointed at what it read.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from ..errors import UserError
from ..project.load import _default_name

STRUCTURAL = {"RepeatStart", "RepeatEnd", "RecurrentInput", "RecurrentOutput", "Delay"}


def name_all_layers(layers: List[dict]) -> None:
    """Write every default name out (as the loader would give it), in place."""
    counts: Dict[str, int] = {}
    explicit = {l.get("name") for l in layers if isinstance(l, dict) and isinstance(l.get("name"), str)}
    for layer in layers:
        if isinstance(layer, dict) and not isinstance(layer.get("name"), str):
            base = layer.get("unit") if layer.get("type") == "Unit" and isinstance(layer.get("unit"), str) \
                else layer.get("type")
            name = _default_name(str(base), counts, explicit)
            rest = dict(layer)
            layer.clear()      # type, then name, as people write them
            layer.update({"type": rest.pop("type"), "name": name, **rest})


def inputs_of(layers: List[dict], index: int) -> List[str]:
    layer = layers[index]
    if "input" in layer:
        value = layer["input"]
        return [value] if isinstance(value, str) else list(value)
    return [layers[index - 1]["name"]] if index > 0 else []


def remove_layer(layers: List[dict], index: int) -> None:
    """Remove layers[index] (named), pointing its readers at its single input; in place."""
    layer = layers[index]
    sources = inputs_of(layers, index)
    if len(sources) != 1:
        raise UserError(f"layer '{layer['name']}' has {len(sources)} inputs, so it cannot be left out.",
                        fix="make only single-input layers optional.")
    if layer.get("type") in STRUCTURAL or layer.get("type") == "Input":
        raise UserError(f"layer '{layer['name']}' ({layer.get('type')}) cannot be left out.",
                        fix="make only computing layers optional.")
    source, name = sources[0], layer["name"]
    following: Optional[dict] = layers[index + 1] if index + 1 < len(layers) else None
    if following is not None and "input" not in following:
        following["input"] = source
    for other in layers[index + 1:]:
        value = other.get("input")
        if value == name:
            other["input"] = source
        elif isinstance(value, list):
            other["input"] = [source if v == name else v for v in value]
    del layers[index]
    # an explicit input equal to the previous layer is what the default says anyway
    if following is not None and index > 0 and following.get("input") == layers[index - 1]["name"]:
        del following["input"]
