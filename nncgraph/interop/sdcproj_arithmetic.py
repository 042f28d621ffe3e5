"""NNC's arithmetic in property values: "1/255", "Input[0]*2", and in a unit's network "Input[0]/Ratio".

A value is evaluated on its parsed tree (never `eval`) with the argument defaults, under the same bounds
as nncgraph's own `$` expressions (graph/expressions.py): at most MAX_EXPRESSION characters, so parsing
and evaluating stay cheap and shallow, and every step a finite real number below 2^MAX_VALUE_BITS, a
power that would pass it refused before it is computed (`9**9**9` would take Python hours).
"""
from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any, Callable, Dict, Optional, Tuple

from ..errors import UserError, shown
from ..graph.expressions import MAX_EXPRESSION, MAX_VALUE_BITS

# NNC's `Input[i]` is the layer's input shape; any other name is an argument
_SYMBOL = re.compile(r"(?P<shape>\bInput(?=\s*\[))|\b[A-Za-z_]\w*\b")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_BOUND_FIX = f"write a value below 2^{MAX_VALUE_BITS}."
Error = Callable[[str, str], UserError]      # (what is wrong with the value, fix) -> the error at its line


def number(args: Optional[Dict[str, Any]], text: str, kind, error: Error) -> Tuple[Any, Any]:
    """(written, concrete) of a number (`kind` int or float) or an expression; `args`: the unit's argument
    defaults, None outside a unit. `concrete` is None where the value reads the input's shape."""
    try:
        value = kind(text)
        return value, value
    except ValueError:
        pass
    value, symbolic = _expression(args, text, error)
    if value is None:
        return symbolic, None
    if kind is int:
        if not float(value).is_integer():
            raise error(f"is {shown(value, quote=False)}, not a whole number.", "write a whole number.")
        value = int(value)
    else:
        value = float(value)
    return (symbolic if symbolic else value), value


def _bounded(value, error: Error):
    if isinstance(value, complex):
        raise error("is not a real number.", "write a real number.")
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) >= 2 ** MAX_VALUE_BITS:
        raise error("is too large.", _BOUND_FIX)
    return value


def _power(base, exponent, error: Error):
    if isinstance(exponent, int) and abs(base) >= 2 and exponent * math.log2(abs(base)) > MAX_VALUE_BITS:
        raise error(f"is astronomically large (about 10^{exponent * math.log10(abs(base)):,.0f}).", _BOUND_FIX)
    return base ** exponent


def _expression(args: Optional[Dict[str, Any]], text: str, error: Error) -> Tuple[Optional[float], Optional[str]]:
    """Its value with argument defaults (None when it reads the input's shape), and the `$argument` form
    when it uses arguments or the shape."""
    known = args or {}
    used = []

    def walk(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return _bounded(node.value, error)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            return _bounded(_power(left, right, error) if isinstance(node.op, ast.Pow)
                            else _OPS[type(node.op)](left, right), error)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand)
            return -value if value is not None and isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Input":
            index = node.slice
            if not (isinstance(index, ast.Constant) and isinstance(index.value, int)
                    and not isinstance(index.value, bool) and index.value >= 0):
                raise error("reads Input[...] at an index that is not a number.",
                            "write Input[0], Input[1], ... (axis 0 is the first after the batch axis).")
            used.append("Input")
            return None
        if isinstance(node, ast.Name) and node.id in known:
            if isinstance(known[node.id], bool) or not isinstance(known[node.id], (int, float)):
                raise error(f"computes with argument {shown(node.id, quote=False)}, which is not a number.",
                            "use a numeric argument.")
            used.append(node.id)
            return known[node.id]
        if isinstance(node, ast.Name):
            raise error(f"names {shown(node.id)}, which is not "
                        + ("an Argument of this unit." if args is not None else "a number."),
                        "write a number" + (f", or one of the arguments {', '.join(known)}." if known else "."))
        raise ValueError
    if len(text) > MAX_EXPRESSION:
        raise error(f"is not a number, and too long ({len(text):,} characters) for an arithmetic expression "
                    f"(at most {MAX_EXPRESSION}).", "write a number such as 0.5 or 1/255.")
    try:
        value = walk(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError, RecursionError, MemoryError):
        raise error("is not a number or an arithmetic expression.", "write a number such as 0.5 or 1/255.") from None
    if not used:
        return value, None
    return value, _SYMBOL.sub(lambda m: "$input_shape" if m.group("shape") else "$" + m.group(0), text)
