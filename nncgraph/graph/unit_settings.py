"""Unit calls that set parameter settings of the unit's layers: NNC's `Convolution.W.File` on a Unit layer.

A Unit layer's key `<layer>.<setting>` (`conv.w_lrate_multiplier: 0`, `conv.w_file: stem.npy`) sets the
per-parameter property `<setting>` of the unit's layer `<layer>` in this instance (in every repetition
of its `repeat:`). `<layer>` may go on into a unit that the unit calls, the way the instance's layers
are named (`inner/conv.w_file`). null keeps the unit layer's own value, as NNC's empty value does. Only
per-parameter properties can be set so (a file, an initializer and its multiplier, a learning-rate
multiplier): they choose where a parameter starts and whether it learns, which a caller decides (start
this block from a pretrained file, freeze that one); what the layers compute is the unit's own, set
through its arguments.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Optional

from ..errors import UserError, did_you_mean, shown
from ..layers import get_layer
from ..layers.base import Prop
from ..layers.structure import is_structural
from ..project.fields import coerce_prop
from ..project.model import LayerSpec, UnitSpec


# NNC's per-parameter properties are `<parameter>.<setting>` (W.File, b.LRateMultiplier): these settings.
PARAMETER_SETTINGS = ("File", "Initializer", "InitializerMultiplier", "LRateMultiplier")


def parameter_settings(props: Dict[str, Prop]) -> Dict[str, Prop]:
    """A layer's per-parameter properties (`w_file`, `b_lrate_multiplier`, ...): what a unit call may set
    for one of the unit's layers."""
    return {k: p for k, p in props.items() if "." in p.nnc and p.nnc.rsplit(".", 1)[1] in PARAMETER_SETTINGS}


def is_setting(key: Any) -> bool:
    """A Unit layer's key that sets a layer's parameter setting rather than an argument (an argument's
    name is a word: `$name` could not read a dotted one)."""
    return isinstance(key, str) and "." in key


def apply_settings(body: List[LayerSpec], settings: Dict[str, Any], unit: UnitSpec, call: LayerSpec,
                   units: Dict[str, UnitSpec]) -> List[LayerSpec]:
    """`body` (one instance's layers) with the call's `settings` ({key: value}) applied; each key is
    checked, down to the layer it names, whatever its value."""
    index = {spec.name: i for i, spec in enumerate(body)}
    out = list(body)
    for key, value in settings.items():
        where = dict(location=call.prop_locations.get(key, call.location), layer=call.name, layer_type="Unit")
        path, _, setting = key.rpartition(".")
        prop = _check(key, path.split("/"), setting, body, unit.name, units, where)
        if value is None:               # NNC's empty value: the unit's layer keeps its own
            continue
        if prop is not None:
            value = coerce_prop(prop, value, where["location"], key, layer=call.name, layer_type="Unit")
        first, _, rest = path.partition("/")
        # a layer of a unit this one calls gets the setting when that instance is expanded
        inner_key = f"{rest}.{setting}" if rest else setting
        target = out[index[first]]      # with the settings before this one
        out[index[first]] = replace(target, props={**target.props, inner_key: value},
                                    prop_locations={**target.prop_locations, inner_key: where["location"]})
    return out


def _check(key: str, path: List[str], setting: str, layers: List[LayerSpec], unit: str, units, where) -> Optional[Prop]:
    """The property the key sets, after checking the whole path: its first name a layer of `layers`; each
    name but the last an instance of a unit (whose layers the next name is one of), the last a layer with
    `setting`."""
    names = {spec.name: spec for spec in layers}
    first = path[0]
    if first not in names:
        hint = did_you_mean(first, names)
        raise UserError(f"{shown(key)} names layer {shown(first)}, which unit {shown(unit)} does not have.", **where,
                        fix=(hint + " " if hint else "") + f"Write <layer>.<setting> with one of the unit's layers "
                        f"({', '.join(names)}), or <unit instance>/<layer>.<setting> for a layer of a unit it calls.")
    target = names[first]
    if target.type == "Unit":
        inner = target.props.get("unit")
        if len(path) == 1:
            raise UserError(f"{shown(key)}: {shown(first)} is an instance of unit {shown(inner)}, not a layer with "
                            "parameters.", **where, fix=f"name a layer inside it: {first}/<layer>.{setting}")
        if not (isinstance(inner, str) and inner in units):
            return None         # an argument, or no unit: that instance's expansion checks the rest
        return _check(key, path[1:], setting, units[inner].layers, inner, units, where)
    what = f"{shown(first)} is a {target.type} layer"
    if len(path) > 1:
        raise UserError(f"{shown(key)}: {what}, not a unit instance with layers inside.", **where,
                        fix=f"end the path at it: ...{first}.{setting}")
    table = {} if is_structural(target.type) else parameter_settings(get_layer(target.type).props)
    if not table:
        raise UserError(f"{shown(key)}: {what}, which has no parameters to set.", **where,
                        fix="set parameter settings (w_file, w_lrate_multiplier, ...) of a layer with parameters, "
                            "such as a Convolution or an Affine.")
    if setting not in table:
        hint = did_you_mean(setting, table)
        other = "" if setting not in get_layer(target.type).props else \
            f" ({setting} is not a parameter setting: make it an argument of the unit)"
        raise UserError(f"{shown(key)}: {what}, which has no parameter setting {shown(setting)}{other}.", **where,
                        fix=(hint + " " if hint else "") + f"A unit call sets its {', '.join(table)}.")
    return table[setting]
