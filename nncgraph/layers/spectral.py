"""Spectral layers: FFT and IFFT."""
from __future__ import annotations

from .base import Layer, ParamSpec, Prop, ShapeError, channel_axis, size_of  # noqa: F401

LAYERS = []
