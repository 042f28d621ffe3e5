"""What every fuzz test asserts about one generated input, and the tally the session summary prints.

The promise under test (DESIGN.md, "Errors"): whatever a user feeds nncgraph, it ends in a result or in
one `UserError` whose text is one clear line; any other exception escaping is a bug, shown with the input
that caused it. Each test runs the same functions the CLI command runs, in this process (a subprocess per
case would cost minutes per thousand cases).

`TALLY[target]` counts the cases of each target by outcome: "result" (the happy path ran to its end) or
"user error"; conftest.py prints it after the session, so the count and the valid share are on record.
"""
from __future__ import annotations

import collections
import math
import os
import tempfile
from typing import Callable, Dict, Optional, TypeVar

from hypothesis import event, note, settings

from nncgraph.errors import UserError

T = TypeVar("T")

TALLY: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
RESULT, USER_ERROR = "result", "user error"

# A message quotes at most ~200 characters of any value (errors.MAX_SHOWN), plus a path, a layer and a
# fix: a few values' worth. Far more means a value reached the message unshortened.
MAX_MESSAGE = 1500


def examples(share: float) -> settings:
    """Settings for a fuzz test that runs `share` of the loaded profile's example count (conftest.py's
    `default` or `ci`, or NNCGRAPH_FUZZ_EXAMPLES): tests split one budget by how much each has to explore."""
    return settings(max_examples=max(1, math.ceil(settings().max_examples * share)))


def assert_one_clear_line(exc: UserError) -> str:
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} with an empty message"
    assert "\n" not in text and "\r" not in text, f"a user error must be one line, got:\n{text}"
    assert len(text) <= MAX_MESSAGE, f"a user error of {len(text):,} characters: {text[:300]}..."
    assert "Traceback" not in text, text
    return text


def outcome(target: str, action: Callable[[], T], *, valid: bool = False) -> Optional[T]:
    """Run `action`: its value, or None after one clear UserError. Any other exception propagates, so
    Hypothesis shows (and shrinks) the input. `valid`: the input was generated valid, so a UserError is a
    false refusal and fails the case too."""
    try:
        value = action()
    except UserError as exc:
        text = assert_one_clear_line(exc)
        note(f"user error: {text}")
        assert not valid, f"a valid input was refused: {text}"
        TALLY[target][USER_ERROR] += 1
        event(f"{target}: user error")
        return None
    TALLY[target][RESULT] += 1
    event(f"{target}: result")
    return value


_FOLDER = []


def scratch_folder() -> str:
    """One temporary folder per session for the files the cases write (Hypothesis runs a test's body many
    times inside one pytest test, so function-scoped tmp_path would be shared anyway)."""
    if not _FOLDER:
        _FOLDER.append(tempfile.mkdtemp(prefix="nncgraph-fuzz-"))
    return _FOLDER[0]


_NUMBER = [0]


def scratch_file(name: str, data: bytes, folder: Optional[str] = None) -> str:
    """Write `data` to a fresh file named `<n>-name` (a new name each case: caches key on paths)."""
    _NUMBER[0] += 1
    path = os.path.join(folder or scratch_folder(), f"{_NUMBER[0]}-{name}")
    with open(path, "wb") as f:
        f.write(data)
    return path


def summary_line() -> Optional[str]:
    """"fuzz: N cases (...), M ran to a result (P%)", or None when no fuzz test ran."""
    total = sum(sum(c.values()) for c in TALLY.values())
    if not total:
        return None
    results = sum(c[RESULT] for c in TALLY.values())
    parts = ", ".join(f"{target} {sum(c.values()):,} ({c[RESULT]:,} results)" for target, c in sorted(TALLY.items()))
    return (f"fuzz: {total:,} generated cases, {results:,} ran the happy path to a result "
            f"({100 * results / total:.0f}%), the rest ended in one clear user error; {parts}")
