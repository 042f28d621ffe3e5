"""Array layers that move, pick or reshape data: Broadcast, Tile, Pad, Flip, Shift, Transpose, Slice, Stack, Sort, TopKData, MatrixDiag, ..."""
from __future__ import annotations

from .base import Layer, ParamSpec, Prop, ShapeError, channel_axis, size_of  # noqa: F401

LAYERS = []
