"""Reading a mapping of the project file against a table of typed fields (project/sections.py), each value
checked where it was written, so an error names its line and the key."""
from __future__ import annotations

from typing import Any, Dict

from ..errors import Location, UserError, did_you_mean, shown
from ..layers.base import Prop
from .located_yaml import LocatedDict


def section(doc: LocatedDict, key: str) -> LocatedDict:
    """`doc[key]` as a mapping (an empty one, located at `doc`, when absent)."""
    value = doc.get(key)
    if value is None:
        empty = LocatedDict()
        empty.file, empty.line, empty.column, empty.key_positions = doc.file, doc.line, doc.column, {}
        return empty
    if not isinstance(value, LocatedDict):
        raise UserError(f"`{key}` must be a mapping.", location=doc.where(key), fix=f"write `{key}:` then "
                        "indented `field: value` lines.")
    return value


def reject_unknown(mapping: LocatedDict, allowed, what: str, layer=None, layer_type=None) -> None:
    for key in mapping:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            raise UserError(f"unknown {what} {shown(key)}.", location=mapping.where(key),
                            layer=layer, layer_type=layer_type,
                            fix=(hint + " " if hint else "") + f"Allowed: {', '.join(allowed)}.")


def coerce_prop(prop: Prop, value: Any, where: Location, key: str, **ctx) -> Any:
    """A property's value checked by its Prop, or the one-line error naming the key (a unit's values too,
    once an instance substitutes them)."""
    try:
        return prop.coerce(value)
    except ValueError as exc:
        fix = f"{key}: {prop.doc}"
        if isinstance(value, str) and "$" in value:
            fix += (" (`$` values work only in layers: $input_shape[i] in any layer, arguments in the layers of a "
                    "unit, under `units:`.)")
        raise UserError(f"property '{key}' {exc}.", location=where, fix=fix, **ctx) from None


def read_fields(mapping: LocatedDict, fields: Dict[str, Prop], what: str) -> Dict[str, Any]:
    """Every field of the table: its checked value where written, else its default; unknown keys refused."""
    reject_unknown(mapping, list(fields), what)
    out = {}
    for key, prop in fields.items():
        out[key] = coerce_prop(prop, mapping[key], mapping.where(key), key) if key in mapping else prop.default
    return out
