"""Typed values of an NNC project's settings sections ([Config], [Optimizer_N], ...): numbers, flags,
ranges, each refused with the line it was read from; and the note for the keys nncgraph has no setting for."""
from __future__ import annotations

import math

from ..errors import shown
from .sdcproj_ini import IniFile, IniSection

EPOCH, ITERATION = "0", "1"           # NNC's LearningRate*Unit values
TRUE_FALSE = {"1": True, "0": False, "True": True, "False": False, "true": True, "false": False}


def read_int(ini: IniFile, section: IniSection, key: str, default: int) -> int:
    if key not in section:
        return default
    return int(read_number(ini, section, key))


def read_float(ini: IniFile, section: IniSection, key: str, default: float) -> float:
    if not section.get(key):
        return default
    return read_number(ini, section, key)


def read_number(ini: IniFile, section: IniSection, key: str) -> float:
    """A setting's finite number (inf and nan would reach the arithmetic below as OverflowError)."""
    try:
        number = float(section.get(key))
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ini.error(f"{section.title} {key} must be a finite number, got {shown(section.get(key))}.",
                        section.line_of(key), fix=f"set {key} to a number in NNC.")
    return number


def within(ini: IniFile, section: IniSection, key: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ini.error(f"{section.title} {key}={shown(section.get(key), quote=False)} is outside {low:,} to "
                        f"{high:,}.", section.line_of(key), fix=f"set {key} to a number from {low:,} to {high:,}.")
    return value


def read_flag(ini: IniFile, section: IniSection, key: str, default: bool) -> bool:
    value = section.get(key)
    if value is None or value == "":
        return default
    if value not in TRUE_FALSE:
        raise ini.error(f"{section.title} {key} must be 1 or 0, got {shown(value)}.", section.line_of(key),
                        fix=f"set {key}=1 or {key}=0.")
    return TRUE_FALSE[value]


def leftover(section: IniSection, used, note, where: str) -> None:
    rest = [f"{k}={v}" for k, (v, _) in section.values.items() if k not in used]
    if rest:
        note(where, f"NNC's [{section.name}] also sets {', '.join(rest)}, which nncgraph has no setting for.")
