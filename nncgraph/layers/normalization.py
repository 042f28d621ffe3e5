"""BatchNormalization: batch statistics in training, running statistics otherwise."""
from __future__ import annotations

from .base import PLAIN_INITIALIZERS, Layer, ParamSpec, Prop, channel_axis, parameter_props


class BatchNormalization(Layer):
    category = "Normalization"
    doc = ("Normalizes with batch statistics while training and running statistics in the validation and "
           "runtime variants; parameters `<scope>/bn/beta`, `gamma` (trained), `mean`, `var` (running).")
    nnabla_function = "BatchNormalization"
    props = {
        "axes": Prop("uints", [0], "Axes that keep their own statistics (0 = channels).", "Axes"),
        "decay_rate": Prop("float", 0.9, "Decay of the running mean and variance.", "DecayRate"),
        "epsilon": Prop("float", 0.0001, "Added to the variance for stability.", "Epsilon"),
        "batch_stat": Prop("bool", True, "Use batch statistics while training (NNC's BatchStat).", "BatchStat"),
        "parameter_scope": Prop("str", None, "Parameter scope; defaults to the layer name.", "ParameterScope",
                                derived="the layer name"),
        # NNC's defaults: beta 0, gamma 1, running mean 0 and running variance 0
        **parameter_props(beta=("Constant", 0.0, PLAIN_INITIALIZERS), gamma=("Constant", 1.0, PLAIN_INITIALIZERS),
                          mean=("Constant", 0.0, PLAIN_INITIALIZERS), var=("Constant", 0.0, PLAIN_INITIALIZERS)),
    }

    def _stat_shape(self, shape, p):
        axes = [channel_axis(a, shape, "axes value") - 1 for a in p["axes"]]
        return (1,) + tuple(d if i in axes else 1 for i, d in enumerate(shape))

    def infer_shape(self, in_shapes, p):
        self._stat_shape(in_shapes[0], p)
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        s = self._stat_shape(in_shapes[0], p)
        return [ParamSpec("bn/beta", s), ParamSpec("bn/gamma", s),
                ParamSpec("bn/mean", s, trainable=False), ParamSpec("bn/var", s, trainable=False)]

    def emit(self, ctx, inputs, p):
        return ctx.PF.batch_normalization(
            inputs[0], axes=[a + 1 for a in p["axes"]], decay_rate=p["decay_rate"], eps=p["epsilon"],
            batch_stat=ctx.train and p["batch_stat"])


LAYERS = [BatchNormalization]
