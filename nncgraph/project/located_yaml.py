"""`yaml.safe_load` that remembers where every mapping, key and list item was.

Later stages report `file:line:col` from these positions, so a user's mistake
is shown where they made it.

It also limits what a file can make us do (DESIGN.md, "Trust"): nesting deeper
than MAX_DEPTH, and aliases that expand the document beyond MAX_VALUES values
("billion laughs": nine levels of `&a [*b, *b, ...]`), are refused while the
document is composed, before any Python value is built, so every later stage
(expansion, rendering, deep copies, error messages) walks a bounded tree. A
scalar such as `1e-3`, which YAML 1.1 reads as a string, is read as a float,
as YAML 1.2 and every user does.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

import yaml

from ..errors import Location, UserError, shown

# No project nests more than about ten levels; Python's recursion (the composer, the constructor,
# deep copies) stays far from its limit at this depth.
MAX_DEPTH = 100
# A value is a scalar, a list or a mapping, counted as often as aliases repeat it; a project with
# thousands of layers holds tens of thousands.
MAX_VALUES = 1_000_000
# Numbers with an exponent and no dot (1e-3, 2E+5), which YAML 1.1's float pattern misses.
EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class LocatedDict(dict):
    """A YAML mapping with the position of itself and of each key."""

    file: str = ""
    line: Optional[int] = 0
    column: Optional[int] = 0
    key_positions: Dict[str, Tuple[int, int]]

    def where(self, key: Any = None) -> Location:
        if key is not None and key in self.key_positions:
            line, col = self.key_positions[key]
            return Location(self.file, line, col)
        return Location(self.file, self.line, self.column)


class LocatedList(list):
    """A YAML sequence with the position of itself and of each item."""

    file: str = ""
    line: Optional[int] = 0
    column: Optional[int] = 0
    item_positions: List[Tuple[int, int]]

    def where(self, index: int = None) -> Location:
        if index is not None and index < len(self.item_positions):
            line, col = self.item_positions[index]
            return Location(self.file, line, col)
        return Location(self.file, self.line, self.column)


def _mark(file: str, mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)


class _Loader(yaml.SafeLoader):
    """SafeLoader with positions and limits; `file` is set per document."""

    file = ""

    def __init__(self, stream, file: str):
        super().__init__(stream)
        self.file = file
        self.depth = 0
        self.alias_uses: List[Tuple[yaml.Node, Any, str]] = []     # (target, where written, anchor)

    # -- composing: depth while reading, alias expansion once the tree stands ----------------
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            self.alias_uses.append((node, event.start_mark, event.anchor))
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise UserError(f"the file nests values more than {MAX_DEPTH} levels deep.",
                            location=_mark(self.file, self.peek_event().start_mark),
                            fix="a project needs a few levels (network, layer, value); flatten the lists "
                                "or mappings here.")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None and self.alias_uses:
            self._check_expansion(node)
        return node

    def _check_expansion(self, root) -> None:
        """The values and depth of the document as aliases expand it, counted once per distinct node
        (post-order over an explicit stack: an alias chain is deeper than Python's recursion)."""
        size: Dict[int, int] = {}
        depth: Dict[int, int] = {}
        open_nodes = set()
        stack = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            key = id(node)
            if key in size:
                continue
            children = _children(node)
            if children_done:
                open_nodes.discard(key)
                size[key] = 1 + sum(size[id(c)] for c in children)
                depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
                continue
            open_nodes.add(key)
            stack.append((node, True))
            for child in children:
                if id(child) in open_nodes:
                    use = next(((m, a) for n, m, a in self.alias_uses if n is child), (child.start_mark, "?"))
                    raise UserError(f"the alias '*{use[1]}' is used inside the value it names, which would "
                                    "make it infinite.", location=_mark(self.file, use[0]),
                                    fix="an alias may only repeat a value defined before it, outside it.")
                if id(child) not in size:
                    stack.append((child, False))
        total, deepest = size[id(root)], depth[id(root)]
        if total <= MAX_VALUES and deepest <= MAX_DEPTH:
            return
        if total > MAX_VALUES:
            target, mark, anchor = max(self.alias_uses, key=lambda use: size[id(use[0])])
            what = (f"{total:.2g} values, over the limit of {MAX_VALUES:,}; '*{anchor}' here alone repeats "
                    f"{size[id(target)]:.2g}")
        else:
            target, mark, anchor = max(self.alias_uses, key=lambda use: depth[id(use[0])])
            what = (f"values nested {deepest} levels deep, over the limit of {MAX_DEPTH}; '*{anchor}' here "
                    f"alone nests {depth[id(target)]}")
        raise UserError(f"aliases expand this file to {what}.", location=_mark(self.file, mark),
                        fix="write the values out, or repeat layers with a unit's `repeat:` instead of aliases.")

    # -- constructing ------------------------------------------------------------------------
    def construct_located_mapping(self, node):
        explicit = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
        self.flatten_mapping(node)
        merged = len(node.value) - explicit       # `<<: *base` pairs come first; the mapping's own keys override them
        out = LocatedDict()
        out.file, out.line, out.column = self.file, node.start_mark.line + 1, node.start_mark.column + 1
        out.key_positions = {}
        own = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise UserError(f"a mapping key must be a plain name, got {shown(key)}.",
                                location=Location(self.file, *pos), fix="write `name: value`.")
            if index >= merged and key in own:
                raise UserError(f"key '{shown(key, quote=False)}' appears twice in one mapping.",
                                location=Location(self.file, *pos), fix="keep one of them.")
            if index >= merged:
                own.add(key)
            out[key] = self.construct_object(value_node, deep=True)
            out.key_positions[key] = pos
        return out

    def construct_located_sequence(self, node):
        out = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        out.file, out.line, out.column = self.file, node.start_mark.line + 1, node.start_mark.column + 1
        out.item_positions = [(c.start_mark.line + 1, c.start_mark.column + 1) for c in node.value]
        return out

    def construct_checked_int(self, node):
        try:
            return self.construct_yaml_int(node)
        except ValueError:      # Python refuses to read integers of more than 4,300 digits
            raise UserError(f"the integer {shown(node.value, limit=40)} has {len(node.value)} digits, more than any "
                            "setting can use.", location=_mark(self.file, node.start_mark),
                            fix="write a smaller number.") from None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_located_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_located_sequence)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_checked_int)
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_located_yaml(text: str, file: str) -> Any:
    """Parse YAML safely; a syntax error becomes a UserError at its position."""
    loader = None
    try:
        loader = _Loader(text, file)     # it refuses control characters here, before parsing
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise UserError(f"the file holds the character {_character(exc.character)}, which YAML does not "
                        "allow in a file (control characters and unpaired surrogates).", location=Location(file, line, column),
                        fix="remove it (a project file is plain text; write it as \\x.. inside double quotes "
                            "if a value needs it).") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise UserError(f"this is not valid YAML: {shown(problem, quote=False)}.", location=_mark(file, mark),
                        fix="check indentation, colons and brackets around this position.") from None
    except yaml.YAMLError as exc:
        raise UserError(f"this is not valid YAML: {shown(' '.join(str(exc).split()), quote=False)}.",
                        location=Location(file), fix="check the file's syntax.") from None
    finally:
        if loader is not None:
            loader.dispose()


def _character(code) -> str:
    """A character YAML refuses, as "U+0000 (NUL)"."""
    names = {0: "NUL", 7: "BEL", 8: "backspace", 0x1b: "ESC", 0x7f: "DEL", 0xfffe: "noncharacter",
             0xffff: "noncharacter"}
    code = code if isinstance(code, int) else ord(code)
    return f"U+{code:04X}" + (f" ({names[code]})" if code in names else "")


# -- YAML made from another file ------------------------------------------------------------------
# An importer that builds a project in memory (`nncgraph run model.sdcproj`) ends each line it made from
# one place of its source with this mark and that place's line, so that what the loader finds wrong is
# shown in the user's own file; the text is never written anywhere.
SOURCE_LINE_MARK = "  #@"
_MARKED = re.compile(re.escape(SOURCE_LINE_MARK) + r"(\d+)$")


def source_mark(line) -> str:
    return f"{SOURCE_LINE_MARK}{line}" if line else ""


def relocate(doc: Any, text: str, source: str) -> Any:
    """Point every position of `doc` (loaded from `text`) at `source`: at the source line a marked YAML line
    came from, else at the file alone (a column of the YAML text means nothing there)."""
    lines = [None] + [int(m.group(1)) if m else None for m in map(_MARKED.search, text.splitlines())]

    def line_of(line):
        return lines[line] if 0 < line < len(lines) else None

    def walk(node):
        if isinstance(node, LocatedDict):
            node.file, node.line, node.column = source, line_of(node.line), None
            node.key_positions = {k: (line_of(line), None) for k, (line, _) in node.key_positions.items()}
            values = node.values()
        elif isinstance(node, LocatedList):
            node.file, node.line, node.column = source, line_of(node.line), None
            node.item_positions = [(line_of(line), None) for line, _ in node.item_positions]
            values = node
        else:
            return
        for value in values:
            walk(value)
    walk(doc)
    return doc
