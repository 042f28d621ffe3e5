"""JSON Schema of the project file, generated from the registry and section tables.

Editors use it for completion and checking; a test keeps `schemas/` current.
"""
from __future__ import annotations

from typing import Dict

from ..layers import REGISTRY
from ..layers.base import Prop
from ..layers.structure import STRUCTURAL, STRUCTURAL_DOCS
from .sections import (CONTEXT_FIELDS, DATASET_FIELDS, EVALUATION_FIELDS, FORMAT_FIELD, OPTIMIZER_ENTRY_FIELDS,
                       OPTIMIZER_FIELDS, SCHEDULER_FIELDS, TRAINING_FIELDS)


def _object(fields: Dict[str, Prop], extra=None, required=()) -> dict:
    props = {k: p.json_schema() for k, p in fields.items()}
    props.update(extra or {})
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


# A number in a layer may be written as an expression of its input's shape (`"$input_shape[0] * 2"`,
# graph/expressions.py), in any network; the loader checks its value once the input is known.
SHAPE_EXPRESSION = {"type": "string", "pattern": "\\$input_shape\\["}
_NUMBERS, _ARRAYS = ("int", "uint", "pint", "float"), ("ints", "uints", "pints", "floats")


def _layer_prop_schema(prop: Prop) -> dict:
    schema = prop.json_schema()
    if prop.kind not in _NUMBERS + _ARRAYS:
        return schema
    doc = {k: schema.pop(k) for k in ("description", "default") if k in schema}
    variants = [schema, SHAPE_EXPRESSION]
    if prop.kind in _ARRAYS:
        variants.append({"type": "array", "items": {"anyOf": [{"type": "number"}, SHAPE_EXPRESSION]}})
    return {"anyOf": variants, **doc}


def _layer_schema(type_name: str) -> dict:
    layer = REGISTRY[type_name]
    common = {
        "type": {"const": type_name, "description": layer.doc},
        "name": {"type": "string", "description": "Unique layer name (default: NNC-style, e.g. Convolution_2)."},
        "input": {"description": "Input layer name(s); default: the previous layer.",
                  "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    }
    out = _object(layer.props, common, required=("type",))
    out["properties"].update({k: _layer_prop_schema(p) for k, p in layer.props.items()})
    return out


def _structural_schemas() -> list:
    """Units, repeats and recurrent blocks: expanded before the graph is built (graph/expand.py)."""
    def common(kind, doc):
        return {"type": {"const": kind, "description": doc},
                "name": {"type": "string"},
                "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}}

    out = []
    for kind, fields in STRUCTURAL.items():
        unit = kind == "Unit"
        schema = _object(fields, common(kind, STRUCTURAL_DOCS[kind]), required=("type", "unit") if unit else ("type",))
        if unit:        # a Unit's other keys are its unit's arguments
            schema["additionalProperties"] = True
        out.append(schema)
    return out


def _typed(table: Dict[str, Dict[str, Prop]]) -> dict:
    return {"oneOf": [_object(fields, {"type": {"const": kind}}, required=("type",))
                      for kind, fields in table.items()]}


def project_schema() -> dict:
    network = {"type": "array", "minItems": 1,
               "items": {"oneOf": [_layer_schema(t) for t in REGISTRY] + _structural_schemas()}}
    units = {"type": "object", "description": "Reusable sub-networks (NNC's Unit) with `$argument` values.",
             "additionalProperties": {
                 "type": "object", "required": ["layers"], "additionalProperties": False,
                 "properties": {
                     "args": {"type": "object", "description": "Arguments and their defaults (null: required)."},
                     "inputs": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                                "description": "Names of the unit's inputs (default [x])."},
                     # a body's values may be `$arg` expressions, so only the shape of a layer is checked here
                     "layers": {"type": "array", "minItems": 1,
                                "items": {"type": "object", "required": ["type"]}},
                     "output": {"type": "string", "description": "The layer whose output the unit returns."}}}}
    blocks = {"optimizer": _typed(OPTIMIZER_FIELDS), "lr_scheduler": _typed(SCHEDULER_FIELDS)}
    single = {k: p for k, p in OPTIMIZER_ENTRY_FIELDS.items() if k != "name"}
    entry = _object(OPTIMIZER_ENTRY_FIELDS, blocks)
    training = _object({**single, **TRAINING_FIELDS}, {
        **blocks,
        "optimizers": {"type": "array", "minItems": 1, "items": entry,
                       "description": "Several optimizers (NNC's [Optimizer_N]), run in this order in every "
                                      "iteration; instead of the one optimizer's keys in `training:`."},
    })
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "nncgraph project file",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "format": FORMAT_FIELD.json_schema(),
            "name": {"type": "string", "description": "Project name (run folders are runs/<name>/...): one folder "
                     "name, without /, \\, :, control characters, . or ..", "minLength": 1,
                     "pattern": "^(?!\\.{1,2}$)[^/\\\\:\\u0000-\\u001f\\u007f]+$"},
            "datasets": {"type": "object", "additionalProperties": _object(DATASET_FIELDS, required=("csv",)),
                         "description": "Named datasets; `training` and `validation` are used by `run`."},
            "units": units,
            "network": network,
            "networks": {"type": "object", "additionalProperties": network},
            "init_from": {"description": "Start from another run's parameters (transfer learning).",
                          "oneOf": [{"type": "string"},
                                    {"type": "object", "additionalProperties": False, "required": ["path"],
                                     "properties": {"path": {"type": "string"},
                                                    "map": {"type": "object",
                                                            "additionalProperties": {"type": "string"}}}}]},
            "training": training,
            "evaluation": _object(EVALUATION_FIELDS),
            "context": _object(CONTEXT_FIELDS),
            "search": {"type": "object", "description": "Settings of `nncgraph search` (docs/howto-structure-search.md); "
                       "`run` ignores them."},
        },
    }
