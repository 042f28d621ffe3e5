"""nnabla functions (as an .nntxt lists them) -> nncgraph layers with NNC properties.

Each layer converts its own function (`Layer.from_nntxt`, with the shared rules in
layers/nntxt.py); a function with nothing to convert maps onto the layer of the same name
when that layer takes no properties nnabla would carry as arguments.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..layers.nntxt import Unconvertible, dims

__all__ = ["Unconvertible", "convert_function", "dims", "imports_from_nntxt"]

Shape = Tuple[int, ...]

# nnabla arguments whose value changes nothing NNC can express (in-place memory reuse)
IGNORED_ARGUMENTS = {"inplace", "in_place"}
# properties no nnabla function argument carries: the loss's dataset variable, the parameters' names,
# and the per-parameter settings (files, initializers, learning-rate multipliers, linked parameter pins)
NOT_ARGUMENTS = {"target", "parameter_scope"}
PER_PARAMETER = ("_file", "_initializer", "_multiplier", "_input")


def _settable(layer) -> set:
    return {p for p in layer.props if p not in IGNORED_ARGUMENTS | NOT_ARGUMENTS and not p.endswith(PER_PARAMETER)}


def imports_from_nntxt(layer) -> bool:
    """Whether the import can rebuild the layer from its nnabla function: it converts the function's
    arguments, or has none to convert, and it lowers to that one function. (The data variables
    become Input layers.)"""
    if layer.role == "input":
        return True
    return not layer.nntxt_gap and (layer.from_nntxt is not None or not _settable(layer))


def convert_function(function, registry, ins: List[Shape], out: Shape, params: List[Shape]
                     ) -> Tuple[str, Dict]:
    """(layer type, properties) for one proto Function; raises Unconvertible."""
    kind = function.type
    layer = registry.get(kind)
    if layer is None or layer.nnabla_function != kind:
        raise Unconvertible(f"nnabla function {kind} has no nncgraph layer")
    args = _arguments(function)
    if layer.from_nntxt is not None:
        return kind, layer.from_nntxt(args, ins, out, params)
    given = [f.name for f, v in args.ListFields()] if args is not None else []
    given = [g for g in given if g not in IGNORED_ARGUMENTS]
    if given or _settable(layer):
        raise Unconvertible(f"nnabla function {kind}'s arguments ({', '.join(given) or 'defaults'}) have no "
                            f"converter to the properties of layer {kind}")
    return kind, {}


def _arguments(function) -> Optional[object]:
    which = function.WhichOneof("parameter")
    return getattr(function, which) if which else None
