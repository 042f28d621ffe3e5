"""What the nntxt import's converters share: a layer's `from_nntxt` turns one nnabla function (as an
.nntxt lists it) into the layer's properties.

nnabla counts axes with the batch axis; NNC properties count them without it, so every axis, shape
and per-axis list loses its first entry. A converter gets the function's argument message, the input
and output sample shapes and the shapes of its parameter inputs. Nothing here imports nnabla.
"""
from __future__ import annotations

from typing import List


class Unconvertible(Exception):
    """The function or one of its arguments has no nncgraph equivalent; the message says which."""


def dims(shape_message) -> List[int]:
    return [int(d) for d in shape_message.dim]


def axis(a: int) -> int:
    if a < 1:
        raise Unconvertible(f"axis {a} is the batch axis (or counts from the end), which NNC layers cannot name")
    return a - 1


def counted_axis(a: int, shape) -> int:
    """axis() for the functions whose negative axes count from the end (Flip, Sort): `shape` is the
    input's sample shape, so nnabla's arrays have one axis more."""
    return axis(a + len(shape) + 1 if a < 0 else a)


def last_axes(values, shape, what: str, identity: int = 0, per: int = 1) -> List[int]:
    """nnabla's per-axis lists that cover the input's last axes (Tile, Pad, Shift: `per` values an axis)
    -> NNC's, which stop short of the batch axis. Leading entries that leave their axis alone are
    dropped, so the import gives the shortest spelling, the one NNC users write."""
    values, ndim, alone = [int(v) for v in values], len(shape) + 1, [identity] * per
    if len(values) > per * ndim:
        raise Unconvertible(f"{what} {values} covers more axes than the input's {ndim} (it adds axes before "
                            "the batch axis)")
    if len(values) == per * ndim and values[:per] != alone:
        raise Unconvertible(f"{what} {values} changes the batch axis")
    while len(values) > per and values[:per] == alone:
        values = values[per:]
    return values


def check_base_axis(args) -> None:
    if getattr(args, "base_axis", 1) not in (0, 1):     # 0: the proto default when unset
        raise Unconvertible(f"base_axis {args.base_axis} (NNC layers treat only the first axis as the batch)")


def fields(*names, rename=None):
    """A converter copying arguments under the same (or a renamed) property name."""
    rename = rename or {}

    def from_nntxt(layer, args, ins, out, params):
        return {rename.get(n, n): getattr(args, n) for n in names}
    return from_nntxt


def axis_only(layer, args, ins, out, params):
    return {"axis": axis(args.axis)}


def out_shape(layer, args, ins, out, params):
    return {"out_shape": list(out)}


def reduction(layer, args, ins, out, params):
    return {"axes": [axis(a) for a in args.axes], "keep_dims": args.keep_dims}
