"""Sizes no machine can hold, refused with their estimate before anything is built.

`check`, `run`, `search` and every other command share these through the
expansion (layer counts: `repeat:` and `times:` multiply before any layer is
made) and the shape pass (parameters and activation memory: counted layer by
layer, refused at the layer that crosses the limit), so a network of 1e12
layers or 1e21 parameters is a one-line error, not a hung or killed process.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple

from ..errors import UserError, shown
from ..layers.structure import REPEAT_PROPS

MAX_LAYERS = 200_000                 # after expansion; the largest NNC networks have a few thousand
MAX_PARAMETERS = 10 ** 10            # 40 GB of float32 weights, before gradients and optimizer state
MAX_ACTIVATIONS = 10 ** 10           # values per sample, summed over the layers: 40 GB for a batch of one
BYTES_PER_VALUE = 4                  # float32
# nnabla's functions take their integer arguments (kernels, strides, padding, bits, seeds, iterations) as C
# ints: beyond these nnabla raises OverflowError while building, or wraps around inside.
C_INT_RANGE = (-2 ** 31, 2 ** 31 - 1)


def amount(n: float) -> str:
    """7.9e21 for large numbers, 1,234 for small ones."""
    return f"{n:,}" if n < 10 ** 6 else f"{n:.2g}".replace("e+", "e")


def gigabytes(values: float) -> str:
    gb = values * BYTES_PER_VALUE / 1e9
    return f"{gb:,.1f} GB" if gb < 10 ** 6 else f"{amount(gb)} GB"


# -- layer counts ------------------------------------------------------------------------
def _count(value: Any, default: int) -> int:
    """A repeat count as written; an argument not substituted yet counts as 1 (checked once known)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


class LayerCounter:
    """How many layers a layer list expands to, without expanding it: repeats multiply, a unit
    instance counts its body (memoized per unit, so counting stays linear), recurrent steps count
    once (their number is known only from the input's shape, when the block is expanded)."""

    def __init__(self, units: Dict[str, Any], max_depth: int):
        self.units, self.max_depth = units, max_depth
        self.memo: Dict[str, int] = {}

    def of_unit(self, name: str, stack: Tuple[str, ...] = ()) -> int:
        if name not in self.memo:
            if name in stack or len(stack) >= self.max_depth:
                return 1        # the expander reports the cycle where it meets it
            self.memo[name] = self.of_layers(self.units[name].layers, stack + (name,))
        return self.memo[name]

    def of_layers(self, specs: Iterable[Any], stack: Tuple[str, ...] = ()) -> int:
        """`specs`: LayerSpecs (project/model.py)."""
        total, multiplier = 0, [1]
        for spec in specs:
            kind, props = spec.type, spec.props
            if kind == "RepeatStart":
                multiplier.append(multiplier[-1] * _count(props.get("times"), REPEAT_PROPS["times"].default))
            elif kind == "RepeatEnd":
                if len(multiplier) > 1:
                    multiplier.pop()
            elif kind == "Unit" and isinstance(props.get("unit"), str) and props["unit"] in self.units:
                total += multiplier[-1] * _count(props.get("repeat"), 1) * self.of_unit(props["unit"], stack)
            else:
                total += multiplier[-1]
        return total


def check_layer_count(have: int, more: int, what: str, **where) -> None:
    """`more` layers are about to be added to the `have` already expanded."""
    if have + more > MAX_LAYERS:
        raise UserError(f"this network would have {amount(have + more)} layers ({what}), more than the "
                        f"{amount(MAX_LAYERS)} any machine can build.",
                        fix="lower `repeat:`/`times:`, or split the network.", **where)


# -- parameters and activations ----------------------------------------------------------
class SizeTracker:
    """Running totals of the shape pass; refuses at the layer that crosses a limit."""

    def __init__(self):
        self.parameters, self.activations = 0, 0
        self.seen = set()           # parameter names: a shared scope counts once

    def add(self, params, out_size: int) -> Optional[UserError]:
        for p in params:
            if p.name not in self.seen:
                self.seen.add(p.name)
                self.parameters += p.size
        self.activations += out_size
        if self.parameters > MAX_PARAMETERS:
            return UserError(f"this network needs {amount(self.parameters)} parameters = "
                             f"{gigabytes(self.parameters)} (as float32) up to this layer, over the limit of "
                             f"{amount(MAX_PARAMETERS)} ({gigabytes(MAX_PARAMETERS)}).",
                             fix="lower out_maps/out_shape or the input size of this layer.")
        if self.activations > MAX_ACTIVATIONS:
            return UserError(f"this network's outputs need {amount(self.activations)} values = "
                             f"{gigabytes(self.activations)} per sample up to this layer, over the limit of "
                             f"{amount(MAX_ACTIVATIONS)} ({gigabytes(MAX_ACTIVATIONS)}).",
                             fix="lower the input size, out_maps or the number of layers.")
        return None


def integer_beyond_nnabla(props: Dict[str, Any]) -> Optional[UserError]:
    """The first integer property value nnabla cannot take. The shape pass asks after the size limits, so a
    size that large has been refused with its estimate already."""
    low, high = C_INT_RANGE
    for key, value in props.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, int) and not isinstance(item, bool) and not low <= item <= high:
                return UserError(f"property '{key}' holds {shown(item, limit=40)}, beyond the 32-bit integers "
                                 f"nnabla's functions take ({low:,} to {high:,}).", fix=f"write a smaller `{key}`.")
    return None
