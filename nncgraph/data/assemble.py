"""Fill each variable's array from the parsed CSV cells and the decoded files.

Rows are taken in CSV order, so the first bad row (a file that does not
decode, or a sample of another shape) is the one reported. The arrays are
files in a cache folder being built (cache.CacheBuilder): worker processes
write the samples that fit straight into them, the rest is written here, so
decoded data never has to fit in memory at once.
"""
from __future__ import annotations

import os
import warnings
from typing import Optional, Union

import numpy as np

from nncgraph.data import cache
from nncgraph.data.decode import FileCell, Target, decode_stream, image_scale, to_float32
from nncgraph.errors import Location, UserError

Cell = Union[tuple, FileCell]    # the numbers written in the CSV, or a file to decode
_PROMOTE_BYTES = 64 << 20        # float32 bytes converted at a time when a variable is promoted


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


class _Store:
    """One variable's array, filled sample by sample in row order.

    The first sample fixes the shape and the storage: uint8 for 8-bit images,
    float32 otherwise. A float32 sample in a uint8 variable (say a 16-bit image
    among 8-bit ones) converts the rows so far to float32 values (scale 1).
    """

    def __init__(self, name: str, tag: str, out: cache.CacheBuilder, pixel_scale: float,
                 lines: list[int], csv_path: str):
        self.name, self.tag, self.out = name, tag, out
        self.pixel_scale, self.lines, self.csv_path = pixel_scale, lines, csv_path
        self.file: Optional[str] = None
        self.array: Optional[np.ndarray] = None
        self.scale = 1.0
        # Files replaced by a promotion, kept until decoding ends: workers may
        # still be writing rows they were sent before it.
        self.retired: dict[str, tuple[np.ndarray, float]] = {}

    def target(self) -> Optional[Target]:
        path = self.out.path_of(self.file) if self.file else None
        if path is None or not hasattr(os, "pwrite"):
            return None
        return path, self.array.dtype.name, self.array.shape[1:], self.array.offset

    def put(self, row: int, value: Union[np.ndarray, str]) -> None:
        if isinstance(value, str):      # a worker wrote the row into a cache file
            if value != self.out.path_of(self.file):
                old, scale = self.retired[value]
                self.array[row] = to_float32(old[row], scale)
            return
        if self.array is None:
            dtype = np.uint8 if value.dtype == np.uint8 else np.float32
            self.scale = self.pixel_scale if dtype == np.uint8 else 1.0
            self.file, self.array = self.out.create(self.tag, value.shape, dtype)
        elif value.shape != self.array.shape[1:]:
            raise UserError(
                f"variable '{self.name}': every sample of a variable must have one "
                f"shape: row {self.lines[row]} has {_shape_text(value.shape)}, the first "
                f"row (line {self.lines[0]}) has {_shape_text(self.array.shape[1:])}.",
                location=Location(self.csv_path, self.lines[row]),
                fix="resize or re-export the file so that all samples match.")
        if value.dtype != self.array.dtype:
            if self.array.dtype == np.uint8:
                self._promote(row)
            else:
                value = to_float32(value, self.pixel_scale)
        self.array[row] = value

    def put_all(self, values: np.ndarray) -> None:
        self.file, self.array = self.out.create(self.tag, values.shape[1:], values.dtype)
        self.array[:] = values

    def _promote(self, filled: int) -> None:
        old_file, old = self.file, self.array
        self.retired[self.out.path_of(old_file) or old_file] = (old, self.scale)
        self.file, self.array = self.out.create(self.tag, old.shape[1:], np.float32)
        step = max(1, _PROMOTE_BYTES // max(1, old[0].size * 4))
        for start in range(0, filled, step):
            stop = min(filled, start + step)
            self.array[start:stop] = to_float32(old[start:stop], self.scale)
        self.scale = 1.0

    def drop_retired(self) -> None:
        for path in self.retired:
            self.out.drop(os.path.basename(path))
        self.retired.clear()


def _fill(names: list[str], cells: list[list[Cell]], files: list[FileCell], lines: list[int],
          path: str, normalize: bool, workers: Optional[int], out: cache.CacheBuilder) -> list[_Store]:
    stores = [_Store(name, f"v{i}", out, image_scale(normalize), lines, path) for i, name in enumerate(names)]
    with_files = sorted({cell.variable for cell in files})
    for i, store in enumerate(stores):
        if i not in with_files:
            store.put_all(np.array(cells[i], dtype=np.float32))

    def targets() -> dict[int, Target]:
        found = {i: stores[i].target() for i in with_files}
        return {i: t for i, t in found.items() if t is not None}

    decoded = decode_stream(files, normalize, workers, targets)
    try:
        for row in range(len(lines)):
            for i in with_files:
                cell = cells[i][row]
                value = next(decoded) if isinstance(cell, FileCell) else np.array(cell, np.float32)
                stores[i].put(row, value)
    finally:
        decoded.close()     # stops the worker processes (waiting for running chunks) when a row is bad
    for store in stores:
        store.drop_retired()
    return stores


def build(path: str, csv_bytes: bytes, key: str, names: list[str], cells: list[list[Cell]],
          files: list[FileCell], lines: list[int], normalize: bool, workers: Optional[int]
          ) -> tuple[dict[str, np.ndarray], dict[str, float], Optional[str]]:
    """(arrays, scales, cache folder): read-only memory maps of the new cache, or
    arrays in memory (folder None) when the cache cannot be written."""
    def attempt(use_files: bool):
        out = cache.CacheBuilder(path, csv_bytes, key, [c.path for c in files], lines, normalize,
                                 use_files=use_files)
        try:
            stores = _fill(names, cells, files, lines, path, normalize, workers, out)
            return stores, out.commit([(s.name, s.file, s.scale) for s in stores])
        except BaseException:
            out.abort()     # a failed or interrupted build leaves no partial cache
            raise

    try:
        stores, folder = attempt(True)
    except OSError as exc:
        # Disk full or the like: the data may still fit in memory.
        warnings.warn(f"cannot write the dataset cache ({exc.strerror or exc}); decoding into "
                      "memory instead.", RuntimeWarning, stacklevel=3)
        stores, folder = attempt(False)
    hit = cache.open_cache(folder, key, len(lines)) if folder else None
    if hit is None:
        # In memory, or a concurrent build of an edited CSV already removed the
        # folder: the maps written here still hold the data.
        return {s.name: s.array for s in stores}, {s.name: s.scale for s in stores}, None
    return hit.arrays, hit.scales, hit.folder
