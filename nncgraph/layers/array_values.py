"""Layers that change or pick values but keep the layout: clipping, resetting, pruning, sorting,
top-k, NMS, VAT noise, and the gradient-only layers (identity in the forward pass)."""
from __future__ import annotations

from .base import Layer, Prop, ShapeError, channel_axis, size_of
from .nntxt import Unconvertible, counted_axis, fields


def _sample_base(base_axis: int) -> int:
    """nnabla's base_axis (TopK, VATNoise) -> NNC's, which counts without the batch; 0 would take the
    batch axis into each sample."""
    if base_axis < 1:
        raise Unconvertible(f"base_axis {base_axis} takes the batch axis into each sample")
    return base_axis - 1


def _norm_props(nnc_axes):
    key = nnc_axes.lower()
    return {
        "clip_norm": Prop("float", 1.0, "Largest L2 norm allowed.", "ClipNorm"),
        key: Prop("uints", [0], "Axes the norm is taken over (0 = first axis after the batch).", nnc_axes),
    }


def _check_norm(in_shape, p, key):
    if p["clip_norm"] <= 0:
        raise ShapeError(f"clip_norm must be positive, got {p['clip_norm']}.", fix="use e.g. 1.0.")
    if len(set(p[key])) != len(p[key]):
        raise ShapeError(f"{key} {p[key]} names an axis twice.", fix="list each axis once.")
    return tuple(channel_axis(a, in_shape, key) for a in p[key])


# NNC feeds an unconnected min/Max connector from a generator; a Constant one is the bound itself.
_BOUNDS = {
    "min_generator_multiplier": Prop("float", -1.0, "Lower bound when min is not connected (NNC's Constant "
                                     "generator).", "min.GeneratorMultiplier"),
    "max_generator_multiplier": Prop("float", 1.0, "Upper bound when Max is not connected (NNC's Constant "
                                     "generator).", "Max.GeneratorMultiplier"),
}


def _check_bounds(in_shapes):
    """Inputs are x alone, or x, min, max; the bounds must broadcast to x's shape."""
    x = tuple(in_shapes[0])
    if len(in_shapes) == 2:
        raise ShapeError("got 2 inputs: connect both bounds (input: [x, min, max]) or neither.",
                         fix="add the max input, or remove min to use the constant bounds.")
    for name, b in zip(("min", "max"), in_shapes[1:]):
        if len(b) != len(x) or any(s != t and s != 1 for s, t in zip(b, x)):
            raise ShapeError(f"the {name} input's shape {list(b)} must broadcast to x's {list(x)}: the same "
                             "number of axes, each equal or 1.", fix=f"Reshape or Broadcast the {name} input.")
    return x


class ClipByValue(Layer):
    side_pins = ("min", "Max")
    category = "Others"
    doc = "Clips x into [min, max]; min and max are inputs 2 and 3, or constants when not connected."
    nntxt_gap = "written as MaximumScalar and MinimumScalar (Maximum2 and Minimum2 with bound inputs)"
    n_inputs = (1, 3)
    props = dict(_BOUNDS)

    def infer_shape(self, in_shapes, p):
        return _check_bounds(in_shapes)

    def emit(self, ctx, inputs, p):
        if len(inputs) == 1:
            return ctx.F.clip_by_value(inputs[0], p["min_generator_multiplier"], p["max_generator_multiplier"])
        return ctx.F.clip_by_value(*inputs)


class ClipByNorm(Layer):
    category = "Others"
    doc = "Scales x down so that its L2 norm over `axis` is at most `clip_norm`."
    nntxt_gap = "written as the arithmetic that computes the norm and divides by it"
    props = _norm_props("Axis")

    def infer_shape(self, in_shapes, p):
        _check_norm(in_shapes[0], p, "axis")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.clip_by_norm(inputs[0], p["clip_norm"], axis=_check_norm(inputs[0].shape[1:], p, "axis"))


class ClipGradByValue(Layer):
    side_pins = ("min", "Max")
    category = "Others"
    doc = ("Identity in the forward pass; clips the gradient into [min, max] in the backward pass (min and "
           "max are inputs 2 and 3, or constants when not connected).")
    nntxt_gap = "its bounds are written as Constant or Broadcast functions, which have no layer"
    n_inputs = (1, 3)
    props = dict(_BOUNDS)

    def infer_shape(self, in_shapes, p):
        return _check_bounds(in_shapes)

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        if len(inputs) == 1:
            bounds = [ctx.F.constant(p["min_generator_multiplier"], x.shape),
                      ctx.F.constant(p["max_generator_multiplier"], x.shape)]
        else:   # nnabla needs bounds of x's exact shape
            bounds = [b if b.shape == x.shape else ctx.F.broadcast(b, x.shape) for b in inputs[1:]]
        return ctx.F.clip_grad_by_value(x, *bounds)


class ClipGradByNorm(Layer):
    category = "Others"
    doc = "Identity in the forward pass; rescales the gradient to L2 norm `clip_norm` over `axes` in backward."
    props = _norm_props("Axes")

    def from_nntxt(self, args, ins, out, params):
        return {"clip_norm": args.clip_norm, "axes": [counted_axis(a, ins[0]) for a in args.axes]}

    def infer_shape(self, in_shapes, p):
        _check_norm(in_shapes[0], p, "axes")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.clip_grad_by_norm(inputs[0], p["clip_norm"],
                                       axes=_check_norm(inputs[0].shape[1:], p, "axes"))


def _top_k_props(reduce):
    props = {
        "k": Prop("pint", 1, "How many values to keep per sample.", "K"),
        "abs": Prop("bool", False, "Rank values by magnitude instead of value.", "Abs"),
    }
    if reduce:
        props["reduce"] = Prop("bool", True, "Output only the k values (largest first) instead of the input "
                               "with the others zeroed.", "Reduce")
    props["base_axis"] = Prop("uint", 0, "First axis of a sample: the k values are picked among all "
                              "elements from this axis on, separately for each index of the axes before it.",
                              "BaseAxis")
    return props


def _check_k(in_shape, p):
    base = channel_axis(p["base_axis"], in_shape, "base_axis") - 1
    per_sample = size_of(in_shape[base:])
    if p["k"] > per_sample:
        raise ShapeError(f"k = {p['k']} but each sample from base_axis {p['base_axis']} of input "
                         f"{list(in_shape)} holds {per_sample} values.", fix=f"use k <= {per_sample}.")
    return base


class TopKData(Layer):
    category = "Others"
    doc = "Keeps the k largest values of each sample (by magnitude with `abs`); the rest are dropped or zeroed."
    shape_rule = "reduce: the axes before base_axis, then k; otherwise the input shape"
    props = _top_k_props(reduce=True)

    def from_nntxt(self, args, ins, out, params):
        if not args.largest:
            raise Unconvertible("largest false (NNC's TopKData keeps the largest values)")
        if args.with_index:
            raise Unconvertible("with_index true (NNC's TopKData has one output, the values)")
        return {"k": args.k, "abs": args.abs, "reduce": args.reduce, "base_axis": _sample_base(args.base_axis)}

    def infer_shape(self, in_shapes, p):
        x = tuple(in_shapes[0])
        base = _check_k(x, p)
        return x[:base] + (p["k"],) if p["reduce"] else x

    def emit(self, ctx, inputs, p):
        return ctx.F.top_k_data(inputs[0], p["k"], abs=p["abs"], reduce=p["reduce"], base_axis=p["base_axis"] + 1)


class TopKGrad(Layer):
    category = "Others"
    doc = "Identity in the forward pass; in backward passes only the k largest gradients of each sample."
    props = _top_k_props(reduce=False)

    def from_nntxt(self, args, ins, out, params):
        return {"k": args.k, "abs": args.abs, "base_axis": _sample_base(args.base_axis)}

    def infer_shape(self, in_shapes, p):
        _check_k(tuple(in_shapes[0]), p)
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.top_k_grad(inputs[0], p["k"], abs=p["abs"], base_axis=p["base_axis"] + 1)


class Sort(Layer):
    category = "Others"
    doc = "Sorts values along `axis` (ascending, or descending with `reverse`); `only_index` outputs the order."
    props = {
        "axis": Prop("int", 0, "Axis to sort along (0 = first axis after the batch).", "Axis"),
        "reverse": Prop("bool", False, "Sort in descending order.", "Reverse"),
        "only_index": Prop("bool", False, "Output the indices that sort the input instead of the values.",
                           "OnlyIndex"),
    }

    def from_nntxt(self, args, ins, out, params):
        if args.with_index and not args.only_index:     # only_index implies with_index
            raise Unconvertible("with_index true (NNC's Sort has one output: the values, or only_index)")
        return {"axis": counted_axis(args.axis, ins[0]), "reverse": args.reverse, "only_index": args.only_index}

    def infer_shape(self, in_shapes, p):
        channel_axis(p["axis"], in_shapes[0])
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.sort(inputs[0], axis=p["axis"] + 1, reverse=p["reverse"], only_index=p["only_index"])


class Prune(Layer):
    category = "Others"
    doc = ("Zeroes values whose magnitude is below the `rate` quantile of magnitudes; the quantile is "
           "taken over the whole batch, as nnabla does.")
    props = {"rate": Prop("float", 0.9, "Fraction of values (by magnitude) to zero, from 0 to 1.", "Rate")}

    from_nntxt = fields("rate")

    def infer_shape(self, in_shapes, p):
        if not 0.0 <= p["rate"] <= 1.0:
            raise ShapeError(f"rate must be between 0 and 1, got {p['rate']}.", fix="use e.g. 0.9.")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.prune(inputs[0], rate=p["rate"])


class ResetNaN(Layer):
    category = "Others"
    doc = "Replaces NaN values with 0."

    def emit(self, ctx, inputs, p):
        return ctx.F.reset_nan(inputs[0], val=0.0)


class ResetInf(Layer):
    category = "Others"
    doc = "Replaces +inf and -inf with 0."

    def emit(self, ctx, inputs, p):
        return ctx.F.reset_inf(inputs[0], val=0.0)


class NmsDetection2d(Layer):
    category = "Others"
    doc = ("Non-maximum suppression of 2-D detections (N boxes of x, y, w, h, objectness, C class "
           "probabilities): class scores become objectness * probability, zeroed below `thresh` or when "
           "a better box overlaps by more than `nms` IoU.")
    props = {
        "thresh": Prop("float", 0.5, "Detection score threshold.", "Thresh"),
        "nms": Prop("float", 0.45, "IoU above which the lower-scoring box is suppressed.", "NMS"),
        "nms_per_class": Prop("bool", True, "Suppress per class by class score; false: by objectness, "
                              "zeroing every class of a suppressed box.", "NMSPerClass"),
    }

    from_nntxt = fields("thresh", "nms", "nms_per_class")

    def infer_shape(self, in_shapes, p):
        x = tuple(in_shapes[0])
        if len(x) != 2 or x[1] < 6:
            raise ShapeError(f"expects detections shaped (boxes, 5 + classes) with at least one class, got "
                             f"shape {list(x)}.", fix="Reshape the detector output to (N, 5 + C).")
        return x

    def emit(self, ctx, inputs, p):
        return ctx.F.nms_detection2d(inputs[0], thresh=p["thresh"], nms=p["nms"], nms_per_class=p["nms_per_class"])


class VATNoise(Layer):
    side_pins = ("Buf",)
    category = "Others"
    doc = ("Virtual adversarial noise: epsilon * x / ||x|| per sample in forward; in backward the scaled "
           "gradient is written into the second input (NNC's Buf, the noise buffer) instead of x's.")
    n_inputs = 2
    props = {
        "base_axis": Prop("uint", 0, "First axis of a sample; the norm is over this axis and the ones after it.",
                          "BaseAxis"),
        "epsilon": Prop("float", 0.0001, "Norm of the output noise.", "Epsilon"),
    }

    def from_nntxt(self, args, ins, out, params):
        return {"base_axis": _sample_base(args.base_axis), "epsilon": args.eps}

    def infer_shape(self, in_shapes, p):
        x, buf = tuple(in_shapes[0]), tuple(in_shapes[1])
        if x != buf:
            raise ShapeError(f"the noise buffer {list(buf)} must have the input's shape {list(x)}.",
                             fix="feed a buffer variable of the input's shape as the second input.")
        channel_axis(p["base_axis"], x, "base_axis")
        return x

    def emit(self, ctx, inputs, p):
        return ctx.F.vat_noise(inputs[0], inputs[1], base_axis=p["base_axis"] + 1, eps=p["epsilon"])


class Unlink(Layer):
    category = "Others"
    doc = "Identity in the forward pass; stops the gradient (nothing flows back through it)."

    def emit(self, ctx, inputs, p):
        return ctx.F.unlink(inputs[0])


# NNC's palette order (ClipByValue and ClipByNorm are hidden from NNC's palette)
LAYERS = [ClipByValue, ClipByNorm, ClipGradByValue, ClipGradByNorm, TopKData, TopKGrad, Sort, Prune,
          ResetNaN, ResetInf, NmsDetection2d, VATNoise, Unlink]
