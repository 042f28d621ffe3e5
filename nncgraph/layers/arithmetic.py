"""Two-input arithmetic: Add2 and Mul2 on equal shapes (as NNC requires)."""
from __future__ import annotations

from .base import Layer, Prop, ShapeError


class _Binary(Layer):
    category = "Arithmetic (2 Inputs)"
    n_inputs = 2
    function = ""

    def infer_shape(self, in_shapes, p):
        a, b = in_shapes
        if tuple(a) != tuple(b):
            raise ShapeError(f"needs two inputs of the same shape, got {list(a)} and {list(b)}.",
                             fix="make both branches end in the same shape (e.g. match out_maps, strides or "
                                 "add a Convolution with kernel_shape [1, 1] on the shortcut).")
        return tuple(a)

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], inputs[1])


class Add2(_Binary):
    doc = "Elementwise sum of two inputs (residual connections)."
    nnabla_function = "Add2"
    function = "add2"
    props = {"in_place": Prop("bool", False, "Ignored: nnabla decides in-place execution itself.", "InPlace")}


class Mul2(_Binary):
    doc = "Elementwise product of two inputs."
    nnabla_function = "Mul2"
    function = "mul2"
    props = {}


LAYERS = [Add2, Mul2]
