"""User-facing errors.

A `UserError` is a mistake in the user's input (project file, dataset, command
line). The CLI prints it as one line -- `file:line:col: layer 'X' (Type): what.
Fix: how.` -- and exits with status 2. Anything else escaping is a bug in
nncgraph and keeps its traceback.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Optional


@dataclass(frozen=True)
class Location:
    """Where something came from: a file and a 1-based line (and column)."""

    file: str
    line: Optional[int] = None
    column: Optional[int] = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class UserError(Exception):
    """A mistake in user input, reported without a traceback (exit status 2)."""

    exit_status = 2

    def __init__(self, message: str, *, location: Optional[Location] = None,
                 layer: Optional[str] = None, layer_type: Optional[str] = None,
                 fix: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.layer = layer
        self.layer_type = layer_type
        self.fix = fix

    def with_context(self, *, location: Optional[Location] = None,
                     layer: Optional[str] = None,
                     layer_type: Optional[str] = None) -> "UserError":
        """Fill in location/layer where the raiser did not know them."""
        return UserError(self.message,
                         location=self.location or location,
                         layer=self.layer or layer,
                         layer_type=self.layer_type or layer_type,
                         fix=self.fix)

    def __str__(self) -> str:
        head = f"{self.location}: " if self.location else ""
        if self.layer:     # names are the user's: a megabyte one is cut as any quoted value is
            kind = f" ({shown(self.layer_type, quote=False)})" if self.layer_type else ""
            head += f"layer '{shown(self.layer, quote=False)}'{kind}: "
        text = head + self.message
        if self.fix:
            text += f" Fix: {self.fix}"
        # the CLI's promise is one line: a value quoted as written (a key, a name) may hold line breaks
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ShapeError(UserError):
    """Shapes that do not fit: says what was expected and what came."""


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """"Did you mean 'a', 'b'?" for close matches, or '' when none is close."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=n, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[m] for m in difflib.get_close_matches(
            word.lower(), list(lowered), n=n, cutoff=0.6)]
    if not close:
        return ""
    return "Did you mean " + ", ".join(f"'{c}'" for c in close) + "?"


MAX_SHOWN = 200     # characters of a user's value that a message quotes


def shown(value, quote: bool = True, limit: int = MAX_SHOWN) -> str:
    """A user's value as a message quotes it: its repr (or str, `quote=False`), cut to `limit`
    characters, so a megabyte string or a huge list never floods the one-line error.

    >>> print(shown("x" * 1000)[-25:])
    xxx... (1,002 characters)
    """
    text = repr(value) if quote else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def file_state(path: str) -> str:
    """What is wrong with `path` where a file should be: "is a directory", "is not a regular file" (a
    device, a socket) or "does not exist" -- a folder named where a file goes must not read as missing."""
    import os

    if os.path.isdir(path):
        return "is a directory"
    return "is not a regular file" if os.path.exists(path) else "does not exist"
