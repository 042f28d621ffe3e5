"""Normalization family: BatchNormalization (batch statistics in training, running statistics otherwise),
its fused form, per-sample normalizations and the weight normalizations."""
from __future__ import annotations

from .base import PARAMETER_SCOPE, PLAIN_INITIALIZERS, Layer, ParamSpec, Prop, ShapeError, channel_axis, parameter_props
from .math import NORM_ORDER, check_norm_order
from .nntxt import Unconvertible, axis
from .pins import parameter_variable, pin_props


_STATISTICS = ("beta", "gamma", "mean", "var")       # NNC's parameter pins, in pin order


def _statistics(ctx):
    """beta, gamma, mean and var for nnabla's function form: linked into a pin, or the layer's own."""
    return [parameter_variable(ctx, f"bn/{name}") for name in _STATISTICS]


class BatchNormalization(Layer):
    mutation_traits = frozenset({"keeps_channels"})
    category = "Normalization"
    doc = ("Normalizes with batch statistics while training and running statistics in the validation and "
           "runtime variants; parameters `<scope>/bn/beta`, `gamma` (trained), `mean`, `var` (running).")
    props = {
        "axes": Prop("uints", [0], "Axes that keep their own statistics (0 = channels).", "Axes"),
        "decay_rate": Prop("float", 0.9, "Decay of the running mean and variance.", "DecayRate"),
        "epsilon": Prop("float", 0.0001, "Added to the variance for stability.", "Epsilon"),
        "batch_stat": Prop("bool", True, "Use batch statistics while training (NNC's BatchStat).", "BatchStat"),
        "parameter_scope": PARAMETER_SCOPE,
        # NNC's defaults: beta 0, gamma 1, running mean 0 and running variance 0
        **parameter_props(beta=("Constant", 0.0, PLAIN_INITIALIZERS), gamma=("Constant", 1.0, PLAIN_INITIALIZERS),
                          mean=("Constant", 0.0, PLAIN_INITIALIZERS), var=("Constant", 0.0, PLAIN_INITIALIZERS)),
        **pin_props(*_STATISTICS),
    }
    side_pins = _STATISTICS

    def from_nntxt(self, args, ins, out, params):
        if args.no_scale or args.no_bias:
            raise Unconvertible("no_scale/no_bias (NNC's BatchNormalization always has beta and gamma)")
        return {"axes": [axis(a) for a in args.axes], "decay_rate": args.decay_rate, "epsilon": args.eps,
                "batch_stat": args.batch_stat}

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
        settings = dict(axes=[a + 1 for a in p["axes"]], decay_rate=p["decay_rate"], eps=p["epsilon"],
                        batch_stat=ctx.train and p["batch_stat"])
        if ctx.pins:
            return ctx.F.batch_normalization(inputs[0], *_statistics(ctx), **settings)
        return ctx.PF.batch_normalization(inputs[0], **settings)


LAYERS = [BatchNormalization]


# -- the rest of NNC's Normalization palette ---------------------------------------

_BETA_GAMMA = parameter_props(beta=("Constant", 0.0, PLAIN_INITIALIZERS), gamma=("Constant", 1.0, PLAIN_INITIALIZERS))
_BATCH_AXIS = Prop("int", -1, "An axis that keeps its own statistics like the batch axis, which always does; "
                   "-1: the batch axis alone.", "BatchAxis")


class FusedBatchNormalization(Layer):
    category = "Normalization"
    doc = ("BatchNormalization, then the optional second input added, then ReLU, in one nnabla function; "
           "parameters `<scope>/bn/beta`, `gamma` (trained), `mean`, `var` (running).")
    shape_rule = "same shape as the input; a second input must have that shape too"
    n_inputs = (1, 2)
    side_pins = _STATISTICS
    props = {
        **{k: BatchNormalization.props[k] for k in ("axes", "decay_rate", "epsilon", "batch_stat")},
        "nonlinearity": Prop("option", "relu", "Activation after the normalization (and the addition).",
                             "Nonlinearity", options=("relu",)),
        **{k: v for k, v in BatchNormalization.props.items()
           if k not in ("axes", "decay_rate", "epsilon", "batch_stat")},
    }

    def from_nntxt(self, args, ins, out, params):
        if args.nonlinearity not in self.props["nonlinearity"].options:
            raise Unconvertible(f"nonlinearity '{args.nonlinearity}' (NNC's FusedBatchNormalization applies relu)")
        return {"axes": [axis(a) for a in args.axes], "decay_rate": args.decay_rate, "epsilon": args.eps,
                "batch_stat": args.batch_stat, "nonlinearity": args.nonlinearity}

    def infer_shape(self, in_shapes, p):
        if len(in_shapes) == 2 and tuple(in_shapes[1]) != tuple(in_shapes[0]):
            raise ShapeError(f"adds its second input to the normalized first, so their shapes must be equal; "
                             f"got {list(in_shapes[0])} and {list(in_shapes[1])}.",
                             fix="give both inputs the same shape, or drop the second input.")
        return BatchNormalization().infer_shape(in_shapes[:1], p)

    def parameters(self, in_shapes, p):
        return BatchNormalization().parameters(in_shapes[:1], p)

    def emit(self, ctx, inputs, p):
        z = inputs[1] if len(inputs) == 2 else None
        settings = dict(axes=[a + 1 for a in p["axes"]], decay_rate=p["decay_rate"], eps=p["epsilon"],
                        batch_stat=ctx.train and p["batch_stat"], nonlinearity=p["nonlinearity"])
        if ctx.pins:
            return ctx.F.fused_batch_normalization(inputs[0], *_statistics(ctx), z, **settings)
        return ctx.PF.fused_batch_normalization(inputs[0], z, **settings)


def _batch_axes(p, shape, channel=None):
    """nnabla's batch axes: the batch axis itself, plus NNC's BatchAxis when it names a sample axis.

    NNC passes BatchAxis alone, so BatchAxis 0 would pool statistics over the minibatch and give the
    layer-norm parameters the batch size; nncgraph keeps the minibatch axis a batch axis always.
    """
    b = p["batch_axis"]
    if b == -1:
        return [0]
    if not 0 <= b < len(shape):
        raise ShapeError(f"batch_axis {b} is out of range for input shape {list(shape)}.",
                         fix=f"use -1 (the batch axis only) or an axis between 0 and {len(shape) - 1}.")
    if b == channel:
        raise ShapeError(f"batch_axis {b} is also channel_axis.", fix="make them different axes.")
    return [0, b + 1]


def _batch_axis_from_nntxt(args) -> int:
    """NNC's BatchAxis from nnabla's batch axes, which _batch_axes writes."""
    axes = sorted(set(args.batch_axis))
    if axes[:1] != [0] or len(axes) > 2:
        raise Unconvertible(f"batch_axis {list(args.batch_axis)} (NNC's BatchAxis names at most one axis beside "
                            "the batch axis, which always keeps its own statistics)")
    return axis(axes[1]) if len(axes) == 2 else -1


def _check_beta_gamma(args) -> None:
    if args.no_scale or args.no_bias:
        raise Unconvertible("no_scale/no_bias (NNC's per-sample normalizations always have beta and gamma)")


def _channel_stat(shape, p):
    """(nnabla channel axis, parameter shape with the batch axis) for a per-channel affine."""
    c = channel_axis(p["channel_axis"], shape, "channel_axis")
    return c, tuple(shape[c - 1] if i == c else 1 for i in range(len(shape) + 1))


class GroupNormalization(Layer):
    category = "Normalization"
    doc = ("Normalizes each sample over groups of channels (and the other axes), then scales and shifts per "
           "channel; parameters `<scope>/group_normalization/beta` and `gamma`.")
    props = {
        "channel_axis": Prop("uint", 0, "The channel axis, split into groups.", "ChannelAxis"),
        "batch_axis": _BATCH_AXIS,
        "num_groups": Prop("pint", 4, "Number of channel groups; must divide the channels.", "NumGroups"),
        "epsilon": Prop("float", 1e-5, "Added to the variance for stability.", "Epsilon"),
        "parameter_scope": PARAMETER_SCOPE,
        **_BETA_GAMMA,
    }

    def from_nntxt(self, args, ins, out, params):
        _check_beta_gamma(args)
        return {"channel_axis": axis(args.channel_axis), "batch_axis": _batch_axis_from_nntxt(args),
                "num_groups": args.num_groups, "epsilon": args.eps}

    def infer_shape(self, in_shapes, p):
        shape = in_shapes[0]
        c, _ = _channel_stat(shape, p)
        _batch_axes(p, shape, p["channel_axis"])
        if shape[c - 1] % p["num_groups"]:
            raise ShapeError(f"num_groups {p['num_groups']} does not divide the {shape[c - 1]} channels of "
                             f"axis {p['channel_axis']} (input shape {list(shape)}).",
                             fix="choose num_groups that divides the channel count.")
        return tuple(shape)

    def parameters(self, in_shapes, p):
        s = _channel_stat(in_shapes[0], p)[1]
        return [ParamSpec("group_normalization/beta", s), ParamSpec("group_normalization/gamma", s)]

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        return ctx.PF.group_normalization(x, p["num_groups"], channel_axis=p["channel_axis"] + 1,
                                          batch_axis=_batch_axes(p, x.shape[1:], p["channel_axis"]),
                                          eps=p["epsilon"])


class InstanceNormalization(Layer):
    category = "Normalization"
    doc = ("Normalizes each channel of each sample over its other axes, then scales and shifts per channel; "
           "parameters `<scope>/instance_normalization/beta` and `gamma`.")
    props = {
        "channel_axis": Prop("uint", 0, "The channel axis.", "ChannelAxis"),
        "batch_axis": _BATCH_AXIS,
        "epsilon": Prop("float", 1e-5, "Added to the variance for stability.", "Epsilon"),
        "parameter_scope": PARAMETER_SCOPE,
        **_BETA_GAMMA,
    }

    def from_nntxt(self, args, ins, out, params):
        _check_beta_gamma(args)
        return {"channel_axis": axis(args.channel_axis), "batch_axis": _batch_axis_from_nntxt(args),
                "epsilon": args.eps}

    def infer_shape(self, in_shapes, p):
        _channel_stat(in_shapes[0], p)
        _batch_axes(p, in_shapes[0], p["channel_axis"])
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        s = _channel_stat(in_shapes[0], p)[1]
        return [ParamSpec("instance_normalization/beta", s), ParamSpec("instance_normalization/gamma", s)]

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        return ctx.PF.instance_normalization(x, channel_axis=p["channel_axis"] + 1,
                                             batch_axis=_batch_axes(p, x.shape[1:], p["channel_axis"]),
                                             eps=p["epsilon"])


class LayerNormalization(Layer):
    category = "Normalization"
    doc = ("Normalizes each sample over all its axes, then scales and shifts elementwise; parameters "
           "`<scope>/layer_normalization/beta` and `gamma`, shaped like the sample.")
    props = {
        "batch_axis": _BATCH_AXIS,
        "epsilon": Prop("float", 1e-5, "Added to the variance for stability.", "Epsilon"),
        "parameter_scope": PARAMETER_SCOPE,
        **_BETA_GAMMA,
    }

    def from_nntxt(self, args, ins, out, params):
        _check_beta_gamma(args)
        return {"batch_axis": _batch_axis_from_nntxt(args), "epsilon": args.eps}

    def infer_shape(self, in_shapes, p):
        _batch_axes(p, in_shapes[0])
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        shape = in_shapes[0]
        batch = _batch_axes(p, shape)
        s = tuple(1 if i in batch else d for i, d in enumerate((1, *shape)))
        return [ParamSpec("layer_normalization/beta", s), ParamSpec("layer_normalization/gamma", s)]

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        return ctx.PF.layer_normalization(x, batch_axis=_batch_axes(p, x.shape[1:]), eps=p["epsilon"])


class NormNormalization(Layer):
    category = "Normalization"
    doc = "Divides the input by its p-norm over `axes` (-1 is the batch axis, so the default spans the minibatch)."
    props = {
        "p": NORM_ORDER,
        "axes": Prop("ints", [-1, 0, 1, 2], "Axes the norm is taken over; -1 is the batch axis. NNC's default "
                     "fits a 3-axis (C, H, W) input.", "Axes"),
        "epsilon": Prop("float", 1e-12, "Guards the division.", "Epsilon"),
    }

    def from_nntxt(self, args, ins, out, params):
        # nnabla reduces every axis where none is listed; its axis 0 is NNC's -1, the batch axis
        axes = list(args.axes) or range(len(ins[0]) + 1)
        return {"p": args.p, "axes": [-1 if a == 0 else axis(a) for a in axes], "epsilon": args.eps}

    def _axes(self, shape, p):
        axes = p["axes"]
        bad = [a for a in axes if not -1 <= a < len(shape)]
        if bad or len(set(axes)) != len(axes):
            raise ShapeError(f"axes {axes} must be distinct values from -1 (the batch axis) to {len(shape) - 1} "
                             f"for input shape {list(shape)}.",
                             fix=f"list axes among -1..{len(shape) - 1}, each once (NNC's default -1,0,1,2 "
                                 "fits 3-axis inputs).")
        return [a + 1 for a in axes]

    def infer_shape(self, in_shapes, p):
        check_norm_order(p["p"])
        self._axes(in_shapes[0], p)
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        return ctx.F.norm_normalization(x, p=p["p"], axes=self._axes(x.shape[1:], p), eps=p["epsilon"])


# The weight layers below normalize a weight. NNC feeds them a Parameter, which has no batch axis; here a
# Parameter repeats its array for every sample, so statistics must not run across the batch (a norm
# over B copies is sqrt(B) times the weight's). WeightNormalization and WeightStandardization therefore
# work per sample; SpectralNorm's single power-iteration vector allows no per-sample form, so it
# normalizes the first sample's array.
def _dim(shape, p):
    return channel_axis(p["dim"], shape, "dim")


def _positive_epsilon(p) -> None:
    if not p["epsilon"] > 0:     # nnabla refuses it in setup, with a C++ source location
        raise ShapeError(f"epsilon must be above 0, got {p['epsilon']}.", fix="use e.g. 1e-12.")


def _rows(ctx, x, axis):
    """x as a matrix of one row per (sample, index of `axis`); and the function undoing it."""
    order = [0, axis] + [i for i in range(1, x.ndim) if i != axis]
    moved = ctx.F.transpose(x, order) if axis != 1 else x
    moved_shape = moved.shape
    rows = ctx.F.reshape(moved, (x.shape[0] * x.shape[axis], -1))

    def back(y):
        y = ctx.F.reshape(y, moved_shape)
        return ctx.F.transpose(y, [order.index(i) for i in range(x.ndim)]) if axis != 1 else y
    return rows, back


class SpectralNorm(Layer):
    category = "Normalization"
    nntxt_gap = "written as Slice (the first sample), SpectralNorm and Broadcast back over the batch"
    doc = ("Divides a weight (the first sample's copy of its input, e.g. a Parameter) by its largest singular "
           "value, estimated by power iteration on `<scope>/spectral-norm/u`, which training updates.")
    props = {
        "dim": Prop("uint", 0, "The output axis: the matrix is this axis by all the others.", "Dim"),
        # each is a pass over the weight in every forward pass: a few are the norm (NNC's default is 1)
        "itr": Prop("pint", 1, "Power iterations per forward pass.", "Itr", maximum=1000),
        "epsilon": Prop("float", 1e-12, "Guards the vector normalizations.", "Epsilon"),
        "test": Prop("bool", False, "Keep u fixed while training too (validation never updates it).", "Test"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(u=("Constant", 1.0, PLAIN_INITIALIZERS)),
    }

    def infer_shape(self, in_shapes, p):
        _dim(in_shapes[0], p)
        _positive_epsilon(p)
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        # nnabla updates u in the forward pass itself, never by gradient
        return [ParamSpec("spectral-norm/u", (in_shapes[0][_dim(in_shapes[0], p) - 1],), trainable=False)]

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        w = ctx.PF.spectral_norm(x[:1], dim=p["dim"] + 1, itr=p["itr"], eps=p["epsilon"],
                                 test=p["test"] or not ctx.train)
        return ctx.F.broadcast(w, x.shape)


class WeightNormalization(Layer):
    category = "Normalization"
    nntxt_gap = ("written as the Transpose and Reshape to one row per sample and index of dim, Tile of g, "
                 "WeightNormalization and the way back")
    doc = ("Rescales each sample's array (normally a weight) to norm `<scope>/wn/g` per index of `dim`, the "
           "norm taken over the sample's other axes.")
    props = {
        "dim": Prop("uint", 0, "The axis that keeps one scale per index.", "Dim"),
        "epsilon": Prop("float", 1e-12, "Added to the squared norm for stability.", "Epsilon"),
        "parameter_scope": PARAMETER_SCOPE,
        **parameter_props(g=("Constant", 1.0, PLAIN_INITIALIZERS)),
    }

    def infer_shape(self, in_shapes, p):
        _dim(in_shapes[0], p)
        _positive_epsilon(p)
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        return [ParamSpec("wn/g", (in_shapes[0][_dim(in_shapes[0], p) - 1],))]

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        axis = p["dim"] + 1
        # PF.weight_normalization would size g by the row matrix, so g is fetched as PF names it; the
        # compiler has created it (the initializer, NNC's default 1, serves only a direct use).
        with ctx.nn.parameter_scope("wn"):
            g = ctx.nn.parameter.get_parameter_or_create("g", (x.shape[axis],), ctx.I.ConstantInitializer(1.0), True)
        rows, back = _rows(ctx, x, axis)
        return back(ctx.F.weight_normalization(rows, ctx.F.tile(g, (x.shape[0],)), dim=0, eps=p["epsilon"]))


class WeightStandardization(Layer):
    category = "Normalization"
    nntxt_gap = ("written as the Transpose and Reshape to one row per sample and index of channel_axis, "
                 "WeightStandardization and the way back")
    doc = ("Standardizes each sample's array (normally a weight) to mean 0 and variance 1 per index of "
           "`channel_axis`.")
    props = {
        "channel_axis": Prop("uint", 0, "The axis that keeps its own statistics.", "ChannelAxis"),
        "epsilon": Prop("float", 1e-5, "Added to the variance for stability.", "Epsilon"),
    }

    def infer_shape(self, in_shapes, p):
        channel_axis(p["channel_axis"], in_shapes[0], "channel_axis")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        rows, back = _rows(ctx, inputs[0], p["channel_axis"] + 1)
        return back(ctx.F.weight_standardization(rows, channel_axis=0, eps=p["epsilon"]))


LAYERS += [FusedBatchNormalization, GroupNormalization, InstanceNormalization, LayerNormalization,
           NormNormalization, SpectralNorm, WeightNormalization, WeightStandardization]
