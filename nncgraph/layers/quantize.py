"""Quantization layers: fixed-point, min-max and power-of-2 quantizers, binary weights and activations."""
from __future__ import annotations

import dataclasses

from .affine import AffineBase
from .base import (AFFINE_INITIALIZERS, CONVOLUTION_INITIALIZERS, DECONVOLUTION_INITIALIZERS, PARAMETER_SCOPE,
                   PLAIN_INITIALIZERS, Layer, ParamSpec, Prop, ShapeError, parameter_props, size_of)
from .convolution import ConvolutionBase, _assemble, _spatial
from .nntxt import Unconvertible, fields


def _frozen(props, *names):
    """NNC's LRateMultiplier default 0 for parameters nnabla never trains (Wb, the quantization levels)."""
    return {k: dataclasses.replace(v, default=0.0) if k in {f"{n.lower()}_lrate_multiplier" for n in names} else v
            for k, v in props.items()}


_STE = Prop("bool", True, "Backward passes the gradient only inside the representable range (otherwise "
            "everywhere).", "STEFineGrained")


# -- binary weights ---------------------------------------------------------------
# nnabla keeps the trained float weights W and writes their binarized copy Wb in every forward pass;
# Wb (and BinaryWeight's scale alpha) are never trained.
class _Binarized:
    """What the binary affines and convolutions add to their float bases: the parameters Wb (and alpha)
    beside W, and nnabla's quantize_zero_to, which NNC leaves at 1 (a zero weight binarizes to +1)."""
    pf_scope = ""
    with_alpha = False

    @property
    def weight_inputs(self):
        return 3 if self.with_alpha else 2      # W, Wb (and alpha) come before the bias

    def check_zero_to(self, args):
        if args.quantize_zero_to != 1.0:
            raise Unconvertible(f"quantize_zero_to {args.quantize_zero_to:g} (NNC's {self.type_name()} has no "
                                "such property: it binarizes zero weights to +1)")


class _BinaryAffine(_Binarized, AffineBase):
    category = "Quantize"
    props = {
        "out_shape": Prop("pints", [100], "Output shape (a number, or a list for a multi-axis output).", "OutShape"),
        "with_bias": Prop("bool", True, "Add a bias term.", "WithBias"),
        "parameter_scope": PARAMETER_SCOPE,
        **_frozen(parameter_props(W=("UniformAffineGlorot", 1.0, AFFINE_INITIALIZERS),
                                  Wb=("Constant", 0.0, AFFINE_INITIALIZERS), b=("Constant", 0.0, PLAIN_INITIALIZERS)),
                  "Wb"),
    }

    def from_nntxt(self, args, ins, out, params):
        self.check_zero_to(args)
        return super().from_nntxt(args, ins, out, params)

    def parameters(self, in_shapes, p):
        out = tuple(p["out_shape"])
        w = (size_of(in_shapes[0]), *out)
        specs = [ParamSpec(f"{self.pf_scope}/W", w), ParamSpec(f"{self.pf_scope}/Wb", w, trainable=False)]
        if self.with_alpha:
            specs.append(ParamSpec(f"{self.pf_scope}/alpha", out, trainable=False))
        if p["with_bias"]:
            specs.append(ParamSpec(f"{self.pf_scope}/b", out))
        return specs


class BinaryConnectAffine(_BinaryAffine):
    doc = ("Affine with the signs (+1/-1) of its weights, `<scope>/bicon_affine/W`; the binarized copy is "
           "`Wb`, the bias `b`.")
    pf_scope = "bicon_affine"

    def emit(self, ctx, inputs, p):
        return ctx.PF.binary_connect_affine(inputs[0], tuple(p["out_shape"]), base_axis=1, with_bias=p["with_bias"])


class BinaryWeightAffine(_BinaryAffine):
    doc = ("Affine with the signs of its weights scaled per output by their mean absolute value (XNOR-Net); "
           "parameters `<scope>/bwn_affine/W`, `Wb`, `alpha`, `b`.")
    pf_scope = "bwn_affine"
    with_alpha = True

    def emit(self, ctx, inputs, p):
        return ctx.PF.binary_weight_affine(inputs[0], tuple(p["out_shape"]), base_axis=1, with_bias=p["with_bias"])


class _BinaryConvolution(_Binarized, ConvolutionBase):
    category = "Quantize"
    shape_rule = "like Convolution (group 1, channels first)"
    props = {
        "out_maps": Prop("pint", 16, "Number of output feature maps.", "OutMaps"),
        "kernel_shape": Prop("pints", [5, 5], "Kernel size per spatial axis.", "KernelShape"),
        "with_bias": Prop("bool", True, "Add a bias term.", "WithBias"),
        "border_mode": Prop("option", "valid", "How padding is derived when `padding` is not given.",
                            "BorderMode", options=("valid", "full", "same")),
        "padding": Prop("uints", None, "Zero padding per spatial axis.", "Padding",
                        derived="from border_mode: valid 0, same (k-1)/2, full k-1 (times dilation)"),
        "strides": Prop("pints", [1, 1], "Stride per spatial axis.", "Strides"),
        "dilation": Prop("pints", [1, 1], "Dilation per spatial axis.", "Dilation"),
        "parameter_scope": PARAMETER_SCOPE,
        **_frozen(parameter_props(W=("UniformConvolutionGlorot", 1.0, CONVOLUTION_INITIALIZERS),
                                  Wb=("Constant", 0.0, DECONVOLUTION_INITIALIZERS),
                                  b=("Constant", 0.0, PLAIN_INITIALIZERS)), "Wb"),
    }

    def from_nntxt(self, args, ins, out, params):
        self.check_zero_to(args)
        return self.forward_from_nntxt(args, params)

    def infer_shape(self, in_shapes, p):
        _, out, lead = self._output_spatial(in_shapes[0], p)
        return _assemble(lead, p["out_maps"], out, False)

    def parameters(self, in_shapes, p):
        ch = _spatial(in_shapes[0], len(p["kernel_shape"]), False)[0]
        k = tuple(p["kernel_shape"])
        w = (p["out_maps"], ch, *k)
        fans = (ch, p["out_maps"], k)
        specs = [ParamSpec(f"{self.pf_scope}/W", w, fans=fans),
                 ParamSpec(f"{self.pf_scope}/Wb", w, trainable=False, fans=fans)]
        if self.with_alpha:
            specs.append(ParamSpec(f"{self.pf_scope}/alpha", (p["out_maps"],), trainable=False))
        if p["with_bias"]:
            specs.append(ParamSpec(f"{self.pf_scope}/b", (p["out_maps"],)))
        return specs

    def _args(self, x, p):
        k = tuple(p["kernel_shape"])
        return dict(outmaps=p["out_maps"], kernel=k, pad=tuple(p["padding"]), stride=tuple(p["strides"]),
                    dilation=tuple(p["dilation"]), base_axis=x.ndim - len(k) - 1, with_bias=p["with_bias"])


class BinaryConnectConvolution(_BinaryConvolution):
    doc = ("Convolution with the signs (+1/-1) of its weights, `<scope>/bicon_conv/W`; the binarized copy is "
           "`Wb`, the bias `b`.")
    pf_scope = "bicon_conv"

    def emit(self, ctx, inputs, p):
        return ctx.PF.binary_connect_convolution(inputs[0], **self._args(inputs[0], p))


class BinaryWeightConvolution(_BinaryConvolution):
    doc = ("Convolution with the signs of its weights scaled per output map by their mean absolute value "
           "(XNOR-Net); parameters `<scope>/bwn_conv/W`, `Wb`, `alpha`, `b`.")
    pf_scope = "bwn_conv"
    with_alpha = True

    def emit(self, ctx, inputs, p):
        return ctx.PF.binary_weight_convolution(inputs[0], **self._args(inputs[0], p))


# -- binary activations -------------------------------------------------------------
class BinarySigmoid(Layer):
    category = "Quantize"
    doc = "1 where the input is positive, else 0; the backward pass uses the gradient of a hard sigmoid."

    def emit(self, ctx, inputs, p):
        return ctx.F.binary_sigmoid(inputs[0])


class BinaryTanh(Layer):
    category = "Quantize"
    doc = "1 where the input is positive, else -1; the backward pass uses the gradient of a hard tanh."

    def emit(self, ctx, inputs, p):
        return ctx.F.binary_tanh(inputs[0])


# -- quantizers ---------------------------------------------------------------------
class FixedPointQuantize(Layer):
    category = "Quantize"
    doc = "Rounds to the nearest multiple of `delta` within the range of an n-bit fixed-point number."
    props = {
        "sign": Prop("bool", True, "Signed: n bits include a sign bit (range +-(2^(n-1) - 1) * delta); "
                     "unsigned: 0 to (2^n - 1) * delta.", "Sign"),
        "n": Prop("pint", 8, "Number of bits.", "N"),
        "delta": Prop("float", 0.0625, "Step between representable values.", "Delta"),
        "ste_fine_grained": _STE,
    }
    from_nntxt = fields("sign", "n", "delta", "ste_fine_grained")

    def infer_shape(self, in_shapes, p):
        if p["delta"] <= 0:      # nnabla refuses it only when the graph is built
            raise ShapeError(f"delta must be above 0, got {p['delta']}.", fix="use e.g. 0.0625 (1/16).")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.fixed_point_quantize(inputs[0], sign=p["sign"], n=p["n"], delta=p["delta"],
                                          ste_fine_grained=p["ste_fine_grained"])


_POW2_FIELDS = fields("sign", "with_zero", "n", "m", "ste_fine_grained")


class Pow2Quantize(Layer):
    category = "Quantize"
    doc = "Rounds each value to a signed power of two (or zero) representable in n bits with largest exponent m."
    props = {
        "sign": Prop("bool", True, "Keep the sign (one of the n bits).", "Sign"),
        "with_zero": Prop("bool", True, "Zero is representable (one code of the n bits).", "WithZero"),
        "n": Prop("pint", 8, "Number of bits.", "N"),
        "m": Prop("uint", 1, "Largest exponent: values are at most 2^m.", "M"),
        "ste_fine_grained": _STE,
    }

    def from_nntxt(self, args, ins, out, params):
        if args.m < 0:
            raise Unconvertible(f"m {args.m} (NNC's Pow2Quantize takes a largest exponent of 0 or more)")
        return _POW2_FIELDS(self, args, ins, out, params)

    def infer_shape(self, in_shapes, p):
        spent = int(p["sign"]) + int(p["with_zero"])
        if p["n"] <= spent:     # nnabla needs a bit left for the exponents
            raise ShapeError(f"n = {p['n']} bits leave none for the exponents: the sign and zero take {spent}.",
                             fix=f"use n: {spent + 1} or more (NNC's default is 8).")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.pow2_quantize(inputs[0], sign=p["sign"], with_zero=p["with_zero"], n=p["n"], m=p["m"],
                                   ste_fine_grained=p["ste_fine_grained"])


def _renamed(props, nnc_names):
    """NNC calls the min-max parameters r, R, l, L, whose snake_case names would collide (r, R); the keys
    follow nnabla's parameter names instead, which is also what the compiler looks them up by."""
    return {k: dataclasses.replace(v, nnc=nnc_names[v.nnc.split(".")[0]] + "." + v.nnc.split(".", 1)[1])
            for k, v in props.items()}


_MIN_MAX_PARAMS = (("qr_min", "r", -6.0, True), ("qr_max", "R", 6.0, True),
                   ("ql_min", "l", 0.0, False), ("ql_max", "L", 255.0, False))


class MinMaxQuantize(Layer):
    category = "Quantize"
    doc = ("Quantizes uniformly between the range `<scope>/min_max_quantize/qr_min`..`qr_max` onto the levels "
           "`ql_min`..`ql_max`; the range is trained, or taken from the inputs' min and max.")
    props = {
        "decay": Prop("float", 0.999, "Decay of the moving average of the range (x_min_max and ema).", "Decay"),
        "x_min_max": Prop("bool", False, "Take the range from each batch's min and max.", "XMinMax"),
        "ema": Prop("bool", False, "With x_min_max: keep a moving average of the range (updated in training, "
                    "used as is in validation).", "EMA"),
        "ste_fine_grained": _STE,
        "epsilon": Prop("float", 0.01, "Smallest allowed width of the range.", "Epsilon"),
        # NNC has no ParameterScope here; a scope per layer keeps two quantizers from sharing ranges
        "parameter_scope": PARAMETER_SCOPE,
        **_renamed(_frozen(parameter_props(**{name: ("Constant", value, PLAIN_INITIALIZERS)
                                              for name, _, value, _ in _MIN_MAX_PARAMS}), "ql_min", "ql_max"),
                   {name: nnc for name, nnc, _, _ in _MIN_MAX_PARAMS}),
    }
    # The ranges and levels are parameter inputs, not arguments: their shapes follow the input and their
    # values travel with the parameters. An averaged range's validation network (emit) says x_min_max
    # false; the import reads the network the optimizer trains, which says true.
    from_nntxt = fields("decay", "x_min_max", "ema", "ste_fine_grained", "eps", rename={"eps": "epsilon"})

    def parameters(self, in_shapes, p):
        shape = (1,) * (len(in_shapes[0]) + 1)
        averaged = p["x_min_max"] and p["ema"]
        return [ParamSpec(f"min_max_quantize/{name}", shape, trainable=range_ and not averaged)
                for name, _, _, range_ in _MIN_MAX_PARAMS]

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        kw = dict(decay=p["decay"], ste_fine_grained=p["ste_fine_grained"], eps=p["epsilon"])
        if ctx.train or not (p["x_min_max"] and p["ema"]):
            return ctx.PF.min_max_quantize(x, x_min_max=p["x_min_max"], ema=p["ema"], **kw)
        # Validation uses the averaged range without folding validation batches into it, as
        # BatchNormalization does. PF.min_max_quantize would re-create the ranges as trainable for these
        # flags, so they are fetched directly: the compiler has created them (the initializers, PF's
        # defaults, serve only a direct use without the compiler).
        shape = (1,) * x.ndim
        with ctx.nn.parameter_scope("min_max_quantize"):
            q = {name: ctx.nn.parameter.get_parameter_or_create(
                name, shape, ctx.I.ConstantInitializer(value), False) for name, _, value, _ in _MIN_MAX_PARAMS}
        return ctx.F.min_max_quantize(x, q["qr_min"], q["qr_max"], q["ql_min"], q["ql_max"],
                                      x_min_max=False, ema=True, **kw)


LAYERS = [BinaryConnectAffine, BinaryConnectConvolution, BinarySigmoid, BinaryTanh, BinaryWeightAffine,
          BinaryWeightConvolution, FixedPointQuantize, MinMaxQuantize, Pow2Quantize]
