"""Loss and validation layers: they compare a network output with a target.

Each names its target dataset variable (`target`, NNC's T.Dataset), or reads the target from a second
input (NNC's T connector linked to a layer: a reconstruction's input image, a teacher's output). Losses
vanish from the runtime variant; the trainer minimizes the mean of every loss.
`error_kind` tells the trainer how to count the per-epoch error NNC monitors:
"top1" (classification), "binary" (threshold at `binary_threshold`) or
"loss" (regression: the loss itself).
"""
from __future__ import annotations

from .base import Layer, Prop, ShapeError, channel_axis
from .nntxt import axis, axis_only, fields

_TARGET = Prop("str", "y", "Dataset variable (CSV column) holding the target.", "T.Dataset")
_AXIS = Prop("uint", 0, "Class axis (0 = first axis after the batch).", "Axis")


class _Loss(Layer):
    category = "Loss"
    role = "loss"
    function = ""
    error_kind = "loss"
    binary_threshold = 0.5
    runtime_activation = None   # appended in the runtime variant (e.g. Softmax)
    # the target: the dataset variable `target`, or a second input (NNC's T connector linked; layers/pins.py)
    n_inputs = (1, 2)
    side_pins = ("T",)

    def infer_shape(self, in_shapes, p):
        if len(in_shapes) > 1 and tuple(in_shapes[1]) != tuple(self.target_shape(in_shapes[0], p)):
            raise ShapeError(f"its target (pin {self.side_pins[0]}, the second input) has shape {list(in_shapes[1])}, "
                             f"but for an input of shape {list(in_shapes[0])} it must be "
                             f"{list(self.target_shape(in_shapes[0], p))}.",
                             fix="link a layer of that shape into the target, or reshape it (Reshape).")
        return self.loss_shape(in_shapes[0], p)

    def loss_shape(self, in_shape, p):
        return tuple(in_shape)

    def target_shape(self, in_shape, p):
        return tuple(in_shape)

    def n_classes(self, in_shape, p):
        """Labels must lie in [0, n_classes) -- None when targets are not labels."""
        return None

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], inputs[1])


class _Categorical(_Loss):
    error_kind = "top1"
    props = {"axis": _AXIS, "target": _TARGET}

    from_nntxt = axis_only

    def loss_shape(self, in_shape, p):
        return self.target_shape(in_shape, p)

    def target_shape(self, in_shape, p):
        ax = channel_axis(p["axis"], in_shape) - 1
        return tuple(in_shape[:ax]) + (1,) + tuple(in_shape[ax + 1:])

    def n_classes(self, in_shape, p):
        return in_shape[channel_axis(p["axis"], in_shape) - 1]

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], inputs[1], axis=p["axis"] + 1)


class SoftmaxCrossEntropy(_Categorical):
    doc = "Cross entropy of softmax(x) against integer labels; the runtime variant outputs softmax(x)."
    function = "softmax_cross_entropy"
    runtime_activation = "Softmax"


class CategoricalCrossEntropy(_Categorical):
    doc = "Cross entropy of probabilities x (e.g. after Softmax) against integer labels."
    function = "categorical_cross_entropy"


class SigmoidCrossEntropy(_Loss):
    doc = "Binary cross entropy of sigmoid(x) against 0/1 targets; the runtime variant outputs sigmoid(x)."
    function = "sigmoid_cross_entropy"
    error_kind = "binary"
    binary_threshold = 0.0      # x is a logit
    runtime_activation = "Sigmoid"
    props = {"target": _TARGET}


class BinaryCrossEntropy(_Loss):
    doc = "Binary cross entropy of probabilities x against 0/1 targets."
    function = "binary_cross_entropy"
    error_kind = "binary"
    props = {"target": _TARGET}


class SquaredError(_Loss):
    doc = "(x - t)^2, elementwise."
    function = "squared_error"
    props = {"target": _TARGET}


class AbsoluteError(_Loss):
    doc = "|x - t|, elementwise."
    function = "absolute_error"
    props = {"target": _TARGET}


class HuberLoss(_Loss):
    doc = "Squared error near zero, absolute error beyond `delta`."
    function = "huber_loss"
    props = {"delta": Prop("float", 1.0, "Where the loss turns linear.", "Delta"), "target": _TARGET}

    from_nntxt = fields("delta")

    def emit(self, ctx, inputs, p):
        return ctx.F.huber_loss(inputs[0], inputs[1], delta=p["delta"])


class TopNError(_Categorical):
    category = "Validation"
    role = "metric"
    doc = "1 where the label is not among the N highest scores, else 0 (validation only)."
    props = {"axis": _AXIS, "n": Prop("uint", 1, "How many top scores count as correct.", "N"),
             "target": _TARGET}

    def from_nntxt(self, args, ins, out, params):
        return {"axis": axis(args.axis), "n": args.n}

    def infer_shape(self, in_shapes, p):
        if not 1 <= p["n"] <= self.n_classes(in_shapes[0], p):
            raise ShapeError(f"n = {p['n']} but there are {self.n_classes(in_shapes[0], p)} classes.",
                             fix="use n between 1 and the number of classes.")
        return super().infer_shape(in_shapes, p)

    def emit(self, ctx, inputs, p):
        return ctx.F.top_n_error(inputs[0], inputs[1], axis=p["axis"] + 1, n=p["n"])


class BinaryError(_Loss):
    category = "Validation"
    role = "metric"
    doc = "1 where (x >= 0.5) differs from (t >= 0.5), else 0 (validation only)."
    function = "binary_error"
    error_kind = "binary"
    props = {"target": _TARGET}


LAYERS = [SoftmaxCrossEntropy, CategoricalCrossEntropy, SigmoidCrossEntropy, BinaryCrossEntropy, SquaredError, HuberLoss, AbsoluteError, TopNError, BinaryError]


class EpsilonInsensitiveLoss(_Loss):
    doc = "max(|x - t| - epsilon, 0), elementwise: errors within epsilon cost nothing."
    function = "epsilon_insensitive_loss"
    props = {"epsilon": Prop("float", 0.0, "Error size that costs nothing.", "Epsilon"), "target": _TARGET}

    from_nntxt = fields("epsilon")

    def emit(self, ctx, inputs, p):
        return ctx.F.epsilon_insensitive_loss(inputs[0], inputs[1], epsilon=p["epsilon"])


class KLMultinomial(_Loss):
    doc = ("Kullback-Leibler divergence sum(p log(p / q)) of the distribution x (p) from the target "
           "distribution q, summed over the axes from base_axis on.")
    function = "kl_multinomial"
    side_pins = ("q",)
    shape_rule = "input axes before `base_axis`, then 1"
    props = {"base_axis": Prop("uint", 0, "First axis the distribution spans (0 = all axes after the batch).",
                               "BaseAxis"),
             "target": Prop("str", "y", "Dataset variable (CSV column) holding the target distribution q.",
                            "q.Dataset")}

    def from_nntxt(self, args, ins, out, params):
        return {"base_axis": axis(args.base_axis)}

    def loss_shape(self, shape, p):
        ax = channel_axis(p["base_axis"], shape, "base_axis") - 1
        return tuple(shape[:ax]) + (1,)

    def emit(self, ctx, inputs, p):
        return ctx.F.kl_multinomial(inputs[0], inputs[1], base_axis=p["base_axis"] + 1)


LAYERS += [EpsilonInsensitiveLoss, KLMultinomial]
