"""Arithmetic layers: with a scalar `value`, between two inputs (broadcast NumPy-style, as
NNC's *BasicMathOutputSizewBC and nnabla's binary functions do), and over N equal-shaped inputs."""
from __future__ import annotations

from .base import Layer, Prop, ShapeError
from .shape_rules import broadcast_shape


class _Scalar(Layer):
    category = "Arithmetic (Scalar)"
    function = ""

    def from_nntxt(self, args, ins, out, params):
        return {"value": args.val}

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], val=p["value"])


def _value(default, doc):
    return {"value": Prop("float", default, doc, "Value")}


class AddScalar(_Scalar):
    doc = "x + value."
    function = "add_scalar"
    props = _value(0.0, "Added to every element.")


class MulScalar(_Scalar):
    doc = "x * value."
    function = "mul_scalar"
    props = _value(1.0, "Multiplies every element.")


class RSubScalar(_Scalar):
    doc = "value - x."
    function = "r_sub_scalar"
    props = _value(0.0, "What each element is subtracted from.")


class RDivScalar(_Scalar):
    doc = "value / x."
    function = "r_div_scalar"
    props = _value(1.0, "What is divided by each element.")


class PowScalar(_Scalar):
    doc = "x ** value."
    function = "pow_scalar"
    props = _value(2.0, "Exponent applied to every element.")


class RPowScalar(_Scalar):
    doc = "value ** x."
    function = "r_pow_scalar"
    props = _value(1.0, "Base raised to the power of each element.")


class MaximumScalar(_Scalar):
    doc = "max(x, value): x with a lower bound."
    function = "maximum_scalar"
    props = _value(0.0, "Lower bound of the output.")


class MinimumScalar(_Scalar):
    doc = "min(x, value): x with an upper bound."
    function = "minimum_scalar"
    props = _value(1.0, "Upper bound of the output.")


class _Binary(Layer):
    category = "Arithmetic (2 Inputs)"
    shape_rule = "the inputs broadcast NumPy-style: equal number of axes, each axis equal or 1 in one input"
    n_inputs = 2
    function = ""
    props = {}

    def infer_shape(self, in_shapes, p):
        return broadcast_shape(*in_shapes)

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(inputs[0], inputs[1])


class Add2(_Binary):
    mutation_traits = frozenset({"join"})
    doc = "Elementwise sum of two inputs (residual connections)."
    function = "add2"
    props = {"in_place": Prop("bool", False, "Ignored: nnabla decides in-place execution itself.", "InPlace")}


class Sub2(_Binary):
    side_pins = ("R",)
    doc = "First input minus the second (NNC's R connector), elementwise."
    function = "sub2"


class Mul2(_Binary):
    doc = "Elementwise product of two inputs."
    function = "mul2"


class Div2(_Binary):
    side_pins = ("R",)
    doc = "First input divided by the second (NNC's R connector), elementwise."
    function = "div2"


class Pow2(_Binary):
    side_pins = ("R",)
    doc = "First input raised to the power of the second (NNC's R connector), elementwise."
    function = "pow2"


class Maximum2(_Binary):
    doc = "Elementwise maximum of two inputs."
    function = "maximum2"


class Minimum2(_Binary):
    doc = "Elementwise minimum of two inputs."
    function = "minimum2"


class _Nary(Layer):
    category = "Arithmetic (N Inputs)"
    shape_rule = "the common shape of the inputs, which must all be equal"
    n_inputs = (2, None)
    function = ""
    props = {}

    def infer_shape(self, in_shapes, p):
        shapes = [tuple(s) for s in in_shapes]
        if any(s != shapes[0] for s in shapes):
            # nnabla's AddN and MulN do not broadcast, although NNC's editor shows a broadcast shape
            raise ShapeError(f"needs inputs of one shape, got {', '.join(str(list(s)) for s in shapes)}.",
                             fix="give every input the same shape, or chain Add2/Mul2 layers, which broadcast.")
        return shapes[0]

    def emit(self, ctx, inputs, p):
        return getattr(ctx.F, self.function)(*inputs)


class AddN(_Nary):
    mutation_traits = frozenset({"join"})
    doc = "Elementwise sum of any number of equal-shaped inputs."
    function = "add_n"


class MulN(_Nary):
    doc = "Elementwise product of any number of equal-shaped inputs."
    function = "mul_n"


# NNC's palette order
LAYERS = [AddScalar, MulScalar, RSubScalar, RDivScalar, PowScalar, RPowScalar, MaximumScalar, MinimumScalar,
          Add2, Sub2, Mul2, Div2, Pow2, Maximum2, Minimum2, AddN, MulN]
