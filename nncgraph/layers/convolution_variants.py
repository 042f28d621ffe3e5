"""Basic layers beside the plain convolutions: DeformableConvolution, DepthwiseDeconvolution,
AdaptiveSeparableConvolution and Embed.

NNC feeds the offsets and masks of DeformableConvolution and the kernels of
AdaptiveSeparableConvolution through side connectors with their own Dataset and
Generator properties; nncgraph takes them as ordinary inputs instead, so they
come from other layers (an Input layer reads a dataset variable).
"""
from __future__ import annotations

from .base import (CONVOLUTION_INITIALIZERS, DECONVOLUTION_INITIALIZERS, PARAMETER_SCOPE, PLAIN_INITIALIZERS, Layer,
                   ParamSpec, Prop, ShapeError, parameter_props, size_of)
from .convolution import ConvolutionBase, _assemble, _spatial
from .shape_rules import deconv_out


def _per_axis(p, names, n):
    for name in names:
        if len(p[name]) != n:
            raise ShapeError(f"{name} has {len(p[name])} values but kernel_shape has {n}.",
                             fix=f"give {name} {n} values.")


def _side_input(shape, want, what, fix):
    if tuple(shape) != tuple(want):
        raise ShapeError(f"expects the {what} input of shape {list(want)}, got {list(shape)}.", fix=fix)


class DeformableConvolution(ConvolutionBase):
    doc = ("2-D convolution whose sampling positions move by per-pixel offsets (second input) and, optionally, "
           "are weighted by a mask (third input); parameters `<scope>/deformable_conv/W` and `/b`.")
    shape_rule = ("like Convolution; the offset input is (2 * kernel size * deformable_group, H, W) and the mask "
                  "(kernel size * deformable_group, H, W), both at the input's H and W")
    n_inputs = (2, 3)
    props = {
        "out_maps": Prop("pint", 16, "Number of output feature maps.", "OutMaps"),
        "kernel_shape": Prop("pints", [3, 3], "Kernel size (rows, columns).", "KernelShape"),
        "border_mode": Prop("option", "same", "How padding is derived when `padding` is not given.",
                            "BorderMode", options=("valid", "full", "same")),
        "padding": Prop("uints", None, "Zero padding per spatial axis.", "Padding",
                        derived="from border_mode: valid 0, same (k-1)/2, full k-1 (times dilation)"),
        "strides": Prop("pints", [1, 1], "Stride per spatial axis.", "Strides"),
        "dilation": Prop("pints", [1, 1], "Dilation per spatial axis.", "Dilation"),
        "group": Prop("pint", 1, "Number of groups of channels.", "Group"),
        "deformable_group": Prop("pint", 1, "Number of channel groups with their own offsets.", "DeformableGroup"),
        "channel_last": Prop("bool", False, "Channels are the last axis (nnabla has no CPU kernel for it).",
                             "ChannelLast"),
        "with_bias": Prop("bool", True, "Add a bias term.", "WithBias"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(W=("NormalConvolutionGlorot", 1.0, CONVOLUTION_INITIALIZERS),
                          b=("Constant", 0.0, PLAIN_INITIALIZERS)),
    }

    def from_nntxt(self, args, ins, out, params):
        return {**self.forward_from_nntxt(args, params), "deformable_group": args.deformable_group or 1}

    def infer_shape(self, in_shapes, p):
        x = in_shapes[0]
        k = p["kernel_shape"]
        if len(k) != 2 or len(x) != 3:
            raise ShapeError(f"is 2-D only in nnabla: it takes a 3-axis input and a 2-value kernel_shape, got "
                             f"input {list(x)} and kernel_shape {k}.",
                             fix="use a (channels, height, width) input and a 2-value kernel_shape.")
        ch, spatial, lead, k, pads, strides, dil = self._geometry(x, p)
        for what, n in (("group", p["group"]), ("deformable_group", p["deformable_group"])):
            if ch % n:
                raise ShapeError(f"{what} {n} must divide the {ch} input channels.", fix=f"choose a {what} "
                                 "that divides the channels.")
        if p["out_maps"] % p["group"]:
            raise ShapeError(f"group {p['group']} must divide out_maps ({p['out_maps']}).",
                             fix="choose a group that divides both.")
        taps = size_of(k) * p["deformable_group"]
        fix = "the offsets and mask are per input pixel: give them the input's height and width."
        _side_input(in_shapes[1], _assemble(lead, 2 * taps, spatial, p["channel_last"]), "offset (second)", fix)
        if len(in_shapes) == 3:
            _side_input(in_shapes[2], _assemble(lead, taps, spatial, p["channel_last"]), "mask (third)", fix)
        _, out, _ = self._output_spatial(x, p)
        return _assemble(lead, p["out_maps"], out, p["channel_last"])

    def parameters(self, in_shapes, p):
        ch = _spatial(in_shapes[0], 2, p["channel_last"])[0]
        k = tuple(p["kernel_shape"])
        per_group = ch // p["group"]
        w = (p["out_maps"], *k, per_group) if p["channel_last"] else (p["out_maps"], per_group, *k)
        specs = [ParamSpec("deformable_conv/W", w, fans=(ch, p["out_maps"], k))]
        if p["with_bias"]:
            specs.append(ParamSpec("deformable_conv/b", (p["out_maps"],)))
        return specs

    def emit(self, ctx, inputs, p):
        mask = inputs[2] if len(inputs) == 3 else None
        return ctx.PF.deformable_convolution(
            inputs[0], p["out_maps"], tuple(p["kernel_shape"]), inputs[1], mask, pad=tuple(p["padding"]),
            stride=tuple(p["strides"]), dilation=tuple(p["dilation"]), group=p["group"],
            deformable_group=p["deformable_group"], channel_last=p["channel_last"], with_bias=p["with_bias"])


class DepthwiseDeconvolution(ConvolutionBase):
    transposed = True
    depthwise = True
    doc = ("Per-channel transposed convolution; every `divisor` input channels sum into one output channel; "
           "parameters `<scope>/depthwise_deconv/W` and `/b`.")
    shape_rule = "channels / divisor maps; each spatial axis stride * (n - 1) + dilation * (k - 1) + 1 - 2 * pad"
    props = {
        "kernel_shape": Prop("pints", [5, 5], "Kernel size per spatial axis (1 or 2 axes).", "KernelShape"),
        "padding": Prop("uints", [0, 0], "Padding removed from the output per spatial axis.", "Padding"),
        "strides": Prop("pints", [1, 1], "Stride per spatial axis.", "Strides"),
        "dilation": Prop("pints", [1, 1], "Dilation per spatial axis.", "Dilation"),
        "divisor": Prop("pint", 1, "Input channels per output channel.", "Divisor"),
        "with_bias": Prop("bool", True, "Add a bias term.", "WithBias"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(W=("NormalConvolutionHeForward", 1.0, DECONVOLUTION_INITIALIZERS),
                          b=("Constant", 0.0, PLAIN_INITIALIZERS)),
    }

    def from_nntxt(self, args, ins, out, params):
        return {"kernel_shape": list(params[0][1:]), "divisor": args.divisor or 1,    # W: (channels, *kernel)
                **self.window_from_nntxt(args, params)}

    def infer_shape(self, in_shapes, p):
        k = p["kernel_shape"]
        if len(k) > 2:   # nnabla refuses it when the graph is built
            raise ShapeError(f"kernel_shape {k} has {len(k)} axes, but nnabla's depthwise deconvolution takes 1 or 2.",
                             fix="give kernel_shape 1 or 2 values.")
        _per_axis(p, ("padding", "strides", "dilation"), len(k))
        ch, spatial, lead = _spatial(in_shapes[0], len(k), False)
        if ch % p["divisor"]:
            raise ShapeError(f"divisor {p['divisor']} must divide the {ch} input channels.",
                             fix="choose a divisor that divides the channels.")
        out = [deconv_out(s, kernel=kk, pad=pp, stride=st, dilation=dd)
               for s, kk, pp, st, dd in zip(spatial, k, p["padding"], p["strides"], p["dilation"])]
        if min(out) < 1:
            raise ShapeError(f"padding {p['padding']} removes the whole output (would be {out}).",
                             fix="use less padding.")
        return _assemble(lead, ch // p["divisor"], out, False)

    def parameters(self, in_shapes, p):
        k = tuple(p["kernel_shape"])
        ch = _spatial(in_shapes[0], len(k), False)[0]
        maps = ch // p["divisor"]
        specs = [ParamSpec("depthwise_deconv/W", (ch, *k), fans=(maps, ch, k))]   # swapped, as for Deconvolution
        if p["with_bias"]:
            specs.append(ParamSpec("depthwise_deconv/b", (maps,)))
        return specs

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        k = tuple(p["kernel_shape"])
        return ctx.PF.depthwise_deconvolution(
            x, k, pad=tuple(p["padding"]), stride=tuple(p["strides"]), dilation=tuple(p["dilation"]),
            divisor=p["divisor"], base_axis=x.ndim - len(k) - 1, with_bias=p["with_bias"])


class AdaptiveSeparableConvolution(Layer):
    side_pins = ("V", "H")
    category = "Basic"
    doc = ("Convolves each pixel with its own separable kernel: the vertical (second input) times the "
           "horizontal (third input) 1-D kernel, shared by all channels.")
    shape_rule = "(C, H - kv + 1, W - kh + 1) for input (C, H, W) and kernel_shape [kv, kh]"
    n_inputs = 3
    props = {
        "kernel_shape": Prop("pints", [3, 3], "Vertical and horizontal kernel sizes [kv, kh]; the kernel inputs' "
                             "first axes.", "KernelShape"),
        # NNC lists it although the layer has no parameters; kept so NNC projects load unchanged
        "parameter_scope": PARAMETER_SCOPE,
    }

    def from_nntxt(self, args, ins, out, params):
        return {"kernel_shape": [ins[1][0], ins[2][0]]}    # the function has no arguments: the kernel inputs say it

    def infer_shape(self, in_shapes, p):
        k = p["kernel_shape"]
        if len(k) != 2:
            raise ShapeError(f"kernel_shape must have 2 values [vertical, horizontal], got {k}.",
                             fix="give kernel_shape 2 values.")
        x, v, h = in_shapes
        if any(len(s) != 3 for s in in_shapes):
            raise ShapeError(f"takes 3-axis inputs: the image (C, H, W) and kernels (k, h, w); got "
                             f"{[list(s) for s in in_shapes]}.", fix="check the layers before it.")
        c, height, width = x
        out_h, out_w = height - k[0] + 1, width - k[1] + 1
        if out_h < 1 or out_w < 1:
            raise ShapeError(f"kernel_shape {k} is larger than the input {list(x)}.", fix="use a smaller kernel.")
        for what, s, kk in (("vertical (second)", v, k[0]), ("horizontal (third)", h, k[1])):
            if s[0] != kk or not (out_h <= s[1] <= height and out_w <= s[2] <= width):
                raise ShapeError(f"expects the {what} kernel input of shape ({kk}, {out_h}..{height}, "
                                 f"{out_w}..{width}), got {list(s)}.",
                                 fix=f"give it kernel_shape's {kk} values per output pixel, or change kernel_shape.")
        return (c, out_h, out_w)

    def macs(self, in_shapes, out_shape, p):
        return size_of(out_shape) * size_of(p["kernel_shape"])

    def emit(self, ctx, inputs, p):
        return ctx.F.adaptive_separable_convolution(*inputs)


class Embed(Layer):
    category = "Basic"
    doc = "Looks up a row of `<scope>/embed/W` for each integer class index in the input."
    shape_rule = "the input shape followed by `shape`"
    props = {
        "num_class": Prop("pint", 100, "Number of classes; indices run from 0 to num_class - 1.", "NumClass"),
        "shape": Prop("pints", [32], "Shape of the vector each index maps to.", "Shape"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(W=("Uniform", 1.0, PLAIN_INITIALIZERS)),
    }

    def from_nntxt(self, args, ins, out, params):
        return {"num_class": params[0][0], "shape": list(params[0][1:])}

    def infer_shape(self, in_shapes, p):
        return tuple(in_shapes[0]) + tuple(p["shape"])

    def parameters(self, in_shapes, p):
        return [ParamSpec("embed/W", (p["num_class"], *p["shape"]))]

    def emit(self, ctx, inputs, p):
        # PF.embed allows one feature axis only; a multi-axis `shape` needs W of (num_class, *shape), so the
        # parameter is fetched directly. The compiler has created it already; the initializer (NNC's default,
        # uniform in (-1, 1)) serves only a direct use without the compiler.
        with ctx.nn.parameter_scope("embed"):
            w = ctx.nn.parameter.get_parameter_or_create(
                "W", (p["num_class"], *p["shape"]), ctx.I.UniformInitializer((-1.0, 1.0)), True)
        return ctx.F.embed(inputs[0], w)


LAYERS = [DeformableConvolution, DepthwiseDeconvolution, AdaptiveSeparableConvolution, Embed]
