"""Reading what a run folder holds, and naming the file when it is damaged.

nncgraph writes a run folder's files itself, atomically (metrics.csv,
result.json, project.yaml, evaluation/*, checkpoints/*.h5, the resume point),
so one that does not parse was damaged afterwards: a truncated copy, an
editor, another tool. Every command that reads them (run --resume, evaluate,
infer, report, compare, export) reads them through here, and gets the content
or one UserError that names the file (and line), says what is wrong with it
and how to get a good one back -- never a traceback from json, csv, yaml or h5py.
"""
from __future__ import annotations

import csv
import io
import json
import os
from typing import Dict, List, Optional

from .errors import Location, UserError, shown


def fix_for(path: str) -> str:
    """How to get a good copy of the run file at `path` back, by what the file is."""
    name, parent = os.path.basename(path), os.path.basename(os.path.dirname(path))
    if name.endswith(".journal"):
        return "restore the journal from a copy, or start the search in a new folder (-o) or under another --study name."
    if parent == "evaluation":
        return "run `nncgraph evaluate RUN_DIR` again: it rewrites evaluation/."
    if parent.startswith("resume") or name == "state.json":
        return ("continue from a copy of the run folder taken before the damage, or start the run again "
                "without --resume.")
    if name.endswith(".h5"):
        return "restore it from a copy of the run folder, use the other --model (best, last), or train again."
    if name == "project.yaml":
        return "restore the run's project.yaml (the project file it was started with), or train the run again."
    return "restore it from a copy of the run folder, or train the run again (`nncgraph run PROJECT -o RUN_DIR`)."


def kind_of(path: str) -> str:
    return "search journal" if path.endswith(".journal") else "run file"


def damaged(path: str, detail: str, line: Optional[int] = None, column: Optional[int] = None,
            fix: Optional[str] = None) -> UserError:
    """The one-line error for a run file that is there but cannot be used."""
    return UserError(f"this {kind_of(path)} is corrupt or truncated ({detail}).",
                     location=Location(path, line, column), fix=fix or fix_for(path))


def detail_of(exc: BaseException) -> str:
    """An exception's text on one short line (h5py's messages span several)."""
    text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    return shown(text, quote=False)


def check_file(path: str, optional: bool = False) -> bool:
    """Whether the run file `path` is there (False only when `optional`); a folder in its place, or a
    missing required file, is a UserError that says which."""
    if os.path.isdir(path):
        raise UserError(f"this is a directory, where a {kind_of(path)} belongs.", location=Location(path),
                        fix="move the folder away, then " + fix_for(path))
    if os.path.isfile(path):
        return True
    if optional and not os.path.lexists(path):
        return False
    state = "is not a regular file" if os.path.lexists(path) else "does not exist"
    raise UserError(f"this run file {state}.", location=Location(path), fix=fix_for(path))


def read_bytes(path: str, optional: bool = False) -> Optional[bytes]:
    if not check_file(path, optional):
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise UserError(f"cannot read this run file: {exc.strerror or detail_of(exc)}.", location=Location(path),
                        fix="check the file and its permissions.") from None


def read_text(path: str, optional: bool = False) -> Optional[str]:
    data = read_bytes(path, optional)
    if data is None:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise damaged(path, f"byte 0x{data[exc.start]:02x} is not UTF-8 text", line) from None


def read_json(path: str, optional: bool = False) -> Dict:
    """A JSON object file; {} when `optional` and absent."""
    text = read_text(path, optional)
    if text is None:
        return {}
    if not text.strip():
        raise damaged(path, "it is empty")
    try:
        value = json.loads(text)
    except ValueError as exc:       # JSONDecodeError: its message, line and column
        raise damaged(path, getattr(exc, "msg", detail_of(exc)), getattr(exc, "lineno", None),
                      getattr(exc, "colno", None)) from None
    except RecursionError:
        raise damaged(path, "nested too deeply") from None
    if not isinstance(value, dict):
        raise damaged(path, f"it holds a JSON {type(value).__name__}, not an object")
    return value


NUMBER = (int, float)
COUNT = (int,)
TEXT = (str,)
OBJECT = (dict,)
_KINDS = {NUMBER: "a number", COUNT: "a whole number", TEXT: "text", OBJECT: "an object"}


def check_fields(path: str, doc: Dict, kinds: Dict[str, tuple]) -> Dict:
    """`doc`, after checking that each key of `kinds` it has (and is not null) holds a value of that kind:
    a readable JSON file with a text where a number belongs is damaged too."""
    for key, allowed in kinds.items():
        value = doc.get(key)
        if value is not None and (not isinstance(value, allowed) or isinstance(value, bool)):
            raise damaged(path, f"`{key}` is {shown(value)}, not {_KINDS.get(allowed, 'what nncgraph writes')}")
    return doc


def read_csv(path: str, optional: bool = False) -> List[List[str]]:
    """A CSV file nncgraph wrote: the header, then rows of exactly the header's width (a shorter last row
    is a cut-off file); blank lines skipped. [] when `optional` and absent."""
    text = read_text(path, optional)
    if text is None:
        return []
    if not text.strip():
        raise damaged(path, "it is empty; even a file without rows has a header line")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: List[List[str]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if rows and len(row) != len(rows[0]):
                raise damaged(path, f"a row of {len(row)} fields under a header of {len(rows[0])}",
                              reader.line_num)
            rows.append(row)
    except csv.Error as exc:
        raise damaged(path, detail_of(exc), reader.line_num) from None
    return rows


def read_table(path: str, optional: bool = False) -> List[Dict[str, str]]:
    """read_csv as one dict per row, keyed by the header."""
    rows = read_csv(path, optional)
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def read_project_copy(path: str) -> Dict:
    """The run's own project.yaml as a mapping (with the YAML limits a project file has)."""
    from .project.load import read_project_text
    from .project.located_yaml import load_located_yaml

    check_file(path)
    doc = load_located_yaml(read_project_text(path), path)
    if not isinstance(doc, dict):
        raise damaged(path, "it is empty" if doc is None else "it is not a YAML mapping")
    return doc


def h5_arrays(path: str, values: bool = True) -> Dict:
    """name -> array (or, without `values`, its shape as a list) of every dataset in an nnabla .h5 file.
    Reading the values finds what a header alone hides (a file cut after its index)."""
    import h5py

    check_file(path)
    out: Dict = {}

    def take(name, item):
        if isinstance(item, h5py.Dataset):
            out[name] = item[()] if values else list(item.shape)

    try:
        with h5py.File(path, "r") as f:
            f.visititems(take)
    except Exception as exc:    # h5py reports damage as OSError, KeyError, RuntimeError, ValueError...
        raise damaged(path, detail_of(exc)) from None
    return out
