"""NNC's pre-process layers: random augmentations that are active in training only, and MeanSubtraction.

A random layer with `skip_at_test` (NNC's SkipAtTest, true by default) is the
identity in the validation and runtime variants, except where it changes the
shape: there a deterministic centre crop (or, for a larger ImageAugmentation
shape, edge padding) keeps the shapes of all variants equal, so one set of
parameters serves them all.
"""
from __future__ import annotations

import dataclasses

from .base import (LAYER_SEED, PARAMETER_SCOPE, PLAIN_INITIALIZERS, FloatsProp, Layer, OptionalProp, ParamSpec, Prop,
                   ShapeError, channel_axis, parameter_props)
from .nntxt import Unconvertible, axis, check_base_axis, dims

_SKIP = Prop("bool", True, "Skip in the validation and runtime variants (identity there).", "SkipAtTest")


def _range(values, what, positive=False):
    if values[0] > values[1] or (positive and values[0] <= 0):
        raise ShapeError(f"{what} {values} must be [low, high] with low <= high"
                         + (" and low > 0." if positive else "."), fix=f"reorder or correct {what}.")


def _crop_shape(in_shape, shape, what="shape"):
    """The output of cropping the last len(shape) axes of `in_shape` to `shape`."""
    if len(shape) > len(in_shape):
        raise ShapeError(f"{what} {list(shape)} has more axes than the input {list(in_shape)}.",
                         fix=f"give {what} at most {len(in_shape)} values (the last axes).")
    return tuple(in_shape[:len(in_shape) - len(shape)]) + tuple(shape)


def _shape_argument(args, ins):
    """nnabla's shape argument, which like NNC's replaces the last len(shape) axes."""
    shape = dims(args.shape)
    if len(shape) > len(ins[0]):
        raise Unconvertible(f"shape {shape} for input {list(ins[0])} names the batch axis")
    return shape


def _centre(ctx, x, out_shape, pad_mode=None):
    """Centre crop (and, with `pad_mode`, centre pad) x's sample axes to out_shape."""
    start = [0] + [max(i - o, 0) // 2 for i, o in zip(x.shape[1:], out_shape)]
    stop = [x.shape[0]] + [s + min(i, o) for s, i, o in zip(start[1:], x.shape[1:], out_shape)]
    if any(s > 0 for s in start) or list(stop[1:]) != list(x.shape[1:]):
        x = ctx.F.slice(x, start, stop, [1] * len(start))
    widths = []
    for i, o in zip(x.shape[1:], out_shape):
        before = max(o - i, 0) // 2
        widths += [before, max(o - i, 0) - before]
    if pad_mode and any(widths):
        x = ctx.F.pad(x, widths, mode=pad_mode)
    return x


class _Random(Layer):
    category = "Others(Pre Process)"

    def active(self, ctx, p):
        return ctx.train or not p.get("skip_at_test", True)


class ImageAugmentation(_Random):
    doc = ("Random scale, rotation, aspect ratio, distortion, flips, brightness, contrast and noise on images "
           "(C, H, W) while training; validation and runtime take the centre of each image at `shape`.")
    shape_rule = "input with its last len(`shape`) axes replaced by `shape`"
    props = {
        "shape": OptionalProp("pints", None, "Output shape; the last two values are height and width.", "Shape",
                      derived="the input shape"),
        "pad": Prop("uints", [0, 0], "Padding added to both sides of height and width before cropping.", "Pad"),
        "min_scale": Prop("float", 1.0, "Smallest random scale.", "MinScale"),
        "max_scale": Prop("float", 1.0, "Largest random scale.", "MaxScale"),
        "angle": Prop("float", 0.0, "Rotation range in radians (rotates by -angle to +angle).", "Angle"),
        "aspect_ratio": Prop("float", 1.0, "Aspect ratio range (1/r to r).", "AspectRatio"),
        "distortion": Prop("float", 0.0, "Random distortion range.", "Distortion"),
        "flip_lr": Prop("bool", False, "Flip left-right with probability 0.5.", "FlipLR"),
        "flip_ud": Prop("bool", False, "Flip up-down with probability 0.5.", "FlipUD"),
        "brightness": Prop("float", 0.0, "Adds a random value in -brightness to +brightness.", "Brightness"),
        "brightness_each": Prop("bool", False, "A separate brightness value per channel.", "BrightnessEach"),
        "contrast": Prop("float", 1.0, "Multiplies the contrast by 1/contrast to contrast.", "Contrast"),
        "contrast_center": Prop("float", 0.5, "Intensity the contrast scales around.", "ContrastCenter"),
        "contrast_each": Prop("bool", False, "A separate contrast value per channel.", "ContrastEach"),
        "noise": Prop("float", 0.0, "Standard deviation of added Gaussian noise.", "Noise"),
        "seed": LAYER_SEED,
        "skip_at_test": _SKIP,
    }
    # the properties nnabla's function takes under the same names
    _AUGMENTATIONS = ("min_scale", "max_scale", "angle", "aspect_ratio", "distortion", "flip_lr", "flip_ud",
                      "brightness", "brightness_each", "contrast", "contrast_center", "contrast_each", "noise", "seed")

    def from_nntxt(self, args, ins, out, params):
        return {"shape": _shape_argument(args, ins), "pad": dims(args.pad),
                **{k: getattr(args, k) for k in self._AUGMENTATIONS}}

    def infer_shape(self, in_shapes, p):
        in_shape = in_shapes[0]
        shape = in_shape if p["shape"] is None else tuple(p["shape"])
        if len(in_shape) < 2 or len(shape) < 2:
            raise ShapeError(f"needs images of at least 2 axes (height, width); input {list(in_shape)}, "
                             f"shape {list(shape)}.", fix="give shape at least [height, width].")
        out = _crop_shape(in_shape, shape)
        if out[:-2] != tuple(in_shape[:-2]):   # nnabla would read channels that do not exist
            raise ShapeError(f"shape {list(shape)} changes axes other than height and width of the input "
                             f"{list(in_shape)}.", fix=f"keep them: e.g. shape: {list(in_shape[:-2]) + list(out[-2:])}.")
        if len(p["pad"]) != 2:
            raise ShapeError(f"pad {p['pad']} must have 2 values (height, width).", fix="e.g. pad: [4, 4]")
        return out

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        out = self.infer_shape([x.shape[1:]], p)
        if not self.active(ctx, p):
            return x if out == x.shape[1:] else _centre(ctx, x, out, pad_mode="repeat")
        return ctx.F.image_augmentation(x, shape=out, pad=tuple(p["pad"]), **{k: p[k] for k in self._AUGMENTATIONS})


class RandomCrop(_Random):
    doc = ("Crops a random window of `shape` from the last axes while training; validation and runtime take "
           "the centre window, so evaluation is repeatable.")
    shape_rule = "input with its last len(`shape`) axes replaced by `shape`"
    props = {
        "shape": OptionalProp("pints", None, "Size of the window (the last axes of the input).", "Shape",
                      derived="the input shape"),
        "seed": LAYER_SEED,
    }

    def from_nntxt(self, args, ins, out, params):
        check_base_axis(args)
        return {"shape": _shape_argument(args, ins), "seed": args.seed}

    def infer_shape(self, in_shapes, p):
        in_shape = in_shapes[0]
        if p["shape"] is None:
            return tuple(in_shape)
        out = _crop_shape(in_shape, p["shape"])
        if any(o > i for o, i in zip(out, in_shape)):
            raise ShapeError(f"shape {p['shape']} is larger than the input {list(in_shape)}.",
                             fix="crop to at most the input's size.")
        return out

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        out = self.infer_shape([x.shape[1:]], p)
        if not ctx.train:
            return x if out == x.shape[1:] else _centre(ctx, x, out)
        return ctx.F.random_crop(x, shape=out, base_axis=1, seed=p["seed"])


class RandomErase(_Random):
    doc = ("Replaces random rectangles of images (C, H, W) with random values while training "
           "(Zhong et al., Random Erasing).")
    props = {
        "prob": Prop("float", 0.5, "Probability of erasing, per sample and patch.", "Prob"),
        "area_ratios": FloatsProp("floats", [0.02, 0.4], "[low, high] of a patch's area / the image area.",
                                  "AreaRatios", length=2),
        "aspect_ratios": FloatsProp("floats", [0.3, 3.3333], "[low, high] of a patch's height / width.",
                                    "AspectRatios", length=2),
        "replacements": FloatsProp("floats", [0.0, 1.0], "[low, high] of the uniform replacement values.",
                                   "Replacements", length=2),
        # nnabla keeps 5 numbers per patch, sample and channel: a billion patches is gigabytes
        "n": Prop("pint", 1, "Most patches erased per sample.", "N", maximum=10_000),
        "share": Prop("bool", True, "One patch for all channels (false: one per channel).", "Share"),
        "seed": LAYER_SEED,
        "channel_last": Prop("bool", False, "Channels are the last axis (H, W, C).", "ChannelLast"),
        "ste_fine_grained": Prop("bool", True, "Pass gradients only where nothing was erased.", "STEFineGrained"),
        "skip_at_test": _SKIP,
    }

    def from_nntxt(self, args, ins, out, params):
        check_base_axis(args)
        ranges = {k: list(getattr(args, k)) for k in ("area_ratios", "aspect_ratios", "replacements")}
        return {**ranges, **{k: getattr(args, k) for k in ("prob", "n", "share", "seed", "channel_last",
                                                               "ste_fine_grained")}}

    def infer_shape(self, in_shapes, p):
        shape = in_shapes[0]
        if len(shape) != 3:
            raise ShapeError(f"erases patches of images (C, H, W), got shape {list(shape)}.",
                             fix="Reshape the input to 3 axes first.")
        if not 0.0 <= p["prob"] <= 1.0:
            raise ShapeError(f"prob must be in [0, 1], got {p['prob']}.", fix="e.g. prob: 0.5")
        _range(p["area_ratios"], "area_ratios", positive=True)
        _range(p["aspect_ratios"], "aspect_ratios", positive=True)
        _range(p["replacements"], "replacements")
        return tuple(shape)

    def emit(self, ctx, inputs, p):
        if not self.active(ctx, p):
            return inputs[0]
        return ctx.F.random_erase(
            inputs[0], prob=p["prob"], area_ratios=tuple(p["area_ratios"]), aspect_ratios=tuple(p["aspect_ratios"]),
            replacements=tuple(p["replacements"]), n=p["n"], share=p["share"], base_axis=1, seed=p["seed"],
            channel_last=p["channel_last"], ste_fine_grained=p["ste_fine_grained"])


class RandomFlip(_Random):
    doc = "Reverses each of `axes` with probability 0.5, per sample, while training."
    props = {
        "axes": Prop("uints", [0], "Axes that may be reversed (0 = first axis after the batch).", "Axes"),
        "seed": LAYER_SEED,
        "skip_at_test": _SKIP,
    }

    def from_nntxt(self, args, ins, out, params):
        check_base_axis(args)
        return {"axes": [axis(a) for a in args.axes], "seed": args.seed}

    def infer_shape(self, in_shapes, p):
        for a in p["axes"]:
            channel_axis(a, in_shapes[0], "axes value")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        if not self.active(ctx, p):
            return inputs[0]
        return ctx.F.random_flip(inputs[0], axes=[a + 1 for a in p["axes"]], base_axis=1, seed=p["seed"])


class RandomShift(_Random):
    doc = "Shifts the last len(`shift`) axes by a random amount in -shift to +shift, per sample, while training."
    props = {
        "shift": Prop("ints", [0, 0], "Largest shift of each of the last axes.", "Shift"),
        "border_mode": Prop("option", "nearest", "What fills the vacated border: the nearest value or a "
                            "reflection.", "BorderMode", options=("nearest", "reflect")),
        "seed": LAYER_SEED,
        "skip_at_test": _SKIP,
    }

    def from_nntxt(self, args, ins, out, params):
        check_base_axis(args)
        # constant_value is left out: it fills only under border_mode constant, which is refused
        if args.border_mode not in self.props["border_mode"].options:
            raise Unconvertible(f"border_mode '{args.border_mode}' (NNC's RandomShift fills with the nearest value "
                                "or a reflection)")
        # shifts name the last axes, as NNC's shift does; nnabla's default names the batch axis too, with 0
        shift, batch = list(args.shifts), []
        if len(shift) > len(ins[0]):
            batch, shift = shift[:-len(ins[0])], shift[-len(ins[0]):]
        if any(batch):      # nnabla would shift along the batch axis, mixing samples
            raise Unconvertible(f"shifts {list(args.shifts)} for input {list(ins[0])} shift the batch axis")
        return {"shift": shift, "border_mode": args.border_mode, "seed": args.seed}

    def infer_shape(self, in_shapes, p):
        shape = in_shapes[0]
        _crop_shape(shape, p["shift"], "shift")
        if min(p["shift"]) < 0:
            raise ShapeError(f"shift {p['shift']} must not be negative (it is a range: -shift to +shift).",
                             fix="give the largest absolute shift per axis.")
        return tuple(shape)

    def emit(self, ctx, inputs, p):
        if not self.active(ctx, p):
            return inputs[0]
        return ctx.F.random_shift(inputs[0], shifts=tuple(p["shift"]), border_mode=p["border_mode"], base_axis=1,
                                  seed=p["seed"])


def _untrained(**params):
    """parameter_props with NNC's learning-rate multiplier default of 0 (running statistics)."""
    props = parameter_props(**params)
    for name in params:
        key = f"{name.lower()}_lrate_multiplier"
        props[key] = dataclasses.replace(props[key], default=0.0)
    return props


class MeanSubtraction(Layer):
    category = "Others(Pre Process)"
    doc = ("Subtracts the running mean of the input: training updates it with each batch's mean (a cumulative "
           "average); parameters `<scope>/mean_subtraction/mean` and `/t` (the batch count), not trained.")
    props = {
        "base_axis": Prop("uint", 0, "Axes before it are sample axes; the mean has the shape of the rest.",
                          "BaseAxis"),
        "update_running_mean": Prop("bool", True, "Update the mean while training.", "UpdateRunningMean"),
        "parameter_scope": PARAMETER_SCOPE,
        **_untrained(mean=("Constant", 0.0, PLAIN_INITIALIZERS), t=("Constant", 0.0, PLAIN_INITIALIZERS)),
    }

    def from_nntxt(self, args, ins, out, params):
        if args.base_axis < 1:
            raise Unconvertible(f"base_axis {args.base_axis} (a running mean per batch index; NNC's "
                                "MeanSubtraction averages over the batch)")
        return {"base_axis": axis(args.base_axis), "update_running_mean": args.update_running_mean}

    def _mean_shape(self, shape, p):
        return tuple(shape[channel_axis(p["base_axis"], shape, "base_axis") - 1:])

    def infer_shape(self, in_shapes, p):
        self._mean_shape(in_shapes[0], p)
        return tuple(in_shapes[0])

    def parameters(self, in_shapes, p):
        return [ParamSpec("mean_subtraction/mean", self._mean_shape(in_shapes[0], p), trainable=False),
                ParamSpec("mean_subtraction/t", (1,), trainable=False)]

    def emit(self, ctx, inputs, p):
        return ctx.PF.mean_subtraction(inputs[0], base_axis=p["base_axis"] + 1,
                                       update_running_mean=ctx.train and p["update_running_mean"])


LAYERS = [ImageAugmentation, RandomCrop, RandomErase, RandomFlip, RandomShift, MeanSubtraction]
