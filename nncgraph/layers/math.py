"""Math, reductions and trigonometric layers: elementwise or along axes."""
from __future__ import annotations

import math

from .base import Layer, Prop, ShapeError, channel_axis, size_of
from .nntxt import axis, reduction
from .shape_rules import broadcast_shape


# -- elementwise ---------------------------------------------------------------------------
class _Elementwise(Layer):
    category = "Math"
    function = ""          # nnabla.functions name
    arg_props = {}         # {nnabla argument: property name}

    def from_nntxt(self, args, ins, out, params):
        return {prop: getattr(args, arg) for arg, prop in self.arg_props.items()}

    def emit(self, ctx, inputs, p):
        kwargs = {arg: p[prop] for arg, prop in self.arg_props.items()}
        return getattr(ctx.F, self.function)(inputs[0], **kwargs)


def _simple(name, function, doc, category="Math", props=None, args=None):
    return type(name, (_Elementwise,), {
        "function": function, "doc": doc, "category": category, "props": props or {},
        "arg_props": args or {}, "__module__": __name__})


Log = _simple("Log", "log", "Natural logarithm (inputs must be positive).")
Exp = _simple("Exp", "exp", "e to the power of x.")
Sign = _simple("Sign", "sign", "1 where x > 0, -1 where x < 0, and `alpha` where x is 0.",
               props={"alpha": Prop("float", 0.0, "Output where the input is exactly 0.", "Alpha")},
               args={"alpha": "alpha"})
Round = _simple("Round", "round", "Nearest integer; halves round away from zero (2.5 -> 3, -0.5 -> -1).")
Ceil = _simple("Ceil", "ceil", "Smallest integer not below x.")
Floor = _simple("Floor", "floor", "Largest integer not above x.")

_TRIG = "Trigonometric"
Sin = _simple("Sin", "sin", "Sine (radians).", _TRIG)
Cos = _simple("Cos", "cos", "Cosine (radians).", _TRIG)
Tan = _simple("Tan", "tan", "Tangent (radians).", _TRIG)
Sinh = _simple("Sinh", "sinh", "Hyperbolic sine.", _TRIG)
Cosh = _simple("Cosh", "cosh", "Hyperbolic cosine.", _TRIG)
ASin = _simple("ASin", "asin", "Inverse sine, in radians (inputs in [-1, 1]).", _TRIG)
ACos = _simple("ACos", "acos", "Inverse cosine, in radians (inputs in [-1, 1]).", _TRIG)
ATan = _simple("ATan", "atan", "Inverse tangent, in radians.", _TRIG)
ASinh = _simple("ASinh", "asinh", "Inverse hyperbolic sine.", _TRIG)
ACosh = _simple("ACosh", "acosh", "Inverse hyperbolic cosine (inputs of 1 or more).", _TRIG)
ATanh = _simple("ATanh", "atanh", "Inverse hyperbolic tangent (inputs in (-1, 1)).", _TRIG)


class ATan2(Layer):
    side_pins = ("x",)
    category = _TRIG
    doc = ("Angle in radians of the point (second input, first input): atan(first / second) with the "
           "quadrant taken from both signs; the second input is NNC's x connector.")
    shape_rule = "the inputs broadcast NumPy-style: equal number of axes, each axis equal or 1 in one input"
    n_inputs = 2

    def infer_shape(self, in_shapes, p):
        return broadcast_shape(*in_shapes)

    def emit(self, ctx, inputs, p):
        return ctx.F.atan2(inputs[0], inputs[1])


# -- cumulative and reductions -------------------------------------------------------------
class _Cumulative(Layer):
    category = "Math"
    function = ""

    def infer_shape(self, in_shapes, p):
        channel_axis(p["axis"], in_shapes[0])
        return tuple(in_shapes[0])

    def from_nntxt(self, args, ins, out, params):
        return {"axis": axis(args.axis), "exclusive": args.exclusive, "reverse": args.reverse}

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], axis=p["axis"] + 1, exclusive=p["exclusive"],
                                             reverse=p["reverse"])


def _cumulative_props(what):
    return {"axis": Prop("uint", 0, f"Axis along which to {what} (0 = first axis after the batch).", "Axis"),
            "exclusive": Prop("bool", False, "Leave each element itself out: the first output is the "
                              "identity (0 for sums, 1 for products).", "Exclusive"),
            "reverse": Prop("bool", False, "Accumulate from the end of the axis towards its start.", "Reverse")}


class CumSum(_Cumulative):
    doc = "Running sum along `axis`."
    function = "cumsum"
    props = _cumulative_props("add up")


class CumProd(_Cumulative):
    doc = "Running product along `axis`."
    function = "cumprod"
    props = _cumulative_props("multiply")


def reduced_axes(axes, shape):
    """nnabla's axes (batch included) for NNC's `axes`; each must exist once."""
    out = [channel_axis(a, shape, "axes value") for a in axes]
    if len(set(out)) != len(out):
        raise ShapeError(f"axes {list(axes)} name an axis more than once.", fix="list each axis once.")
    return out


_REDUCE_PROPS = {
    "axes": Prop("ints", [0], "Axes to reduce (0 = first axis after the batch).", "Axes"),
    "keep_dims": Prop("bool", False, "Keep the reduced axes, with size 1.", "KeepDims"),
}


class _Reduction(Layer):
    category = "Math"
    shape_rule = "the input without `axes` (kept with size 1 when keep_dims)"
    function = ""
    props = _REDUCE_PROPS

    from_nntxt = reduction

    def infer_shape(self, in_shapes, p):
        shape = tuple(in_shapes[0])
        gone = {a - 1 for a in reduced_axes(p["axes"], shape)}
        if p["keep_dims"]:
            return tuple(1 if i in gone else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in gone)

    def kwargs(self, p):
        return {}

    def emit(self, ctx, inputs, p):
        axes = [a + 1 for a in p["axes"]]
        return getattr(ctx.F, self.function)(inputs[0], axis=axes, keepdims=p["keep_dims"], **self.kwargs(p))


class Sum(_Reduction):
    doc = "Sum over `axes`."
    function = "sum"


class Mean(_Reduction):
    doc = "Mean over `axes`."
    function = "mean"


class Prod(_Reduction):
    doc = "Product over `axes`."
    function = "prod"


class _Extreme(_Reduction):
    props = {
        **_REDUCE_PROPS,
        "with_index": Prop("bool", False, "Also compute the position of the extreme; the layer still outputs "
                           "the values (use only_index for the positions).", "WithIndex"),
        "only_index": Prop("bool", False, "Output the position of the extreme instead of its value (counted "
                           "row-major over the reduced axes together).", "OnlyIndex"),
    }

    def from_nntxt(self, args, ins, out, params):
        return {**reduction(self, args, ins, out, params), "with_index": args.with_index,
                "only_index": args.only_index}

    def emit(self, ctx, inputs, p):
        y = getattr(ctx.F, self.function)(inputs[0], axis=[a + 1 for a in p["axes"]], keepdims=p["keep_dims"],
                                          with_index=p["with_index"], only_index=p["only_index"])
        # with_index alone gives (values, indices); an NNC layer has one output, the values
        y = y[0] if isinstance(y, tuple) else y
        if p["only_index"]:
            # nnabla's backward would send gradient to the extreme's input as if it were the value;
            # a position does not change with small input changes, so its gradient is 0
            y.need_grad = False
        return y


class Max(_Extreme):
    doc = "Maximum over `axes`, or its position with only_index."
    function = "max"


class Min(_Extreme):
    doc = "Minimum over `axes`, or its position with only_index."
    function = "min"


# The order of a p-norm, for Norm and NormNormalization.
NORM_ORDER = Prop("float", 2.0, "Order of the norm (1 or more).", "P")


def check_norm_order(p: float) -> None:
    # nnabla refuses p < 1 while building, with a C++ location, and p = inf silently yields 1 everywhere
    if not 1 <= p < math.inf:
        raise ShapeError(f"p must be a finite number of 1 or more, got {p}.",
                         fix="use p: 1 or p: 2; for the largest |x|, use Max after an absolute value.")


class Norm(_Reduction):
    doc = "p-norm over `axes`: (sum of |x|^p) ^ (1/p)."
    function = "norm"
    props = {"p": NORM_ORDER, **_REDUCE_PROPS}

    def from_nntxt(self, args, ins, out, params):
        return {"p": args.p, **reduction(self, args, ins, out, params)}

    def infer_shape(self, in_shapes, p):
        check_norm_order(p["p"])
        return super().infer_shape(in_shapes, p)

    def kwargs(self, p):
        return {"p": p["p"]}


# -- matrices ------------------------------------------------------------------------------
def _square(shape, what):
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ShapeError(f"expects one square matrix per sample (shape [n, n]), got shape {list(shape)}.",
                         fix=f"Reshape the input to [n, n]; {what}")
    return shape[0]


class _SquareMatrix(Layer):
    category = "Math"
    function = ""

    def macs(self, in_shapes, out_shape, p):
        return in_shapes[0][0] ** 3    # NNC: Input[1]^3, one LU-style elimination

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0])


class BatchInv(_SquareMatrix):
    doc = "Inverse of each sample's square matrix."
    function = "batch_inv"
    shape_rule = "same shape as the input, a square matrix [n, n]"

    def infer_shape(self, in_shapes, p):
        _square(tuple(in_shapes[0]), "nnabla inverts exactly one matrix per sample.")
        return tuple(in_shapes[0])


class BatchDet(_SquareMatrix):
    doc = "Determinant of each sample's square matrix: one number per sample."
    function = "batch_det"
    shape_rule = "[] (one number per sample) from a square matrix [n, n]"

    def infer_shape(self, in_shapes, p):
        _square(tuple(in_shapes[0]), "nnabla takes exactly one matrix per sample.")
        return ()


class BatchLogdet(BatchDet):
    doc = "log |determinant| of each sample's square matrix: one number per sample."
    function = "batch_logdet"


class BatchMatmul(Layer):
    side_pins = ("R",)
    category = "Math"
    doc = ("Matrix product over the last two axes, first input [.., m, k] times the second (NNC's R "
           "connector) [.., k, n]; leading axes broadcast.")
    shape_rule = "[.., m, n] from [.., m, k] and [.., k, n]; the leading axes broadcast NumPy-style"
    n_inputs = 2

    def infer_shape(self, in_shapes, p):
        a, b = tuple(in_shapes[0]), tuple(in_shapes[1])
        if len(a) != len(b) or len(a) < 2 or a[-1] != b[-2]:
            raise ShapeError(f"cannot multiply matrices of shapes {list(a)} and {list(b)}: both need the same "
                             "number of axes, 2 or more, and the last size of the first must equal the "
                             "second-to-last of the second.",
                             fix="Reshape the inputs to [.., m, k] and [.., k, n].")
        return broadcast_shape(a[:-2], b[:-2], "leading-axes") + (a[-2], b[-1])

    def macs(self, in_shapes, out_shape, p):
        return size_of(out_shape) * in_shapes[0][-1]

    def emit(self, ctx, inputs, p):
        return ctx.F.batch_matmul(inputs[0], inputs[1])


# NNC's palette order
LAYERS = [Sum, CumSum, Mean, Prod, CumProd, Max, Min, Norm, Log, Exp, Sign, BatchMatmul, BatchInv, BatchDet,
          BatchLogdet, Round, Ceil, Floor,
          Sin, Cos, Tan, Sinh, Cosh, ASin, ACos, ATan, ATan2, ASinh, ACosh, ATanh]
