"""JSON Schema of the project file, generated from the registry and section tables.

Editors use it for completion and checking; a test keeps `schemas/` current.
"""
from __future__ import annotations

from typing import Dict

from ..layers import REGISTRY
from ..layers.base import Prop
from .sections import (CONTEXT_FIELDS, DATASET_FIELDS, OPTIMIZER_COMMON, OPTIMIZERS, SCHEDULER_COMMON,
                       SCHEDULERS, TRAINING_FIELDS)


def _object(fields: Dict[str, Prop], extra=None, required=()) -> dict:
    props = {k: p.json_schema() for k, p in fields.items()}
    props.update(extra or {})
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


def _layer_schema(type_name: str) -> dict:
    layer = REGISTRY[type_name]
    common = {
        "type": {"const": type_name, "description": layer.doc},
        "name": {"type": "string", "description": "Unique layer name (default: NNC-style, e.g. Convolution_2)."},
        "input": {"description": "Input layer name(s); default: the previous layer.",
                  "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    }
    return _object(layer.props, common, required=("type",))


def _typed(table: Dict[str, Dict[str, Prop]], common: Dict[str, Prop]) -> dict:
    return {"oneOf": [_object({**fields, **common}, {"type": {"const": kind}}, required=("type",))
                      for kind, fields in table.items()]}


def project_schema() -> dict:
    optimizers = {kind: {name: Prop("float", default, f"{kind} {name} (nnabla `{arg}`)")
                         for name, (arg, default) in params.items()}
                  for kind, params in OPTIMIZERS.items()}
    network = {"type": "array", "minItems": 1, "items": {"oneOf": [_layer_schema(t) for t in REGISTRY]}}
    training = _object(TRAINING_FIELDS, {
        "optimizer": _typed(optimizers, OPTIMIZER_COMMON),
        "lr_scheduler": _typed(SCHEDULERS, SCHEDULER_COMMON),
    })
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "nncgraph project file",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "Project name (run folders are runs/<name>/...)."},
            "datasets": {"type": "object", "additionalProperties": _object(DATASET_FIELDS, required=("csv",)),
                         "description": "Named datasets; `training` and `validation` are used by `run`."},
            "network": network,
            "networks": {"type": "object", "additionalProperties": network},
            "training": training,
            "context": _object(CONTEXT_FIELDS),
        },
    }
