"""Activation layers: elementwise, shape-preserving (Softmax along an axis)."""
from __future__ import annotations

from .base import PLAIN_INITIALIZERS, Layer, ParamSpec, Prop, channel_axis, parameter_props


class _Elementwise(Layer):
    category = "Activation"
    function = ""          # nnabla.functions name
    arg_props = {}         # {nnabla argument: property name}

    def emit(self, ctx, inputs, p):
        kwargs = {arg: p[prop] for arg, prop in self.arg_props.items()}
        return getattr(ctx.F, self.function)(inputs[0], **kwargs)


def _simple(name, function, doc, props=None, args=None):
    return type(name, (_Elementwise,), {
        "function": function, "doc": doc, "props": props or {}, "arg_props": args or {},
        "nnabla_function": name,  # NNC and nnabla share these names
        "__module__": __name__})


ReLU = _simple("ReLU", "relu", "max(x, 0).")
LeakyReLU = _simple("LeakyReLU", "leaky_relu", "x if x > 0 else alpha * x.",
                    {"alpha": Prop("float", 0.1, "Slope for negative inputs.", "Alpha")}, {"alpha": "alpha"})
ELU = _simple("ELU", "elu", "x if x > 0 else alpha * (exp(x) - 1).",
              {"alpha": Prop("float", 1.0, "Scale of the negative part.", "Alpha")}, {"alpha": "alpha"})
SELU = _simple("SELU", "selu", "scale * (x if x > 0 else alpha * (exp(x) - 1)).",
               {"scale": Prop("float", 1.05070098735548, "Output scale.", "Scale"),
                "alpha": Prop("float", 1.673263242354377, "Scale of the negative part.", "Alpha")},
               {"scale": "scale", "alpha": "alpha"})
Swish = _simple("Swish", "swish", "x * sigmoid(x).")
Sigmoid = _simple("Sigmoid", "sigmoid", "1 / (1 + exp(-x)).")
Tanh = _simple("Tanh", "tanh", "Hyperbolic tangent.")


class _AlongAxis(Layer):
    category = "Activation"
    function = ""
    props = {"axis": Prop("uint", 0, "Axis (0 = first axis after the batch).", "Axis")}

    def infer_shape(self, in_shapes, p):
        channel_axis(p["axis"], in_shapes[0])
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], axis=p["axis"] + 1)


class Softmax(_AlongAxis):
    doc = "exp(x) normalised to sum 1 along `axis`."
    nnabla_function = "Softmax"
    function = "softmax"


class LogSoftmax(_AlongAxis):
    doc = "log(softmax(x)) along `axis`, computed stably."
    nnabla_function = "LogSoftmax"
    function = "log_softmax"


class PReLU(Layer):
    category = "Activation"
    doc = "Leaky ReLU with a learned slope per channel; parameter `<scope>/prelu/slope`."
    nnabla_function = "PReLU"
    props = {
        "base_axis": Prop("uint", 0, "Axis holding the channels (one slope each).", "BaseAxis"),
        "parameter_scope": Prop("str", None, "Parameter scope; defaults to the layer name.", "ParameterScope",
                                derived="the layer name"),
        **parameter_props(slope=("Constant", 0.25, PLAIN_INITIALIZERS)),
    }

    def infer_shape(self, in_shapes, p):
        channel_axis(p["base_axis"], in_shapes[0], "base_axis")
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        return [ParamSpec("prelu/slope", (in_shapes[0][p["base_axis"]],))]

    def emit(self, ctx, inputs, p):
        return ctx.PF.prelu(inputs[0], base_axis=p["base_axis"] + 1, shared=False)


LAYERS = [ReLU, LeakyReLU, PReLU, ELU, SELU, Swish, Sigmoid, Tanh, Softmax, LogSoftmax]
