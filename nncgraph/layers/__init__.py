"""The layer registry: every layer type nncgraph knows, by its NNC name.

Registration is explicit (a list below), never an import side effect, so the
registry is exactly what this file says.
"""
from __future__ import annotations

from typing import Dict

from ..errors import UserError, did_you_mean, shown
from . import (activation, affine, arithmetic, array, array_ops, array_values, convolution, convolution_variants, io,
               logical, loss, math, normalization, parameter, pooling, quantize, recurrent, spectral, stochastic)
from .base import EmitContext, Layer, ParamSpec, Prop, Shape

# One module per layer family; each lists its layers in LAYERS, in palette order.
_FAMILIES = [io, parameter, convolution, convolution_variants, affine, pooling, activation, normalization, array,
             array_ops, array_values, arithmetic, math, logical, stochastic, quantize, spectral, recurrent, loss]
_LAYER_CLASSES = [cls for family in _FAMILIES for cls in family.LAYERS]

REGISTRY: Dict[str, Layer] = {cls.type_name(): cls() for cls in _LAYER_CLASSES}
assert len(REGISTRY) == len(_LAYER_CLASSES), "two layer classes share one NNC name"

# NNC palette layers nncgraph cannot run, with the reason (listed in docs/layers.md).
UNSUPPORTED: Dict[str, str] = {name: why for family in _FAMILIES
                               for name, why in getattr(family, "UNSUPPORTED", {}).items()}


def get_layer(type_name: str) -> Layer:
    """The layer for an NNC type name; a UserError with close matches otherwise."""
    try:
        return REGISTRY[type_name]
    except KeyError:
        if type_name in UNSUPPORTED:
            raise UserError(f"layer type '{type_name}' is not supported: {UNSUPPORTED[type_name]}",
                            fix="remove it or replace it with supported layers (docs/layers.md lists them).") from None
        hint = did_you_mean(str(type_name), REGISTRY)
        raise UserError(f"unknown layer type '{shown(type_name, quote=False)}'.",
                        fix=(hint + " " if hint else "") + "`nncgraph layers` lists every layer type.") from None


__all__ = ["REGISTRY", "get_layer", "EmitContext", "Layer", "ParamSpec", "Prop", "Shape"]
