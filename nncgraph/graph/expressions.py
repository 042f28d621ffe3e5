"""`$` values: unit argument substitution and the arithmetic of `$` expressions.

A unit's body is copied per instance with `$maps` replaced by the argument's
value (of any type: a number, a bool, an option, a list) and `$maps * 4`
evaluated; `$input_shape[i]` (axis i of the layer's input shape, NNC's
`Input[i]`), in any layer of a unit or a network, waits as a `ShapeExpression`
until the layer's input is known (graph/expand.py). Expressions are plain arithmetic over
numbers, evaluated on the parsed tree (never `eval`), and bounded: every step
stays a finite real number below 2^63, and a power that would exceed it is
refused before it is computed, so `$a ** $a ** $a` cannot hang.
"""
from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from ..errors import Location, UserError, did_you_mean, shown
from ..project.model import ArgumentValue, LayerSpec

_ARG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
        ast.Div: operator.truediv, ast.Mod: operator.mod, ast.Pow: operator.pow}
MAX_VALUE_BITS = 63            # every step of an expression fits an int64, as nnabla's values do
MAX_EXPRESSION = 1000          # characters, so parsing and evaluating stay cheap and shallow
INPUT_SHAPE = "input_shape"         # `$input_shape[i]`: reserved, never an argument
_EXPRESSION_FIX = ("use an argument ($maps), axis i of the layer's input shape ($input_shape[i]), or arithmetic "
                   "of them and numbers ($input_shape[0] // $ratio).")


@dataclass(frozen=True)
class ShapeExpression:
    """A unit value that reads its layer's input shape, so it waits (arguments already substituted)
    until the layer is expanded and its input known."""

    expression: str                 # Python arithmetic over numbers and `input_shape[i]`
    written: str                    # as in the project file, for messages
    where: Optional[Location]

    def __repr__(self) -> str:      # if one is ever shown, show what the user wrote
        return self.written


def substitute(value: Any, args: Dict[str, Any], unit: Optional[str]) -> Any:
    """A copy of a layer's value with each `$arg` (or arithmetic expression of args, `$maps * 4`)
    replaced; a value using `$input_shape` becomes a `ShapeExpression`. `unit` None: a network's
    layer, which has no arguments."""
    if isinstance(value, ArgumentValue):
        return _substitute_text(value.written, args, unit, value.where)
    if isinstance(value, list):
        return [substitute(v, args, unit) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, args, unit) for k, v in value.items()}
    return value


def _substitute_text(value: str, args: Dict[str, Any], unit: Optional[str], where: Location) -> Any:
    whole = _ARG.fullmatch(value.strip())
    names = _ARG.findall(value)
    for n in names:
        if n not in args and n != INPUT_SHAPE:
            hint = did_you_mean(n, list(args) + [INPUT_SHAPE])
            if unit is None:
                raise UserError(f"'${n}' is not known here: a network's layers have no arguments.", location=where,
                                fix=(hint + " " if hint else "") + "write the value, or use $input_shape[i] (axis "
                                "i of the layer's input shape); arguments ($maps) belong to the layers of a unit, "
                                "under `units:`.")
            raise UserError(f"'${n}' is not an argument of unit '{unit}'.", location=where,
                            fix=(hint + " " if hint else "") + f"Its arguments: {', '.join(args) or 'none'} "
                            "(and $input_shape[i], axis i of the layer's input shape).")
    if INPUT_SHAPE in names:
        return ShapeExpression(_ARG.sub(lambda m: INPUT_SHAPE if m.group(1) == INPUT_SHAPE
                                        else repr(args[m.group(1)]), value), value, where)
    if whole:
        return args[whole.group(1)]
    return _evaluate(_ARG.sub(lambda m: repr(args[m.group(1)]), value), value, where)


def _evaluate(expression: str, written: str, where, shape: Optional[Tuple[int, ...]] = None) -> Any:
    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return _bounded(node.value, written, where)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow):
                _check_power(left, right, written, where)
            return _bounded(_OPS[type(node.op)](left, right), written, where)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if shape is not None and isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == INPUT_SHAPE:
            return _axis(node.slice, shape, written, where)
        raise ValueError
    if len(expression) > MAX_EXPRESSION:
        raise UserError(f"the expression {shown(written)} is longer than {MAX_EXPRESSION} characters.",
                        location=where, fix="compute the value in fewer steps, or write the number.")
    try:
        result = walk(ast.parse(expression, mode="eval"))
    except (ValueError, SyntaxError, ZeroDivisionError, TypeError, OverflowError, RecursionError, MemoryError):
        raise UserError(f"cannot evaluate {shown(written)}.", location=where, fix=_EXPRESSION_FIX) from None
    return int(result) if isinstance(result, float) and result.is_integer() else result


def _check_power(base, exponent, written, where) -> None:
    """Refuse a power whose result would be too large before computing it: `99 ** 99 ** 99` would
    take Python forever and all memory."""
    if isinstance(exponent, int) and abs(base) >= 2 and exponent * math.log2(abs(base)) > MAX_VALUE_BITS:
        raise UserError(f"{shown(written)} is astronomically large (about 10^{exponent * math.log10(abs(base)):,.0f}).",
                        location=where, fix=f"a layer value must stay below 2^{MAX_VALUE_BITS}; use smaller "
                        "arguments or exponents.")


def _bounded(value, written, where):
    """Every step of an expression stays a finite real number below 2^MAX_VALUE_BITS."""
    if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)) \
            or abs(value) >= 2 ** MAX_VALUE_BITS:
        raise UserError(f"{shown(written)} is {'not a real number' if isinstance(value, complex) else 'too large'}.",
                        location=where, fix=f"a layer value must be a real number below 2^{MAX_VALUE_BITS}; use "
                        "smaller arguments.")
    return value


def _axis(index, shape, written, where) -> int:
    if not (isinstance(index, ast.Constant) and isinstance(index.value, int) and not isinstance(index.value, bool)
            and index.value >= 0):
        raise UserError(f"'{written}': the index of $input_shape must be a whole number, 0 or more.",
                        location=where, fix="e.g. $input_shape[0], the input's channels.")
    if index.value >= len(shape):
        raise UserError(f"'{written}' reads axis {index.value} of the layer's input shape {list(shape)}, which has "
                        f"{len(shape)} ax{'is' if len(shape) == 1 else 'es'}.", location=where,
                        fix=f"use an axis from 0 to {len(shape) - 1} ($input_shape[0] is the first axis after the "
                            "batch axis: the channels of an image).")
    return shape[index.value]


def has_shape_expression(value) -> bool:
    return isinstance(value, ShapeExpression) or \
        (isinstance(value, list) and any(isinstance(v, ShapeExpression) for v in value))


def shape_expressions(props: Dict[str, Any]):
    for value in props.values():
        for v in (value if isinstance(value, list) else [value]):
            if isinstance(v, ShapeExpression):
                yield v


def evaluate_shapes(value, shape, where) -> Any:
    try:
        if isinstance(value, ShapeExpression):
            return _evaluate(value.expression, value.written, value.where, shape)
        if isinstance(value, list) and has_shape_expression(value):
            return [evaluate_shapes(v, shape, where) for v in value]
    except UserError as exc:
        raise exc.with_context(**where) from None
    return value


def no_shape_expressions(spec: LayerSpec) -> None:
    for expression in shape_expressions(spec.props):
        raise UserError(f"'{expression.written}': a {spec.type} cannot read $input_shape.", location=expression.where,
                        layer=spec.name, layer_type=spec.type,
                        fix="use $input_shape in a layer's (or a Unit instance's) values; write a number or a unit "
                            "argument here.")
