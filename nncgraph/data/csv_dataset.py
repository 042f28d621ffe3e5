"""Load a Neural Network Console (NNC) dataset CSV.

Header cells are `name[__index][:label]`: `x__0..x__N` form one vector
variable of shape (N+1,), a plain `y` is shape (1,), and the `:label` part is
for humans only. A cell is a number or a path (relative to the CSV's folder)
to an image, a `.npy` array, or a `.csv` matrix.

Files are decoded once, in worker processes, into the decoded-data cache
(see cache.py); later loads memory-map it, so a dataset larger than RAM is
never held in memory. 8-bit images are stored as uint8 with a scale (1/255
under image_normalization): `CsvDataset.as_float32` or `to_float32` gives the
float32 values a network reads, bit-identical to decoding straight to float32.
"""
from __future__ import annotations

import codecs
import csv
import io
import math
import os
import stat
from dataclasses import dataclass, field
from typing import Iterator, Optional

import numpy as np

from nncgraph.data import cache
from nncgraph.data.assemble import Cell, build
from nncgraph.data.decode import ARRAY_EXTENSIONS, IMAGE_EXTENSIONS, KINDS, FileCell, to_float32
from nncgraph.errors import Location, UserError, shown

# A vector column's index has at most this many digits (a million columns is beyond any dataset)
_MAX_INDEX_DIGITS = 6
_FLOAT32_MAX = float(np.finfo(np.float32).max)

__all__ = ["CsvDataset", "load_csv_dataset", "to_float32", "IMAGE_EXTENSIONS", "ARRAY_EXTENSIONS"]


@dataclass
class CsvDataset:
    """Every variable of every sample as an array of shape (N, *shape), plus its scale.

    `variables[name]` is float32, or uint8 pixels (a read-only memory map of
    the cache when the CSV names files) whose values are pixels * scales[name].
    """

    csv_path: str
    variables: dict[str, np.ndarray]
    row_lines: list[int] = field(default_factory=list, repr=False)
    scales: dict[str, float] = field(default_factory=dict)
    cache_folder: Optional[str] = None    # where the arrays live on disk; None: in memory

    def __post_init__(self) -> None:
        self.scales = {name: float(self.scales.get(name, 1.0)) for name in self.variables}

    def __len__(self) -> int:
        if self.row_lines or not self.variables:
            return len(self.row_lines)
        return len(next(iter(self.variables.values())))

    def as_float32(self, name: str, index=slice(None)) -> np.ndarray:
        """The float32 values of variable `name` for the samples `index` (all by default)."""
        return to_float32(self.variables[name][index], self.scales[name])

    def row_location(self, index: int) -> Location:
        """Where sample `index` is written in the CSV (header is line 1)."""
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range 0..{len(self) - 1}")
        line = self.row_lines[index] if self.row_lines else index + 2
        return Location(self.csv_path, line)


@dataclass(frozen=True)
class _Variable:
    name: str
    positions: tuple[int, ...]   # CSV columns, in vector-index order
    vector: bool


def _read_rows(path: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(first line of the row, cells) for every row of the CSV's bytes that is not blank."""
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        # Decoded up front so a bad byte is reported on its own line.
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = bom + exc.start
        raise UserError(f"the dataset CSV is not UTF-8 text: {exc.reason} at byte {at}.",
                        location=Location(path, data.count(b"\n", 0, at) + 1),
                        fix="save the file as comma-separated UTF-8 text.") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    done = 0    # last physical line consumed; quoted cells may span lines
    try:
        for cells in reader:
            start, done = done + 1, reader.line_num
            # Spreadsheet exports often end with ",,," lines: no sample there.
            if any(c.strip() for c in cells):
                yield start, cells
    except csv.Error as exc:
        raise UserError(f"cannot parse the dataset CSV: {str(exc).rstrip('.')}.",
                        location=Location(path, done + 1),
                        fix="save the file as comma-separated UTF-8 text.") from None


def _parse_header(cells: list[str], loc: Location) -> list[_Variable]:
    groups: dict[str, list[tuple[Optional[int], int]]] = {}
    for pos, raw in enumerate(cells):
        name = raw.partition(":")[0].strip()
        index: Optional[int] = None
        base, sep, tail = name.rpartition("__")
        if sep and base and tail.isascii() and tail.isdigit():
            if len(tail) > _MAX_INDEX_DIGITS:     # int() of thousands of digits is slow, then refused
                raise UserError(f"header cell {pos + 1} ({shown(raw)}) numbers a vector column beyond any "
                                f"vector's length.", location=loc,
                                fix="number vector columns name__0, name__1 and so on.")
            name, index = base, int(tail)
        if not name:
            raise UserError(f"header cell {pos + 1} ({shown(raw)}) has no variable name.",
                            location=loc,
                            fix="name every column, e.g. 'x:image', 'y:label', 'x__0'.")
        groups.setdefault(name, []).append((index, pos))

    variables = []
    for name, members in groups.items():
        headers = shown(", ".join(f"'{cells[p].strip()}'" for _, p in members), quote=False)
        if any(i is None for i, _ in members):
            if len(members) > 1:
                raise UserError(
                    f"variable {shown(name)} is named by more than one header cell "
                    f"({headers}).", location=loc,
                    fix="give each column its own name, or number vector columns "
                        "name__0, name__1 and so on.")
            variables.append(_Variable(name, (members[0][1],), vector=False))
            continue
        members.sort()
        if [i for i, _ in members] != list(range(len(members))):
            raise UserError(
                f"vector columns of {shown(name)} must be numbered __0.."
                f"__{len(members) - 1} with no gaps or repeats; the header "
                f"has {headers}.", location=loc,
                fix="renumber the columns so the indices run 0, 1, 2, ... once each.")
        variables.append(_Variable(name, tuple(p for _, p in members), vector=True))
    return variables


def _number(text: str, column: str, path: str, line: int, *,
            required: bool) -> Optional[float]:
    """The cell's value, or None if it is not a number (so it names a file)."""
    try:
        value = float(text)
    except ValueError:
        if not required:
            return None
        raise UserError(f"cell {shown(text)} in column {shown(column)} of row {line} is "
                        f"not a number; vector columns hold one number each.",
                        location=Location(path, line),
                        fix="put a number in every name__i column.") from None
    if not math.isfinite(value):
        raise UserError(f"cell {shown(text)} in column {shown(column)} of row {line} is "
                        f"not a finite number.", location=Location(path, line),
                        fix="replace it with a real number.")
    if abs(value) > _FLOAT32_MAX:     # it would become inf in the float32 data the network reads
        raise UserError(f"cell {shown(text)} in column {shown(column)} of row {line} is "
                        f"beyond float32's range (about ±3.4e38).", location=Location(path, line),
                        fix="scale the values down into float32's range.")
    return value


def _plan_file(text: str, column: str, base_dir: str, path: str, line: int, variable: int,
               row: int) -> tuple[FileCell, os.stat_result]:
    if os.sep == "/":   # os.path.join's result, at a third of its cost (a call per file per load)
        full = text if text.startswith("/") else base_dir + text
    else:
        full = os.path.join(base_dir, text)
    try:
        info = os.stat(full)
    except (OSError, ValueError):
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        full, info = None, None
        if "\\" in text and os.sep == "/":
            # Datasets made on Windows write paths with backslashes.
            full = os.path.join(base_dir, text.replace("\\", "/"))
            try:
                info = os.stat(full)
            except (OSError, ValueError):
                pass
        if info is None or not stat.S_ISREG(info.st_mode):
            looked = full or os.path.join(base_dir, text)
            state = "is a folder" if os.path.isdir(looked) else "does not exist"
            raise UserError(
                f"file {shown(text)} named in row {line} (column {shown(column)}) {state}; "
                f"looked for {shown(looked)}.", location=Location(path, line),
                fix="fix the path (relative paths start at the CSV's folder) or put "
                    "a number in the cell.")
    kind = KINDS.get(full[full.rfind("."):].lower())
    if kind is None:
        ext = os.path.splitext(full)[1].lower()
        supported = ", ".join(sorted(KINDS))
        raise UserError(
            f"file {shown(text)} named in row {line} (column {shown(column)}) has an "
            f"unsupported extension {shown(ext or '(none)')}.", location=Location(path, line),
            fix=f"convert it to one of {supported}.")
    return FileCell(full, text, column, kind, path, line, variable, row), info


def load_csv_dataset(path: str, *, image_normalization: bool = True,
                     workers: Optional[int] = None) -> CsvDataset:
    """Read every sample of an NNC dataset CSV; images scaled by 1/255 if asked.

    Files named by the CSV are decoded by `workers` processes (default: one per
    usable CPU) the first time, and read from the cache after that. Call it
    under `if __name__ == "__main__":` in scripts, as for any multiprocessing.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        state = "is a folder, not a file" if os.path.isdir(path) else "does not exist"
        raise UserError(f"dataset CSV '{path}' {state}.", location=Location(path),
                        fix="check the dataset path (relative paths start at the "
                            "current folder).")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UserError(f"cannot read the dataset CSV: {exc.strerror or exc}.",
                        location=Location(path), fix="check the file's permissions.") from None
    found = cache.find_cache(path, data, image_normalization)
    if found is not None:
        hit, lines = found
        return CsvDataset(path, hit.arrays, lines, hit.scales, cache_folder=hit.folder)
    rows = list(_read_rows(path, data))
    if not rows:
        raise UserError("the dataset CSV is empty.", location=Location(path, 1),
                        fix="write a header such as 'x:image,y:label' and one row "
                            "per sample.")
    header_line, header = rows[0]
    variables = _parse_header(header, Location(path, header_line))
    if len(rows) == 1:
        raise UserError("the dataset CSV has a header but no data rows.",
                        location=Location(path, header_line),
                        fix="add one row per sample below the header.")

    base_dir = os.path.join(os.path.dirname(os.path.abspath(path)), "")    # ends with the separator
    names = [cell.strip() for cell in header]
    cells: list[list[Cell]] = [[] for _ in variables]
    files: list[FileCell] = []
    stamps: list[tuple[str, int, int]] = []
    lines: list[int] = []
    ncols = len(header)
    for line, row in rows[1:]:
        if len(row) != ncols:
            raise UserError(
                f"row {line} has {len(row)} cells but the header has "
                f"{ncols} columns.", location=Location(path, line),
                fix="give every row one cell per header column (quote cells "
                    "that contain commas).")
        row = [text.strip() for text in row]
        if not all(row):
            blank = row.index("")
            raise UserError(f"row {line} has an empty cell in column {shown(names[blank])}.",
                            location=Location(path, line), fix="fill in a number or a file path.")
        for i, var in enumerate(variables):
            if var.vector:
                cells[i].append(tuple(_number(row[p], names[p], path, line, required=True)
                                      for p in var.positions))
                continue
            pos = var.positions[0]
            text = row[pos]
            # A known file extension never parses as a number: skip the costly ValueError.
            if text[text.rfind("."):].lower() not in KINDS:
                value = _number(text, names[pos], path, line, required=False)
                if value is not None:
                    cells[i].append((value,))
                    continue
            cell, info = _plan_file(text, names[pos], base_dir, path, line, i, len(lines))
            cells[i].append(cell)
            files.append(cell)
            stamps.append((cell.path, info.st_size, info.st_mtime_ns))
        lines.append(line)

    if not files:
        # Parsing is all the work, and it happens on every load anyway: no cache.
        return CsvDataset(path, {v.name: np.array(c, dtype=np.float32) for v, c in zip(variables, cells)},
                          lines)
    key = cache.cache_key(data, stamps, image_normalization)
    del rows
    folder = cache.cache_folder(path, key)
    hit = cache.open_cache(folder, key, len(lines))
    if hit is not None:
        return CsvDataset(path, hit.arrays, lines, hit.scales, cache_folder=hit.folder)
    cache.discard_broken(folder)
    arrays, scales, folder = build(path, data, key, [v.name for v in variables], cells, files, lines,
                                   image_normalization, workers)
    return CsvDataset(path, arrays, lines, scales, cache_folder=folder)
