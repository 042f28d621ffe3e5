"""Load a Neural Network Console (NNC) dataset CSV into memory.

Header cells are `name[__index][:label]`: `x__0..x__N` form one vector
variable of shape (N+1,), a plain `y` is shape (1,), and the `:label` part is
for humans only. A cell is a number or a path (relative to the CSV's folder)
to an image, a `.npy` array, or a `.csv` matrix.
"""
from __future__ import annotations

import codecs
import csv
import io
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator, Optional, Union

import numpy as np
from PIL import Image

from nncgraph.errors import Location, UserError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"})
ARRAY_EXTENSIONS = frozenset({".npy", ".csv"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La"})
_PROBE_FILES = 16
# Mean decode time per file above which the remaining files go to threads.
PARALLEL_MIN_SECONDS_PER_FILE = 0.002


@dataclass
class CsvDataset:
    """Every variable of every sample, as float32 arrays of shape (N, *shape)."""

    csv_path: str
    variables: dict[str, np.ndarray]
    row_lines: list[int] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        if self.row_lines or not self.variables:
            return len(self.row_lines)
        return len(next(iter(self.variables.values())))

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


@dataclass(frozen=True)
class _Load:
    """A file cell waiting to be decoded (possibly on a worker thread)."""

    path: str
    shown: str      # the cell text, as the user wrote it
    column: str
    kind: str       # "image", "npy" or "csv"
    location: Location

    def describe(self) -> str:
        return (f"'{self.shown}' named in row {self.location.line} "
                f"(column '{self.column}')")


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _read_rows(path: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the row, cells) for every row that is not blank."""
    with open(path, "rb") as f:
        data = f.read()
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
            name, index = base, int(tail)
        if not name:
            raise UserError(f"header cell {pos + 1} ('{raw}') has no variable name.",
                            location=loc,
                            fix="name every column, e.g. 'x:image', 'y:label', 'x__0'.")
        groups.setdefault(name, []).append((index, pos))

    variables = []
    for name, members in groups.items():
        headers = ", ".join(f"'{cells[p].strip()}'" for _, p in members)
        if any(i is None for i, _ in members):
            if len(members) > 1:
                raise UserError(
                    f"variable '{name}' is named by more than one header cell "
                    f"({headers}).", location=loc,
                    fix=f"give each column its own name, or number vector columns "
                        f"{name}__0, {name}__1 and so on.")
            variables.append(_Variable(name, (members[0][1],), vector=False))
            continue
        members.sort()
        if [i for i, _ in members] != list(range(len(members))):
            raise UserError(
                f"vector columns of '{name}' must be numbered {name}__0.."
                f"{name}__{len(members) - 1} with no gaps or repeats; the header "
                f"has {headers}.", location=loc,
                fix="renumber the columns so the indices run 0, 1, 2, ... once each.")
        variables.append(_Variable(name, tuple(p for _, p in members), vector=True))
    return variables


def _number(text: str, column: str, loc: Location, *,
            required: bool) -> Optional[float]:
    """The cell's value, or None if it is not a number (so it names a file)."""
    try:
        value = float(text)
    except ValueError:
        if not required:
            return None
        raise UserError(f"cell '{text}' in column '{column}' of row {loc.line} is "
                        f"not a number; vector columns hold one number each.",
                        location=loc, fix="put a number in every name__i column.") from None
    if not math.isfinite(value):
        raise UserError(f"cell '{text}' in column '{column}' of row {loc.line} is "
                        f"not a finite number.", location=loc,
                        fix="replace it with a real number.")
    return value


def _plan_file(text: str, column: str, base_dir: str, loc: Location) -> _Load:
    candidates = [text]
    if "\\" in text and os.sep == "/":
        # Datasets made on Windows write paths with backslashes.
        candidates.append(text.replace("\\", "/"))
    resolved = [c if os.path.isabs(c) else os.path.join(base_dir, c) for c in candidates]
    full = next((p for p in resolved if os.path.isfile(p)), None)
    if full is None:
        state = "is a folder" if os.path.isdir(resolved[-1]) else "does not exist"
        raise UserError(
            f"file '{text}' named in row {loc.line} (column '{column}') {state}; "
            f"looked for '{resolved[-1]}'.", location=loc,
            fix="fix the path (relative paths start at the CSV's folder) or put "
                "a number in the cell.")
    ext = os.path.splitext(full)[1].lower()
    if ext not in IMAGE_EXTENSIONS and ext not in ARRAY_EXTENSIONS:
        supported = ", ".join(sorted(IMAGE_EXTENSIONS | ARRAY_EXTENSIONS))
        raise UserError(
            f"file '{text}' named in row {loc.line} (column '{column}') has an "
            f"unsupported extension '{ext or '(none)'}'.", location=loc,
            fix=f"convert it to one of {supported}.")
    kind = "image" if ext in IMAGE_EXTENSIONS else ext[1:]
    return _Load(full, text, column, kind, loc)


def _image_array(img: Image.Image, load: _Load, normalize: bool) -> np.ndarray:
    mode = img.mode
    wide = mode.startswith("I;16") or mode in ("I", "F")
    raw = np.asarray(img) if wide else None
    if wide and (mode == "F" or raw.size and (raw.min() < 0 or raw.max() > 65535)):
        raise UserError(f"image {load.describe()} has 32-bit or floating-point "
                        f"pixels, which are not supported.", location=load.location,
                        fix="save it as an 8- or 16-bit image, or the values as .npy.")
    if wide:
        # 16-bit maps onto the 8-bit 0..255 range so one normalization fits all.
        scale = 257.0 * 255.0 if normalize else 257.0
        return (raw.astype(np.float64) / scale).astype(np.float32)[None]
    if mode in _GRAY_MODES:
        arr = np.asarray(img if mode == "L" else img.convert("L"))[None]
    else:
        rgb = np.asarray(img if mode == "RGB" else img.convert("RGB"))
        # Transpose while still uint8: a strided uint8->float32 cast is ~10x slower.
        arr = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    out = arr.astype(np.float32)
    if normalize:
        out /= np.float32(255.0)
    return out


def _decode_array(load: _Load) -> np.ndarray:
    fix = ("store a numeric array with numpy.save." if load.kind == "npy" else
           "write a matrix of numbers, one row per line, separated by commas.")
    try:
        if load.kind == "npy":
            arr = np.load(load.path, allow_pickle=False)
            if not isinstance(arr, np.ndarray):
                arr.close()
                raise ValueError("it is an .npz archive, not a single array")
        else:
            with open(load.path, encoding="utf-8-sig") as f:
                text = f.read()
            if not text.strip():
                raise ValueError("the file is empty")
            arr = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read array file {load.describe()}: {str(exc).rstrip('.')}.",
                        location=load.location, fix=fix) from None
    if arr.dtype.kind not in "biuf":
        raise UserError(f"array file {load.describe()} holds {arr.dtype} data, "
                        f"not numbers.", location=load.location, fix=fix)
    return arr.astype(np.float32).reshape(arr.shape or (1,))


def _decode(load: _Load, normalize: bool) -> np.ndarray:
    if load.kind != "image":
        return _decode_array(load)
    try:
        with Image.open(load.path) as img:
            img.load()
            return _image_array(img, load, normalize)
    except UserError:
        raise
    except Exception as exc:  # Pillow signals bad files with many exception types
        raise UserError(f"cannot read image {load.describe()}: {str(exc).rstrip('.')}.",
                        location=load.location,
                        fix="replace the file with a valid image or re-export it.") from None


def _run_loads(loads: list[_Load], normalize: bool) -> list[np.ndarray]:
    """Decode every file cell, in order.

    Threads pay off only when Pillow's GIL-free decoders dominate (large
    images); for small files Image.open's Python overhead dominates and GIL
    contention made 4,000 28x28 PNGs ~3x slower. The first files are timed to choose.
    """
    probe = loads[:_PROBE_FILES]
    started = time.perf_counter()
    decoded = [_decode(load, normalize) for load in probe]
    rest = loads[len(probe):]
    if not rest:
        return decoded
    per_file = (time.perf_counter() - started) / len(probe)
    workers = min(32, os.cpu_count() or 1, len(rest))
    if workers < 2 or per_file < PARALLEL_MIN_SECONDS_PER_FILE:
        return decoded + [_decode(load, normalize) for load in rest]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nncgraph-csv") as pool:
        futures = [pool.submit(_decode, load, normalize) for load in rest]
        try:
            return decoded + [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


Cell = Union[np.ndarray, int]   # a ready array, or an index into the decoded list


def _assemble(var: _Variable, cells: list[Cell], decoded: list[np.ndarray],
              lines: list[int], path: str) -> np.ndarray:
    arrays = [decoded[c] if isinstance(c, int) else c for c in cells]
    first = arrays[0].shape
    out = np.empty((len(arrays),) + first, dtype=np.float32)
    for i, arr in enumerate(arrays):
        if arr.shape != first:
            raise UserError(
                f"variable '{var.name}': every sample of a variable must have one "
                f"shape: row {lines[i]} has {_shape_text(arr.shape)}, the first "
                f"row (line {lines[0]}) has {_shape_text(first)}.",
                location=Location(path, lines[i]),
                fix="resize or re-export the file so that all samples match.")
        out[i] = arr
    return out


def load_csv_dataset(path: str, *, image_normalization: bool = True) -> CsvDataset:
    """Read every sample of an NNC dataset CSV; images divided by 255 if asked."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        state = "is a folder, not a file" if os.path.isdir(path) else "does not exist"
        raise UserError(f"dataset CSV '{path}' {state}.", location=Location(path),
                        fix="check the dataset path (relative paths start at the "
                            "current folder).")
    try:
        rows = list(_read_rows(path))
    except OSError as exc:
        raise UserError(f"cannot read the dataset CSV: {exc.strerror or exc}.",
                        location=Location(path), fix="check the file's permissions.") from None
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

    base_dir = os.path.dirname(os.path.abspath(path))
    names = [cell.strip() for cell in header]
    cells: dict[str, list[Cell]] = {v.name: [] for v in variables}
    loads: list[_Load] = []
    lines: list[int] = []
    for line, row in rows[1:]:
        loc = Location(path, line)
        if len(row) != len(header):
            raise UserError(
                f"row {line} has {len(row)} cells but the header has "
                f"{len(header)} columns.", location=loc,
                fix="give every row one cell per header column (quote cells "
                    "that contain commas).")
        blank = next((pos for pos, text in enumerate(row) if not text.strip()), None)
        if blank is not None:
            raise UserError(f"row {line} has an empty cell in column '{names[blank]}'.",
                            location=loc, fix="fill in a number or a file path.")
        for var in variables:
            texts = [row[pos].strip() for pos in var.positions]
            values = [_number(t, names[p], loc, required=var.vector)
                      for t, p in zip(texts, var.positions)]
            if values[0] is not None:
                cells[var.name].append(np.array(values, dtype=np.float32))
            else:
                cells[var.name].append(len(loads))
                loads.append(_plan_file(texts[0], names[var.positions[0]], base_dir, loc))
        lines.append(line)

    decoded = _run_loads(loads, image_normalization)
    arrays = {v.name: _assemble(v, cells[v.name], decoded, lines, path) for v in variables}
    return CsvDataset(csv_path=path, variables=arrays, row_lines=lines)
