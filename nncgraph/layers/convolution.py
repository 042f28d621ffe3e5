"""Convolution family: Convolution, DepthwiseConvolution, Deconvolution."""
from __future__ import annotations

from typing import ClassVar, Dict

from .base import (DECONVOLUTION_INITIALIZERS, PARAMETER_SCOPE, PLAIN_INITIALIZERS, WEIGHT_AND_BIAS_CONV, Layer,
                   ParamSpec, Prop, ShapeError, parameter_props, size_of)
from .nntxt import Unconvertible, check_base_axis, dims
from .pins import parameter_variable, pin_props
from .shape_rules import border_padding, conv_out, deconv_out

# The properties Convolution and Deconvolution share, after their own.
_GROUPED_TAIL = {
    "strides": Prop("pints", [1, 1], "Stride per spatial axis.", "Strides"),
    "dilation": Prop("pints", [1, 1], "Dilation per spatial axis.", "Dilation"),
    "group": Prop("pint", 1, "Number of groups of channels.", "Group"),
    "channel_last": Prop("bool", False, "Channels are the last axis.", "ChannelLast"),
    "with_bias": Prop("bool", True, "Add a bias term.", "WithBias"),
    "parameter_scope": PARAMETER_SCOPE,
}


def _spatial(shape, n_spatial, channel_last):
    """Split a sample shape into (channels, spatial dims)."""
    if len(shape) < n_spatial + 1:
        raise ShapeError(
            f"expects an input of at least {n_spatial + 1} axes (channels + {n_spatial} spatial) "
            f"for kernel_shape of {n_spatial} axes, got shape {list(shape)}.",
            fix="check the layers before it, or change kernel_shape.")
    if channel_last:
        return shape[-1], list(shape[-n_spatial - 1:-1]), shape[:-n_spatial - 1]
    return shape[-n_spatial - 1], list(shape[-n_spatial:]), shape[:-n_spatial - 1]


def _per_axis(values, n, what):
    if len(values) != n:
        raise ShapeError(f"{what} has {len(values)} values but kernel_shape has {n}.",
                         fix=f"give {what} {n} values.")
    return values


class ConvolutionBase(Layer):
    """What every convolution-like layer shares: padding derived from `border_mode`, the kernel's
    geometry over the spatial axes, and NNC's cost. Each value on the dense side (the output; the input
    of a transposed convolution) sums the kernel's taps over the channels it connects to: the input
    channels of its group (a transposed one: the output maps of its group), or one for a depthwise one."""

    category = "Basic"
    transposed: ClassVar[bool] = False
    depthwise: ClassVar[bool] = False
    # parameter inputs before the bias: W (the binary convolutions add Wb and alpha)
    weight_inputs: ClassVar[int] = 1

    def resolve(self, props, name):
        p = super().resolve(props, name)
        if p.get("padding") is None:
            p["padding"] = [border_padding(p.get("border_mode", "valid"), k, d)
                            for k, d in zip(p["kernel_shape"], _pad_list(p["dilation"], len(p["kernel_shape"])))]
        return p

    def _geometry(self, shape, p):
        k = p["kernel_shape"]
        n = len(k)
        ch, spatial, lead = _spatial(shape, n, p.get("channel_last", False))
        pads = _per_axis(p["padding"], n, "padding")
        strides = _per_axis(p["strides"], n, "strides")
        dil = _per_axis(p["dilation"], n, "dilation")
        return ch, spatial, lead, k, pads, strides, dil

    def _output_spatial(self, shape, p):
        """(input channels, output spatial sizes, leading axes) of a forward convolution; raises where
        the kernel does not fit."""
        ch, spatial, lead, k, pads, strides, dil = self._geometry(shape, p)
        out = [conv_out(s, kernel=kk, pad=pp, stride=st, dilation=dd)
               for s, kk, pp, st, dd in zip(spatial, k, pads, strides, dil)]
        if min(out) < 1:
            raise ShapeError(f"kernel {k} with padding {pads} does not fit input {list(shape)} "
                             f"(output would be {out}).", fix="use a smaller kernel, padding, or a larger input.")
        return ch, out, lead

    def window_from_nntxt(self, args, params) -> Dict:
        """The nntxt import's part every convolution shares: padding, strides and dilation per spatial
        axis, and a bias where a parameter input follows the weights."""
        check_base_axis(args)
        return {"padding": dims(args.pad), "strides": dims(args.stride), "dilation": dims(args.dilation),
                "with_bias": len(params) > self.weight_inputs}

    def forward_from_nntxt(self, args, params) -> Dict:
        """A forward convolution's import: also the maps and kernel from W, (out_maps, per group, *kernel)
        or, channels last, (out_maps, *kernel, per group), and group and channel_last where the layer has
        them (the binary convolutions have neither: their message has no channel_last, and a group other
        than 1 is refused)."""
        w = params[0]
        channel_last = "channel_last" in self.props and args.channel_last
        p = {"out_maps": w[0], "kernel_shape": list(w[1:-1] if channel_last else w[2:]),
             **self.window_from_nntxt(args, params)}
        group = args.group or 1
        if "group" in self.props:
            p["group"] = group
        elif group != 1:
            raise Unconvertible(f"group {group} (NNC's {self.type_name()} has no group property)")
        if "channel_last" in self.props:
            p["channel_last"] = channel_last
        return p

    def macs(self, in_shapes, out_shape, p):
        ch = _spatial(in_shapes[0], len(p["kernel_shape"]), p.get("channel_last", False))[0]
        connected = 1 if self.depthwise else (p["out_maps"] if self.transposed else ch) // p.get("group", 1)
        dense = in_shapes[0] if self.transposed else out_shape
        return size_of(dense) * connected * size_of(p["kernel_shape"])


def _check_groups(channels, p):
    g = p["group"]
    if channels % g or p["out_maps"] % g:
        raise ShapeError(f"group {g} must divide the input channels ({channels}) and out_maps ({p['out_maps']}).",
                         fix="choose a group that divides both.")


def _pad_list(values, n):
    return values if len(values) == n else [values[0]] * n


def _assemble(lead, ch, spatial, channel_last):
    return tuple(lead) + ((*spatial, ch) if channel_last else (ch, *spatial))


class Convolution(ConvolutionBase):
    mutation_traits = frozenset({"basic", "insertion_site", "convolution", "sets_size"})
    searchable = ("out_maps", "kernel_shape")
    doc = "N-D convolution (nnabla `convolution`); parameters `<scope>/conv/W` and `/b`."
    props = {
        "out_maps": Prop("pint", 16, "Number of output feature maps.", "OutMaps"),
        "kernel_shape": Prop("pints", [3, 3], "Kernel size per spatial axis.", "KernelShape"),
        "border_mode": Prop("option", "same", "How padding is derived when `padding` is not given.",
                            "BorderMode", options=("valid", "full", "same")),
        "padding": Prop("uints", None, "Zero padding per spatial axis.", "Padding",
                        derived="from border_mode: valid 0, same (k-1)/2, full k-1 (times dilation)"),
        **_GROUPED_TAIL,
        **parameter_props(**WEIGHT_AND_BIAS_CONV),
        **pin_props("W", "b"),
    }
    side_pins = ("W", "b")

    def from_nntxt(self, args, ins, out, params):
        return self.forward_from_nntxt(args, params)

    def infer_shape(self, in_shapes, p):
        ch, out, lead = self._output_spatial(in_shapes[0], p)
        _check_groups(ch, p)
        return _assemble(lead, p["out_maps"], out, p["channel_last"])

    def parameters(self, in_shapes, p):
        ch = _spatial(in_shapes[0], len(p["kernel_shape"]), p["channel_last"])[0]
        k = tuple(p["kernel_shape"])
        w = (p["out_maps"], *k, ch // p["group"]) if p["channel_last"] else (p["out_maps"], ch // p["group"], *k)
        specs = [ParamSpec("conv/W", w, fans=(ch, p["out_maps"], k))]
        if p["with_bias"]:
            specs.append(ParamSpec("conv/b", (p["out_maps"],)))
        return specs

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        common = dict(pad=tuple(p["padding"]), stride=tuple(p["strides"]), dilation=tuple(p["dilation"]),
                      group=p["group"], channel_last=p["channel_last"], base_axis=x.ndim - len(p["kernel_shape"]) - 1)
        if not ctx.pins:
            return ctx.PF.convolution(x, p["out_maps"], tuple(p["kernel_shape"]), with_bias=p["with_bias"], **common)
        # a linked W or b pin: the function, which takes them, instead of the parametric one, which makes them
        bias = parameter_variable(ctx, "conv/b") if p["with_bias"] else None
        return ctx.F.convolution(x, parameter_variable(ctx, "conv/W"), bias, **common)


class DepthwiseConvolution(ConvolutionBase):
    mutation_traits = frozenset({"basic", "convolution"})
    searchable = ("kernel_shape",)     # its maps follow its input
    depthwise = True
    doc = "Per-channel convolution (nnabla `depthwise_convolution`); parameters `<scope>/depthwise_conv/W`, `/b`."
    props = {
        "kernel_shape": Prop("pints", [5, 5], "Kernel size per spatial axis.", "KernelShape"),
        "border_mode": Prop("option", "valid", "How padding is derived when `padding` is not given.",
                            "BorderMode", options=("valid", "full", "same")),
        "padding": Prop("uints", None, "Zero padding per spatial axis.", "Padding",
                        derived="from border_mode: valid 0, same (k-1)/2, full k-1 (times dilation)"),
        "strides": Prop("pints", [1, 1], "Stride per spatial axis.", "Strides"),
        "dilation": Prop("pints", [1, 1], "Dilation per spatial axis.", "Dilation"),
        "multiplier": Prop("pint", 1, "Output maps per input channel.", "Multiplier"),
        "with_bias": Prop("bool", True, "Add a bias term.", "WithBias"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(W=("NormalConvolutionGlorot", 1.0, DECONVOLUTION_INITIALIZERS),
                          b=("Constant", 0.0, PLAIN_INITIALIZERS)),
    }

    def from_nntxt(self, args, ins, out, params):
        return {"kernel_shape": list(params[0][1:]), "multiplier": args.multiplier or 1,
                **self.window_from_nntxt(args, params)}

    def infer_shape(self, in_shapes, p):
        if len(p["kernel_shape"]) > 2:   # nnabla rejects it when the graph is built
            raise ShapeError(f"kernel_shape {p['kernel_shape']} has {len(p['kernel_shape'])} axes, but nnabla's "
                             "depthwise convolution takes 1 or 2.",
                             fix="give kernel_shape 1 or 2 values, or use Convolution with group set to the "
                                 "number of input channels.")
        ch, out, lead = self._output_spatial(in_shapes[0], p)
        return _assemble(lead, ch * p["multiplier"], out, False)

    def parameters(self, in_shapes, p):
        ch = _spatial(in_shapes[0], len(p["kernel_shape"]), False)[0]
        maps = ch * p["multiplier"]
        specs = [ParamSpec("depthwise_conv/W", (maps, *p["kernel_shape"]),
                           fans=(ch, maps, tuple(p["kernel_shape"])))]
        if p["with_bias"]:
            specs.append(ParamSpec("depthwise_conv/b", (maps,)))
        return specs

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        k = tuple(p["kernel_shape"])
        return ctx.PF.depthwise_convolution(
            x, k, pad=tuple(p["padding"]), stride=tuple(p["strides"]), dilation=tuple(p["dilation"]),
            multiplier=p["multiplier"], base_axis=x.ndim - len(k) - 1, with_bias=p["with_bias"])


class Deconvolution(ConvolutionBase):
    mutation_traits = frozenset({"sets_size"})
    searchable = ("out_maps", "kernel_shape")
    transposed = True
    doc = "Transposed convolution (nnabla `deconvolution`); parameters `<scope>/deconv/W`, `/b`."
    props = {
        "out_maps": Prop("pint", 16, "Number of output feature maps.", "OutMaps"),
        "kernel_shape": Prop("pints", [5, 5], "Kernel size per spatial axis.", "KernelShape"),
        "padding": Prop("uints", [0, 0], "Padding removed from the output per spatial axis.", "Padding"),
        **_GROUPED_TAIL,
        **parameter_props(W=("NormalConvolutionHeForward", 1.0, DECONVOLUTION_INITIALIZERS),
                          b=("Constant", 0.0, PLAIN_INITIALIZERS)),
    }

    def from_nntxt(self, args, ins, out, params):
        if any(dims(args.output_padding)):
            raise Unconvertible("output_padding (NNC's Deconvolution has no such property)")
        w = params[0]     # (in, per group, *kernel), or (in, *kernel, per group) with channel_last
        group = args.group or 1
        per_group, kernel = (w[-1], w[1:-1]) if args.channel_last else (w[1], w[2:])
        return {"out_maps": per_group * group, "kernel_shape": list(kernel), "group": group,
                "channel_last": args.channel_last, **self.window_from_nntxt(args, params)}

    def infer_shape(self, in_shapes, p):
        ch, spatial, lead, k, pads, strides, dil = self._geometry(in_shapes[0], p)
        _check_groups(ch, p)
        out = [deconv_out(s, kernel=kk, pad=pp, stride=st, dilation=dd)
               for s, kk, pp, st, dd in zip(spatial, k, pads, strides, dil)]
        if min(out) < 1:
            raise ShapeError(f"padding {pads} removes the whole output (would be {out}).",
                             fix="use less padding.")
        return _assemble(lead, p["out_maps"], out, p["channel_last"])

    def parameters(self, in_shapes, p):
        ch = _spatial(in_shapes[0], len(p["kernel_shape"]), p["channel_last"])[0]
        k = tuple(p["kernel_shape"])
        per_group = p["out_maps"] // p["group"]
        w = (ch, *k, per_group) if p["channel_last"] else (ch, per_group, *k)
        specs = [ParamSpec("deconv/W", w, fans=(p["out_maps"], ch, k))]   # nnabla's convention: swapped
        if p["with_bias"]:
            specs.append(ParamSpec("deconv/b", (p["out_maps"],)))
        return specs

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        k = tuple(p["kernel_shape"])
        return ctx.PF.deconvolution(
            x, p["out_maps"], k, pad=tuple(p["padding"]), stride=tuple(p["strides"]),
            dilation=tuple(p["dilation"]), group=p["group"], channel_last=p["channel_last"],
            base_axis=x.ndim - len(k) - 1, with_bias=p["with_bias"])


LAYERS = [Convolution, DepthwiseConvolution, Deconvolution]
