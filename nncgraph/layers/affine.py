"""Affine (fully connected): flattens everything after the batch axis."""
from __future__ import annotations

from typing import ClassVar

from .base import PARAMETER_SCOPE, WEIGHT_AND_BIAS_AFFINE, Layer, ParamSpec, Prop, ShapeError, parameter_props, size_of
from .nntxt import check_base_axis
from .pins import parameter_variable, pin_props


class AffineBase(Layer):
    """What every fully connected layer shares (Affine and its binary variants): the output shape is
    `out_shape`, NNC's cost is one multiply-add per input value and output value, and the nntxt import
    reads `out_shape` off the output and the bias off the parameter inputs."""

    category = "Basic"
    shape_rule = "`out_shape`"
    # parameter inputs before the bias: W (the binary affines add Wb and alpha)
    weight_inputs: ClassVar[int] = 1

    def from_nntxt(self, args, ins, out, params):
        check_base_axis(args)
        return {"out_shape": list(out), "with_bias": len(params) > self.weight_inputs}

    def infer_shape(self, in_shapes, p):
        if not in_shapes[0]:        # nnabla's affine flattens the axes after the batch: there must be one
            raise ShapeError("gets one number per sample (shape []), but it needs at least one axis to combine.",
                             fix="give it a shaped input, or add {type: Reshape, out_shape: [1]} before it.")
        if size_of(in_shapes[0]) == 0:
            raise ShapeError(f"gets an empty input (shape {list(in_shapes[0])}).",
                             fix="an earlier layer shrinks the data to nothing; reduce its kernel, stride "
                                 "or pooling.")
        return tuple(p["out_shape"])

    def macs(self, in_shapes, out_shape, p):
        return size_of(in_shapes[0]) * size_of(out_shape)


class Affine(AffineBase):
    mutation_traits = frozenset({"basic", "insertion_site", "sets_size", "absorbs_spatial"})
    searchable = ("out_shape",)
    doc = "Fully connected layer (nnabla `affine`); parameters `<scope>/affine/W` and `/b`."
    props = {
        "out_shape": Prop("pints", [100], "Output shape (a number, or a list for a multi-axis output).", "OutShape"),
        "with_bias": Prop("bool", True, "Add a bias term.", "WithBias"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(**WEIGHT_AND_BIAS_AFFINE),
        **pin_props("W", "b"),
    }
    side_pins = ("W", "b")

    def parameters(self, in_shapes, p):
        specs = [ParamSpec("affine/W", (size_of(in_shapes[0]), *p["out_shape"]))]
        if p["with_bias"]:
            specs.append(ParamSpec("affine/b", tuple(p["out_shape"])))
        return specs

    def emit(self, ctx, inputs, p):
        if not ctx.pins:
            return ctx.PF.affine(inputs[0], tuple(p["out_shape"]), base_axis=1, with_bias=p["with_bias"])
        # nnabla's parametric affine creates its own W and b; with a linked pin, the function takes them
        bias = parameter_variable(ctx, "affine/b") if p["with_bias"] else None
        return ctx.F.affine(inputs[0], parameter_variable(ctx, "affine/W"), bias, base_axis=1)


LAYERS = [Affine]
