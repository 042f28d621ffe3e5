"""Array layers that move, repeat or reshape data without changing values: Broadcast, BroadcastTo,
Tile, Pad, Flip, Shift, Transpose, Slice, Stack, MatrixDiag, MatrixDiagPart, Interpolate, Flatten,
OneHot. Layers that change or pick values (clipping, sorting, top-k, ...) are in array_values.py."""
from __future__ import annotations

from .base import Layer, OptionalProp, Prop, ShapeError, channel_axis, size_of
from .nntxt import Unconvertible, axis, axis_only, counted_axis, dims, last_axes, out_shape


def _trailing(count, shape, what, per=1):
    """NNC's per-axis arrays (Shift, Pad, Tile, Slice, Interpolate) cover the input's LAST axes, as
    nnabla's do; they must not reach the batch axis. Returns how many leading axes they leave alone."""
    if count > len(shape):
        raise ShapeError(f"{what} covers {count} axes but the input shape {list(shape)} has only {len(shape)}.",
                         fix=f"give {what} at most {per * len(shape)} value(s): {per} per axis, for the last axes.")
    return len(shape) - count


def _sample_axes(axes, shape, what):
    """NNC axes (0 = first axis after the batch) -> nnabla axes; duplicates refused."""
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{what} {axes} names an axis twice.", fix="list each axis once.")
    return [channel_axis(a, shape, what) for a in axes]


class Broadcast(Layer):
    category = "Others"
    doc = "Repeats the input along its size-1 axes to reach `out_shape`."
    shape_rule = "`out_shape`; each input axis equals it or is 1"
    props = {"out_shape": OptionalProp("pints", None, "Shape to broadcast to, without the batch axis.",
                                       "OutShape", derived="the input shape (no change)")}

    from_nntxt = out_shape

    def infer_shape(self, in_shapes, p):
        x = tuple(in_shapes[0])
        out = x if p["out_shape"] is None else tuple(p["out_shape"])
        if len(out) != len(x) or any(a != b and a != 1 for a, b in zip(x, out)):
            raise ShapeError(f"cannot broadcast input {list(x)} to out_shape {list(out)}: they need the same "
                             "number of axes, and each input axis must equal out_shape's or be 1.",
                             fix="Reshape the input so that the axes to repeat have size 1.")
        return out

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        out = x.shape[1:] if p["out_shape"] is None else tuple(p["out_shape"])
        return ctx.F.broadcast(x, (x.shape[0], *out))


class BroadcastTo(Layer):
    side_pins = ("y",)
    category = "Others"
    doc = ("Output has the first input's shape, filled with the second input (NNC's y) repeated over the "
           "axes y lacks; y's axes must equal the first input's axes starting at `axis`.")
    # nnabla's BroadcastTo lines y's batch axis up with one of x's axes; per sample, y's batch axis must
    # stay on x's, which F.broadcast of y with size-1 axes inserted does.
    nnabla_function = "Broadcast"
    nntxt_gap = "written as Reshape and Broadcast of the second input"
    shape_rule = "same shape as the first input"
    n_inputs = 2
    props = {"axis": Prop("int", -1, "Axis of the first input where y's axes start (0 = first axis after "
                          "the batch); -1 lines y up with the last axes.", "Axis")}

    def _start(self, x, y, axis):
        if axis < -1:
            raise ShapeError(f"axis must be -1 or an axis of the first input, got {axis}.",
                             fix="use -1 (y's axes are the last ones) or 0 to "
                                 f"{len(x) - 1}.")
        start = len(x) - len(y) if axis == -1 else axis
        if start < 0 or start + len(y) > len(x) or tuple(x[start:start + len(y)]) != tuple(y):
            raise ShapeError(f"y's shape {list(y)} must equal the axes of the first input {list(x)} starting "
                             f"at axis {axis}.", fix="change axis, or Reshape y to match those axes.")
        return start

    def infer_shape(self, in_shapes, p):
        self._start(in_shapes[0], in_shapes[1], p["axis"])
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        x, y = inputs
        xs, ys = x.shape[1:], y.shape[1:]
        start = self._start(xs, ys, p["axis"])
        lined_up = (y.shape[0],) + (1,) * start + tuple(ys) + (1,) * (len(xs) - start - len(ys))
        return ctx.F.broadcast(ctx.F.reshape(y, lined_up, inplace=False), x.shape)


class Tile(Layer):
    category = "Others"
    doc = "Repeats the whole input `reps` times along its last axes."
    shape_rule = "the last len(reps) axes multiplied by reps"
    props = {"reps": Prop("pints", [2], "Repetitions per axis, for the last len(reps) axes.", "Reps")}

    def from_nntxt(self, args, ins, out, params):
        return {"reps": last_axes(args.reps, ins[0], "reps", identity=1)}

    def infer_shape(self, in_shapes, p):
        x, reps = tuple(in_shapes[0]), p["reps"]
        lead = _trailing(len(reps), x, "reps")
        return x[:lead] + tuple(s * r for s, r in zip(x[lead:], reps))

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        return ctx.F.tile(x, [1] * (x.ndim - len(p["reps"])) + list(p["reps"]))


class Pad(Layer):
    category = "Others"
    doc = "Pads the last axes: `pad_width` holds (before, after) pairs, the last pair for the last axis."
    shape_rule = "each of the last len(pad_width)/2 axes grows by its before + after"
    props = {
        "pad_width": Prop("uints", [0, 0, 0, 0], "before, after sizes per padded axis; the pairs cover the "
                          "last len/2 axes.", "PadWidth"),
        "mode": Prop("option", "constant", "constant: constant_value; reflect: mirror without repeating the "
                     "edge; repeat: copies of the edge value.", "Mode", options=("constant", "reflect", "repeat")),
        "constant_value": Prop("float", 0.0, "Fill value in constant mode.", "ConstantValue"),
    }

    def from_nntxt(self, args, ins, out, params):
        # nnabla's modes are NNC's; an absent mode reads as "" (proto3), meaning nnabla's default
        return {"pad_width": last_axes(args.pad_width, ins[0], "pad_width", per=2),
                "mode": args.mode or "constant", "constant_value": args.constant_value}

    def infer_shape(self, in_shapes, p):
        x, w = tuple(in_shapes[0]), p["pad_width"]
        if len(w) % 2:
            raise ShapeError(f"pad_width {w} has an odd number of values; it holds (before, after) pairs.",
                             fix="give two values per padded axis, e.g. [1, 1, 2, 2].")
        lead = _trailing(len(w) // 2, x, "pad_width", per=2)
        return x[:lead] + tuple(s + w[2 * i] + w[2 * i + 1] for i, s in enumerate(x[lead:]))

    def emit(self, ctx, inputs, p):
        return ctx.F.pad(inputs[0], tuple(p["pad_width"]), mode=p["mode"], constant_value=p["constant_value"])


class Flip(Layer):
    category = "Others"
    doc = "Reverses the order of elements along each of `axes`."
    props = {"axes": Prop("uints", [0], "Axes to reverse (0 = first axis after the batch).", "Axes")}

    def from_nntxt(self, args, ins, out, params):
        return {"axes": [counted_axis(a, ins[0]) for a in args.axes]}

    def infer_shape(self, in_shapes, p):
        _sample_axes(p["axes"], in_shapes[0], "axes")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        return ctx.F.flip(inputs[0], axes=[a + 1 for a in p["axes"]])


class Shift(Layer):
    category = "Others"
    doc = "Shifts elements along the last axes by `shift`, filling the vacated border per `border_mode`."
    props = {
        "shift": Prop("ints", [0, 0], "Shift per axis, for the last len(shift) axes; positive moves toward "
                      "higher indices.", "Shift"),
        "border_mode": Prop("option", "nearest", "nearest: repeat the edge value; reflect: mirror the data "
                            "at the edge.", "BorderMode", options=("nearest", "reflect")),
    }

    def from_nntxt(self, args, ins, out, params):
        return {"shift": last_axes(args.shifts, ins[0], "shifts"), "border_mode": args.border_mode or "nearest"}

    def infer_shape(self, in_shapes, p):
        x = tuple(in_shapes[0])
        _trailing(len(p["shift"]), x, "shift")
        return x

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        shifts = [0] * (x.ndim - len(p["shift"])) + list(p["shift"])
        return ctx.F.shift(x, shifts=tuple(shifts), border_mode=p["border_mode"])


class Transpose(Layer):
    category = "Others"
    doc = "Reorders the axes: output axis i is input axis axes[i] (the batch axis stays first)."
    shape_rule = "input axes in the order `axes`"
    props = {"axes": Prop("uints", [0, 1, 2], "A permutation of the input's axes (0 = first after the batch).",
                          "Axes")}

    def from_nntxt(self, args, ins, out, params):
        axes = list(args.axes)
        if not axes or axes[0] != 0:
            raise Unconvertible(f"axes {axes} move the batch axis")
        return {"axes": [axis(a) for a in axes[1:]]}

    def infer_shape(self, in_shapes, p):
        x, axes = tuple(in_shapes[0]), p["axes"]
        if sorted(axes) != list(range(len(x))):
            raise ShapeError(f"axes {axes} must list each axis of the input shape {list(x)} exactly once.",
                             fix=f"give a permutation of {list(range(len(x)))}.")
        return tuple(x[a] for a in axes)

    def emit(self, ctx, inputs, p):
        return ctx.F.transpose(inputs[0], (0, *[a + 1 for a in p["axes"]]))


class Slice(Layer):
    category = "Others"
    doc = "Takes x[start:stop:step] on each of the last axes the lists cover; other axes are kept whole."
    shape_rule = "ceil((stop - start) / step) on each sliced axis"
    props = {
        "start": Prop("uints", [0, 0, 0], "First index per axis, for the last len(start) axes.", "Start"),
        "stop": OptionalProp("uints", None, "End index (exclusive) per axis, for the last len(stop) axes.",
                             "Stop", derived="the input shape (to the end of every axis)"),
        "step": Prop("uints", [1, 1, 1], "Step per axis (1 or more), for the last len(step) axes.", "Step"),
    }

    def from_nntxt(self, args, ins, out, params):
        start, stop, step = list(args.start), list(args.stop), list(args.step)
        if len(start) == len(ins[0]) + 1:     # nnabla lists the batch axis too
            if (start[0], step[0]) != (0, 1) or stop[0] not in (0, -1) and stop[0] < 0:
                raise Unconvertible("a slice of the batch axis")
            start, stop, step = start[1:], stop[1:], step[1:]
        return {"start": start, "stop": stop, "step": step}

    def _ranges(self, x, p):
        """(start, stop, step) for every non-batch axis."""
        lists = {}
        for key, whole in (("start", [0] * len(x)), ("stop", list(x)), ("step", [1] * len(x))):
            values = whole if p[key] is None else p[key]
            lead = _trailing(len(values), x, key)
            lists[key] = whole[:lead] + list(values)
        ranges = list(zip(lists["start"], lists["stop"], lists["step"]))
        for axis, (size, (a, b, s)) in enumerate(zip(x, ranges)):
            if s < 1 or not a < b <= size:
                raise ShapeError(f"on axis {axis} (size {size}) start {a}, stop {b}, step {s} selects nothing "
                                 "or runs past the end.",
                                 fix="use 0 <= start < stop <= the axis size and step >= 1.")
        return ranges

    def infer_shape(self, in_shapes, p):
        return tuple(len(range(a, b, s)) for a, b, s in self._ranges(tuple(in_shapes[0]), p))

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        start, stop, step = zip(*self._ranges(x.shape[1:], p))
        return ctx.F.slice(x, start=(0, *start), stop=(x.shape[0], *stop), step=(1, *step))


class Stack(Layer):
    category = "Others"
    doc = "Stacks equal-shaped inputs along a new axis at `axis`."
    shape_rule = "the common input shape with a new axis of size (number of inputs) at `axis`"
    n_inputs = (1, None)
    props = {"axis": Prop("uint", 0, "Position of the new axis (0 = first axis after the batch).", "Axis")}

    from_nntxt = axis_only

    def infer_shape(self, in_shapes, p):
        shapes = [tuple(s) for s in in_shapes]
        if any(s != shapes[0] for s in shapes):
            raise ShapeError(f"needs inputs of one shape, got {', '.join(str(list(s)) for s in shapes)}.",
                             fix="give every input the same shape.")
        x, axis = shapes[0], p["axis"]
        if axis > len(x):
            raise ShapeError(f"axis {axis} is out of range for inputs of shape {list(x)}.",
                             fix=f"use an axis between 0 and {len(x)}.")
        return x[:axis] + (len(shapes),) + x[axis:]

    def emit(self, ctx, inputs, p):
        return ctx.F.stack(*inputs, axis=p["axis"] + 1)


class MatrixDiag(Layer):
    category = "Others"
    doc = "Turns the last axis into a diagonal matrix: (..., n) -> (..., n, n), zeros off the diagonal."
    shape_rule = "input with its last axis repeated: (..., n) -> (..., n, n)"

    def infer_shape(self, in_shapes, p):
        x = tuple(in_shapes[0])
        return x + x[-1:]

    def emit(self, ctx, inputs, p):
        return ctx.F.matrix_diag(inputs[0])


class MatrixDiagPart(Layer):
    category = "Others"
    doc = "The diagonal of the square matrices in the last two axes: (..., n, n) -> (..., n)."
    shape_rule = "input without its last axis: (..., n, n) -> (..., n)"

    def infer_shape(self, in_shapes, p):
        x = tuple(in_shapes[0])
        # nnabla does not check this and reads past the rows of non-square input
        if len(x) < 2 or x[-1] != x[-2]:
            raise ShapeError(f"expects square matrices in the last two axes, got shape {list(x)}.",
                             fix="give it an input shaped (..., n, n).")
        return x[:-1]

    def emit(self, ctx, inputs, p):
        return ctx.F.matrix_diag_part(inputs[0])


class Interpolate(Layer):
    category = "Others"
    doc = "Resizes the last len(output_size) axes (1 to 3) to `output_size` by linear interpolation."
    shape_rule = "the last len(output_size) axes replaced by output_size"
    props = {
        "output_size": Prop("pints", [32, 32], "Size of each resized axis, for the last len(output_size) axes.",
                            "OutputSize"),
        "mode": Prop("option", "linear", "Interpolation method.", "Mode", options=("linear",)),
        "align_corners": Prop("bool", True, "Map the corner elements of input and output onto each other "
                              "(input index = i * (in - 1) / (out - 1)); false: i * in / out.", "AlignCorners"),
    }

    def from_nntxt(self, args, ins, out, params):
        mode, size = args.mode or "linear", list(args.output_size)
        if mode != "linear":
            raise Unconvertible(f"mode {mode} (NNC's Interpolate is linear only)")
        if args.half_pixel:     # (half_pixel_for_nn changes only the nearest mode)
            raise Unconvertible("half_pixel true (NNC's Interpolate maps corners or i * in / out)")
        if args.channel_last:
            raise Unconvertible("channel_last true (NNC's Interpolate resizes the last axes)")
        if len(size) > len(ins[0]):
            raise Unconvertible(f"output_size {size} resizes the batch axis")
        return {"output_size": size, "mode": mode, "align_corners": args.align_corners}

    def infer_shape(self, in_shapes, p):
        x, size = tuple(in_shapes[0]), p["output_size"]
        if len(size) > 3:   # nnabla's kernels resize 1, 2 or 3 axes
            raise ShapeError(f"output_size {size} has {len(size)} values, but nnabla resizes 1 to 3 axes.",
                             fix="give output_size 1, 2 or 3 values.")
        lead = _trailing(len(size), x, "output_size")
        return x[:lead] + tuple(size)

    def emit(self, ctx, inputs, p):
        return ctx.F.interpolate(inputs[0], output_size=tuple(p["output_size"]), mode=p["mode"],
                                 align_corners=p["align_corners"])


class Flatten(Layer):
    category = "Others"
    doc = "Joins all axes after the batch into one."
    nnabla_function = "Reshape"
    nntxt_gap = "written as Reshape, which the import reads back as a Reshape layer"
    shape_rule = "(product of the input's axes,)"

    def infer_shape(self, in_shapes, p):
        return (size_of(in_shapes[0]),)

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        return ctx.F.reshape(x, (x.shape[0], size_of(x.shape[1:])), inplace=False)


class OneHot(Layer):
    category = "Others(Pre Process)"
    doc = ("Integer indices in the last axis (one per axis of `shape`) become a one-hot array of `shape`; "
           "an index outside `shape` gives all zeros.")
    shape_rule = "input with its last axis replaced by `shape`"
    props = {"shape": Prop("pints", [100], "Size of each one-hot axis (e.g. the number of classes).", "Shape")}

    def from_nntxt(self, args, ins, out, params):
        return {"shape": dims(args.shape)}

    def infer_shape(self, in_shapes, p):
        x, shape = tuple(in_shapes[0]), p["shape"]
        if x[-1] != len(shape):
            raise ShapeError(f"the input's last axis must hold one index per axis of shape {shape} (so size "
                             f"{len(shape)}), got input shape {list(x)}.",
                             fix="e.g. input (1,) of class labels with shape [number of classes].")
        return x[:-1] + tuple(shape)

    def emit(self, ctx, inputs, p):
        return ctx.F.one_hot(inputs[0], shape=tuple(p["shape"]))


# NNC's palette order; Flatten is not on NNC's palette
LAYERS = [Broadcast, BroadcastTo, Tile, Pad, Flip, Shift, Transpose, Slice, Stack, MatrixDiag, MatrixDiagPart,
          Interpolate, Flatten, OneHot]

UNSUPPORTED = {
    "Comment": "an editor-only note on NNC's canvas that computes nothing; write a YAML comment instead.",
    "Output": "NNC's hidden marker of a network output variable; every nncgraph layer's output is "
              "already available by its name.",
    "Unsupported": "NNC's placeholder for a layer its importer did not recognize; it has nothing to run.",
}
