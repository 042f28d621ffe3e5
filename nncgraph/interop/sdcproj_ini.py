"""Read an NNC project file (.sdcproj) as INI sections that remember their lines.

The importer reports every problem as `file.sdcproj:LINE`, so the reader keeps
the line of each section header and of each `key=value`. NNC writes CRLF,
sometimes a UTF-8 byte-order mark, and (from its Japanese Windows origins)
occasionally cp932 text in descriptions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional, Tuple

from ..errors import Location, UserError, shown


@dataclass
class IniSection:
    name: str
    line: int
    values: Dict[str, Tuple[str, int]] = field(default_factory=dict)   # key -> (value, line)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        return self.values[key][0] if key in self.values else default

    @property
    def title(self) -> str:
        """`[name]` as a message shows it (a network's name, the user's, is part of its sections' names)."""
        return f"[{shown(self.name, quote=False)}]"

    def line_of(self, key: str) -> int:
        return self.values[key][1] if key in self.values else self.line


@dataclass
class IniFile:
    path: str
    sections: Dict[str, IniSection]

    def __contains__(self, name: str) -> bool:
        return name in self.sections

    def section(self, name: str) -> Optional[IniSection]:
        return self.sections.get(name)

    def numbered(self, prefix: str) -> Iterator[IniSection]:
        """`[<prefix>0]`, `[<prefix>1]`, ... while they exist."""
        i = 0
        while f"{prefix}{i}" in self.sections:
            yield self.sections[f"{prefix}{i}"]
            i += 1

    def where(self, line: Optional[int]) -> Location:
        return Location(self.path, line)

    def error(self, message: str, line: Optional[int], fix: str, layer: Optional[str] = None,
              layer_type: Optional[str] = None) -> UserError:
        return UserError(message, location=self.where(line), layer=layer, layer_type=layer_type, fix=fix)


def read_ini(path: str) -> IniFile:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise UserError(f"NNC project {shown(path)} does not exist.", fix="check the path.") from None
    except OSError as exc:
        raise UserError(f"cannot read NNC project {shown(path)}: {exc}.", fix="check the file.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp932", errors="replace")
    return parse_ini(text, path)


def parse_ini(text: str, path: str) -> IniFile:
    sections: Dict[str, IniSection] = {}
    current: Optional[IniSection] = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith((";", "#")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            name = stripped[1:-1].strip()
            # a repeated section continues the first one, as NNC's own reader does
            current = sections.setdefault(name, IniSection(name, number))
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            raise UserError(f"line {number} is neither a [section] nor a key=value line: {shown(stripped, limit=60)}.",
                            location=Location(path, number),
                            fix="is this an NNC project (.sdcproj)? Open and save it in Neural Network Console.")
        current.values[key.strip()] = (value.strip(), number)
    if not sections:
        raise UserError("the file has no [sections]; it is not an NNC project.", location=Location(path, 1),
                        fix="pass a .sdcproj file saved by Neural Network Console.")
    return IniFile(path, sections)
