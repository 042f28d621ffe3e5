"""Activation layers: elementwise and shape-preserving (Softmax along an axis), except
CReLU and CELU, which concatenate two activations and so double one axis."""
from __future__ import annotations

from .base import PARAMETER_SCOPE, PLAIN_INITIALIZERS, Layer, ParamSpec, Prop, channel_axis, parameter_props
from .nntxt import axis, axis_only


class _Elementwise(Layer):
    category = "Activation"
    function = ""          # nnabla.functions name
    arg_props = {}         # {nnabla argument: property name}

    def from_nntxt(self, args, ins, out, params):
        return {prop: getattr(args, arg) for arg, prop in self.arg_props.items()}

    def emit(self, ctx, inputs, p):
        kwargs = {arg: p[prop] for arg, prop in self.arg_props.items()}
        return getattr(ctx.F, self.function)(inputs[0], **kwargs)


def _simple(name, function, doc, props=None, args=None, traits=()):
    return type(name, (_Elementwise,), {
        "function": function, "doc": doc, "props": props or {}, "arg_props": args or {},
        "mutation_traits": frozenset(traits), "__module__": __name__})


# NNC's structure search inserts the first kind, removes the second; both keep the channel count
_INSERTED = ("activation", "keeps_channels")
_INSERTED_AND_REMOVED = ("activation", "removable_activation", "keeps_channels")


ReLU = _simple("ReLU", "relu", "max(x, 0).",
               {"in_place": Prop("bool", False, "Accepted for NNC projects; nnabla plans memory itself, so it "
                                 "changes nothing.", "InPlace")}, traits=_INSERTED_AND_REMOVED)
LeakyReLU = _simple("LeakyReLU", "leaky_relu", "x if x > 0 else alpha * x.",
                    {"alpha": Prop("float", 0.1, "Slope for negative inputs.", "Alpha")}, {"alpha": "alpha"},
                    traits=_INSERTED)
ELU = _simple("ELU", "elu", "x if x > 0 else alpha * (exp(x) - 1).",
              {"alpha": Prop("float", 1.0, "Scale of the negative part.", "Alpha")}, {"alpha": "alpha"},
              traits=_INSERTED_AND_REMOVED)
SELU = _simple("SELU", "selu", "scale * (x if x > 0 else alpha * (exp(x) - 1)).",
               {"scale": Prop("float", 1.05070098735548, "Output scale.", "Scale"),
                "alpha": Prop("float", 1.673263242354377, "Scale of the negative part.", "Alpha")},
               {"scale": "scale", "alpha": "alpha"}, traits=_INSERTED)
Swish = _simple("Swish", "swish", "x * sigmoid(x).", traits=_INSERTED)
Sigmoid = _simple("Sigmoid", "sigmoid", "1 / (1 + exp(-x)).", traits=("keeps_channels",))
Tanh = _simple("Tanh", "tanh", "Hyperbolic tangent.", traits=_INSERTED_AND_REMOVED)
HardTanh = _simple("HardTanh", "hard_tanh", "x clipped to [-1, 1].")
TanhShrink = _simple("TanhShrink", "tanh_shrink", "x - tanh(x).")
HardSigmoid = _simple("HardSigmoid", "hard_sigmoid", "0.2 * x + 0.5, clipped to [0, 1].")
LogSigmoid = _simple("LogSigmoid", "log_sigmoid", "log(sigmoid(x)), computed stably.")
Abs = _simple("Abs", "abs", "|x|.", traits=("removable_activation", "keeps_channels"))
ReLU6 = _simple("ReLU6", "relu6", "min(max(x, 0), 6).")
GELU = _simple("GELU", "gelu", "Gaussian error linear unit x * P(N(0, 1) < x), in its tanh approximation "
                               "x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) / 2.")
SoftPlus = _simple("SoftPlus", "softplus", "log(1 + exp(x)).")
SoftSign = _simple("SoftSign", "softsign", "x / (1 + |x|).")
Sinc = _simple("Sinc", "sinc", "sin(x) / x (unnormalised: no pi), 1 at x = 0.")
Mish = _simple("Mish", "mish", "x * tanh(log(1 + exp(x))).")


class _AlongAxis(Layer):
    category = "Activation"
    function = ""
    props = {"axis": Prop("uint", 0, "Axis (0 = first axis after the batch).", "Axis")}

    from_nntxt = axis_only

    def infer_shape(self, in_shapes, p):
        channel_axis(p["axis"], in_shapes[0])
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], axis=p["axis"] + 1)


class Softmax(_AlongAxis):
    doc = "exp(x) normalised to sum 1 along `axis`."
    function = "softmax"


class LogSoftmax(_AlongAxis):
    doc = "log(softmax(x)) along `axis`, computed stably."
    function = "log_softmax"


class _Doubling(Layer):
    """Two activations of x and -x concatenated along `axis`, which doubles that axis."""

    category = "Activation"
    shape_rule = "input with axis `axis` doubled"

    def infer_shape(self, in_shapes, p):
        shape = list(in_shapes[0])
        shape[channel_axis(p["axis"], in_shapes[0]) - 1] *= 2
        return tuple(shape)


class CReLU(_Doubling):
    doc = "ReLU of x and of -x, concatenated along `axis` (which doubles in size)."
    props = {"axis": Prop("uint", 0, "Axis to concatenate along (0 = first axis after the batch).", "Axis")}
    from_nntxt = axis_only

    def emit(self, ctx, inputs, p):
        return ctx.F.crelu(inputs[0], axis=p["axis"] + 1)


class CELU(_Doubling):
    doc = "ELU of x and of -x, concatenated along `axis` (which doubles in size)."
    props = {"alpha": Prop("float", 1.0, "Scale of the negative part of each ELU.", "Alpha"),
             "axis": Prop("uint", 0, "Axis to concatenate along (0 = first axis after the batch).", "Axis")}

    def from_nntxt(self, args, ins, out, params):
        return {"alpha": args.alpha, "axis": axis(args.axis)}

    def emit(self, ctx, inputs, p):
        return ctx.F.celu(inputs[0], alpha=p["alpha"], axis=p["axis"] + 1)


class PReLU(Layer):
    mutation_traits = frozenset({"activation", "keeps_channels"})
    category = "Activation"
    doc = "Leaky ReLU with a learned slope per channel; parameter `<scope>/prelu/slope`."
    props = {
        "base_axis": Prop("uint", 0, "Axis holding the channels (one slope each).", "BaseAxis"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(slope=("Constant", 0.25, PLAIN_INITIALIZERS)),
    }

    def from_nntxt(self, args, ins, out, params):
        return {"base_axis": axis(args.base_axis) if args.base_axis else 0}

    def infer_shape(self, in_shapes, p):
        channel_axis(p["base_axis"], in_shapes[0], "base_axis")
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        return [ParamSpec("prelu/slope", (in_shapes[0][p["base_axis"]],))]

    def emit(self, ctx, inputs, p):
        return ctx.PF.prelu(inputs[0], base_axis=p["base_axis"] + 1, shared=False)


# NNC's palette order
LAYERS = [Tanh, HardTanh, TanhShrink, Sigmoid, HardSigmoid, LogSigmoid, Abs, ReLU, CReLU, LeakyReLU, PReLU, ReLU6,
          ELU, CELU, SELU, GELU, SoftPlus, SoftSign, Sinc, Swish, Mish, Softmax, LogSoftmax]
