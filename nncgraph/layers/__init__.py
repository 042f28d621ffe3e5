"""The layer registry: every layer type nncgraph knows, by its NNC name.

Registration is explicit (a list below), never an import side effect, so the
registry is exactly what this file says.
"""
from __future__ import annotations

from typing import Dict, Type

from ..errors import UserError, did_you_mean
from . import activation, affine, arithmetic, array, convolution, io, loss, normalization, pooling
from .base import EmitContext, Layer, ParamSpec, Prop, Shape

_LAYER_CLASSES = [
    io.Input,
    convolution.Convolution, convolution.DepthwiseConvolution, convolution.Deconvolution,
    affine.Affine,
    pooling.MaxPooling, pooling.AveragePooling, pooling.SumPooling, pooling.GlobalAveragePooling,
    activation.ReLU, activation.LeakyReLU, activation.PReLU, activation.ELU, activation.SELU,
    activation.Swish, activation.Sigmoid, activation.Tanh, activation.Softmax, activation.LogSoftmax,
    normalization.BatchNormalization,
    array.Dropout, array.Concatenate, array.Reshape, array.Identity,
    arithmetic.Add2, arithmetic.Mul2,
    loss.SoftmaxCrossEntropy, loss.CategoricalCrossEntropy, loss.SigmoidCrossEntropy,
    loss.BinaryCrossEntropy, loss.SquaredError, loss.HuberLoss, loss.AbsoluteError,
    loss.TopNError, loss.BinaryError,
]

REGISTRY: Dict[str, Layer] = {cls.type_name(): cls() for cls in _LAYER_CLASSES}


def get_layer(type_name: str) -> Layer:
    """The layer for an NNC type name; a UserError with close matches otherwise."""
    try:
        return REGISTRY[type_name]
    except KeyError:
        hint = did_you_mean(str(type_name), REGISTRY)
        raise UserError(f"unknown layer type '{type_name}'.",
                        fix=(hint + " " if hint else "") + "`nncgraph layers` lists every layer type.") from None


__all__ = ["REGISTRY", "get_layer", "EmitContext", "Layer", "ParamSpec", "Prop", "Shape"]
