"""`yaml.safe_load` that remembers where every mapping, key and list item was.

Later stages report `file:line:col` from these positions, so a user's mistake
is shown where they made it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import yaml

from ..errors import Location, UserError


class LocatedDict(dict):
    """A YAML mapping with the position of itself and of each key."""

    file: str = ""
    line: int = 0
    column: int = 0
    key_positions: Dict[str, Tuple[int, int]]

    def where(self, key: Any = None) -> Location:
        if key is not None and key in self.key_positions:
            line, col = self.key_positions[key]
            return Location(self.file, line, col)
        return Location(self.file, self.line, self.column)


class LocatedList(list):
    """A YAML sequence with the position of itself and of each item."""

    file: str = ""
    line: int = 0
    column: int = 0
    item_positions: List[Tuple[int, int]]

    def where(self, index: int = None) -> Location:
        if index is not None and index < len(self.item_positions):
            line, col = self.item_positions[index]
            return Location(self.file, line, col)
        return Location(self.file, self.line, self.column)


def load_located_yaml(text: str, file: str) -> Any:
    """Parse YAML safely; a syntax error becomes a UserError at its position."""

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node):
        loader.flatten_mapping(node)
        out = LocatedDict()
        out.file, out.line, out.column = file, node.start_mark.line + 1, node.start_mark.column + 1
        out.key_positions = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise UserError(f"a mapping key must be a plain name, got {key!r}.",
                                location=Location(file, *pos), fix="write `name: value`.")
            if key in out:
                raise UserError(f"key '{key}' appears twice in one mapping.",
                                location=Location(file, *pos), fix="keep one of them.")
            out[key] = loader.construct_object(value_node, deep=True)
            out.key_positions[key] = pos
        return out

    def sequence(loader, node):
        out = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        out.file, out.line, out.column = file, node.start_mark.line + 1, node.start_mark.column + 1
        out.item_positions = [(c.start_mark.line + 1, c.start_mark.column + 1) for c in node.value]
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 -- Loader derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise UserError(f"this is not valid YAML: {problem}.", location=where,
                        fix="check indentation, colons and brackets around this position.") from None
    except yaml.YAMLError as exc:
        raise UserError(f"this is not valid YAML: {exc}.", location=Location(file),
                        fix="check the file's syntax.") from None
