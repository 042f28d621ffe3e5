"""Logical and comparison layers: outputs of 0 and 1."""
from __future__ import annotations

from .base import Layer, Prop
from .shape_rules import broadcast_shape

_BROADCAST_RULE = "the inputs broadcast NumPy-style: equal number of axes, each axis equal or 1 in one input"


class _Unary(Layer):
    category = "Logical"
    function = ""
    props = {}

    def emit(self, ctx, inputs, p):
        y = getattr(ctx.F, self.function)(*inputs, **self.kwargs(p))
        # nnabla has no backward for these functions, so a trained layer before one would fail in
        # backward; their true gradient is 0 almost everywhere, which cutting the graph here gives
        y.need_grad = False
        return y

    def kwargs(self, p):
        return {}


class _Binary(_Unary):
    shape_rule = _BROADCAST_RULE
    n_inputs = 2

    def infer_shape(self, in_shapes, p):
        return broadcast_shape(*in_shapes)


class _Scalar(_Unary):
    def from_nntxt(self, args, ins, out, params):
        # a logical one's .nntxt holds the bool nnabla takes: it comes back as 1 or 0, the same layer
        return {"value": float(args.val)}

    def kwargs(self, p):
        return {"val": p["value"]}


class _LogicalScalar(_Scalar):
    def kwargs(self, p):
        # nnabla's logical *Scalar functions take a bool; NNC's Value is a number, true when nonzero
        return {"val": p["value"] != 0}


def _layer(name, base, function, doc, value_doc=""):
    attrs = {"function": function, "doc": doc, "__module__": __name__}
    if value_doc:
        attrs["props"] = {"value": Prop("float", 0.0, value_doc, "Value")}
    return type(name, (base,), attrs)


_COMPARED = "Number every element is compared with."
_OPERAND = "Second operand; nonzero counts as true."

LogicalAnd = _layer("LogicalAnd", _Binary, "logical_and", "1 where both inputs are nonzero, else 0.")
LogicalOr = _layer("LogicalOr", _Binary, "logical_or", "1 where either input is nonzero, else 0.")
LogicalXor = _layer("LogicalXor", _Binary, "logical_xor", "1 where exactly one input is nonzero, else 0.")
Equal = _layer("Equal", _Binary, "equal", "1 where the inputs are equal, else 0.")
NotEqual = _layer("NotEqual", _Binary, "not_equal", "1 where the inputs differ, else 0.")
GreaterEqual = _layer("GreaterEqual", _Binary, "greater_equal",
                      "1 where the first input is at least the second (NNC's R connector), else 0.")
Greater = _layer("Greater", _Binary, "greater",
                 "1 where the first input is above the second (NNC's R connector), else 0.")
LessEqual = _layer("LessEqual", _Binary, "less_equal",
                   "1 where the first input is at most the second (NNC's R connector), else 0.")
Less = _layer("Less", _Binary, "less", "1 where the first input is below the second (NNC's R connector), else 0.")
LogicalAndScalar = _layer("LogicalAndScalar", _LogicalScalar, "logical_and_scalar",
                          "1 where x is nonzero and `value` is nonzero, else 0.", _OPERAND)
LogicalOrScalar = _layer("LogicalOrScalar", _LogicalScalar, "logical_or_scalar",
                         "1 where x is nonzero or `value` is nonzero, else 0.", _OPERAND)
LogicalXorScalar = _layer("LogicalXorScalar", _LogicalScalar, "logical_xor_scalar",
                          "1 where exactly one of x and `value` is nonzero, else 0.", _OPERAND)
EqualScalar = _layer("EqualScalar", _Scalar, "equal_scalar", "1 where x equals `value`, else 0.", _COMPARED)
NotEqualScalar = _layer("NotEqualScalar", _Scalar, "not_equal_scalar", "1 where x differs from `value`, else 0.",
                        _COMPARED)
GreaterEqualScalar = _layer("GreaterEqualScalar", _Scalar, "greater_equal_scalar",
                            "1 where x >= `value`, else 0.", _COMPARED)
GreaterScalar = _layer("GreaterScalar", _Scalar, "greater_scalar", "1 where x > `value`, else 0.", _COMPARED)
LessEqualScalar = _layer("LessEqualScalar", _Scalar, "less_equal_scalar", "1 where x <= `value`, else 0.",
                         _COMPARED)
LessScalar = _layer("LessScalar", _Scalar, "less_scalar", "1 where x < `value`, else 0.", _COMPARED)
LogicalNot = _layer("LogicalNot", _Unary, "logical_not", "1 where x is 0, else 0.")
IsNaN = _layer("IsNaN", _Unary, "isnan", "1 where x is NaN (not a number), else 0.")
IsInf = _layer("IsInf", _Unary, "isinf", "1 where x is infinite, else 0.")

for _compared in (GreaterEqual, Greater, LessEqual, Less):
    _compared.side_pins = ("R",)      # the second input is NNC's R connector

# NNC's palette order
LAYERS = [LogicalAnd, LogicalOr, LogicalXor, Equal, NotEqual, GreaterEqual, Greater, LessEqual, Less,
          LogicalAndScalar, LogicalOrScalar, LogicalXorScalar, EqualScalar, NotEqualScalar, GreaterEqualScalar,
          GreaterScalar, LessEqualScalar, LessScalar, LogicalNot, IsNaN, IsInf]
