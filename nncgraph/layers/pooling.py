"""Pooling family: Max, Average and Sum pooling share one shape rule."""
from __future__ import annotations

from .base import Layer, Prop, ShapeError
from .nntxt import Unconvertible, dims
from .shape_rules import pool_out


def _pooling_props(**extra):
    props = {
        "kernel_shape": Prop("pints", [2, 2], "Window size per pooled axis.", "KernelShape"),
        "strides": Prop("pints", None, "Step per pooled axis.", "Strides", derived="kernel_shape"),
        "ignore_border": Prop("bool", True, "Drop windows that would run past the border.", "IgnoreBorder"),
        "padding": Prop("uints", [0, 0], "Zero padding per pooled axis.", "Padding"),
    }
    props.update(extra)
    return props


class _Pooling(Layer):
    category = "Pooling"

    def from_nntxt(self, args, ins, out, params):
        p = {"kernel_shape": dims(args.kernel), "strides": dims(args.stride), "ignore_border": args.ignore_border,
             "padding": dims(args.pad)}
        for name in ("channel_last", "including_pad"):      # where the layer has the property
            if name in self.props:
                p[name] = getattr(args, name)
            elif getattr(args, name, False):
                raise Unconvertible(name)
        return p

    def resolve(self, props, name):
        p = super().resolve(props, name)
        if p["strides"] is None:
            p["strides"] = list(p["kernel_shape"])
        return p

    def infer_shape(self, in_shapes, p):
        shape = in_shapes[0]
        k, s, pad = p["kernel_shape"], p["strides"], p["padding"]
        n = len(k)
        if n not in (2, 3):   # nnabla's pooling functions reject other kernels when the graph is built
            raise ShapeError(f"kernel_shape {k} has {n} axes, but nnabla pools 2 or 3 axes only.",
                             fix="give kernel_shape 2 or 3 values; for 1-D data (C, L), Reshape it to "
                                 "(C, L, 1) and use kernel_shape [k, 1].")
        if len(s) != n or len(pad) != n:
            raise ShapeError(f"kernel_shape {k}, strides {s} and padding {pad} must have the same length.",
                             fix="give each the same number of values.")
        last = p.get("channel_last", False)
        if len(shape) < n + (1 if last else 0):
            raise ShapeError(f"cannot pool {n} axes of input shape {list(shape)}.",
                             fix="check the layers before it or shorten kernel_shape.")
        spatial = list(shape[-n - 1:-1]) if last else list(shape[-n:])
        out = [pool_out(v, kernel=kk, pad=pp, stride=ss, ignore_border=p["ignore_border"])
               for v, kk, pp, ss in zip(spatial, k, pad, s)]
        if min(out) < 1:
            raise ShapeError(f"kernel {k} is larger than the input {list(shape)} (output would be {out}).",
                             fix="use a smaller kernel_shape, or set ignore_border: false.")
        if last:
            return tuple(shape[:-n - 1]) + tuple(out) + (shape[-1],)
        return tuple(shape[:-n]) + tuple(out)

    def _args(self, p):
        return dict(kernel=tuple(p["kernel_shape"]), stride=tuple(p["strides"]),
                    ignore_border=p["ignore_border"], pad=tuple(p["padding"]))


class MaxPooling(_Pooling):
    mutation_traits = frozenset({"pooling", "inserted_pooling", "keeps_channels"})
    inserted_props = {"kernel_shape": [2, 2]}
    doc = "Maximum over each window (nnabla `max_pooling`)."
    props = _pooling_props(channel_last=Prop("bool", False, "Channels are the last axis.", "ChannelLast"))

    def emit(self, ctx, inputs, p):
        return ctx.F.max_pooling(inputs[0], channel_last=p["channel_last"], **self._args(p))


class AveragePooling(_Pooling):
    mutation_traits = frozenset({"pooling", "inserted_pooling", "keeps_channels"})
    inserted_props = {"kernel_shape": [2, 2]}
    doc = "Mean over each window (nnabla `average_pooling`)."
    props = _pooling_props(
        channel_last=Prop("bool", False, "Channels are the last axis.", "ChannelLast"),
        including_pad=Prop("bool", True, "Count padded zeros in the mean.", "IncludingPad"))

    def emit(self, ctx, inputs, p):
        return ctx.F.average_pooling(inputs[0], channel_last=p["channel_last"],
                                     including_pad=p["including_pad"], **self._args(p))


class SumPooling(_Pooling):
    mutation_traits = frozenset({"pooling", "keeps_channels"})
    doc = "Sum over each window (nnabla `sum_pooling`)."
    props = _pooling_props()

    def emit(self, ctx, inputs, p):
        return ctx.F.sum_pooling(inputs[0], **self._args(p))


class GlobalAveragePooling(Layer):
    mutation_traits = frozenset({"absorbs_spatial"})
    category = "Pooling"
    doc = "Mean over all spatial positions: (C, H, W) -> (C, 1, 1) (nnabla `global_average_pooling`)."
    props = {}

    def infer_shape(self, in_shapes, p):
        shape = in_shapes[0]
        if len(shape) < 2:
            raise ShapeError(f"expects (channels, spatial...) input, got shape {list(shape)}.",
                             fix="place it after a convolution or pooling layer.")
        return (shape[0], 1, 1)

    def emit(self, ctx, inputs, p):
        return ctx.F.global_average_pooling(inputs[0])


LAYERS = [MaxPooling, AveragePooling, SumPooling, GlobalAveragePooling]


class Unpooling(Layer):
    category = "Pooling"
    doc = "Repeats each value `kernel_shape` times along the last axes, the inverse of pooling (nnabla `unpooling`)."
    shape_rule = "input with its last len(`kernel_shape`) axes multiplied by `kernel_shape`"
    props = {"kernel_shape": Prop("pints", [2, 2], "Repeats per axis, for the last axes.", "KernelShape")}

    def from_nntxt(self, args, ins, out, params):
        return {"kernel_shape": dims(args.kernel)}

    def infer_shape(self, in_shapes, p):
        shape, k = in_shapes[0], p["kernel_shape"]
        if len(k) > len(shape):   # nnabla would spread over the batch axis
            raise ShapeError(f"kernel_shape {k} has more axes than the input {list(shape)}.",
                             fix=f"give kernel_shape at most {len(shape)} values.")
        lead = len(shape) - len(k)
        return tuple(shape[:lead]) + tuple(s * kk for s, kk in zip(shape[lead:], k))

    def emit(self, ctx, inputs, p):
        return ctx.F.unpooling(inputs[0], kernel=tuple(p["kernel_shape"]))


LAYERS += [Unpooling]
