"""Quantization layers: fixed-point, min-max and power-of-2 quantizers, binary weights and activations."""
from __future__ import annotations

from .base import Layer, ParamSpec, Prop, ShapeError, channel_axis, size_of  # noqa: F401

LAYERS = []
