"""Decode the file cells of an NNC dataset CSV: images, `.npy` arrays, `.csv` matrices.

Decoding is GIL-bound Python inside Pillow for small images, so after a short
in-process probe the files go to worker processes in chunks. Workers send back
plain arrays, and a failure as (position, message, fix) rather than a raised
UserError: its keyword-only fields (location, fix) do not survive pickling.

8-bit images stay uint8 (the cache stores them 4x smaller than float32); the
caller turns them into values with `to_float32` and the variable's scale.
"""
from __future__ import annotations

import io
import math
import os
import signal
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np
from PIL import Image

from nncgraph.errors import Location, UserError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"})
ARRAY_EXTENSIONS = frozenset({".npy", ".csv"})
KINDS = {**{ext: "image" for ext in IMAGE_EXTENSIONS}, ".npy": "npy", ".csv": "csv"}
_GRAY_MODES = frozenset({"1", "L", "LA", "La"})
PROBE_FILES = 16
# Estimated serial decode time of the remaining files below which starting
# worker processes (and shipping arrays back) costs more than it saves.
PARALLEL_MIN_SECONDS = 0.1
# Upper bound on one chunk's decoded bytes: with 2 chunks in flight per worker
# this is what bounds memory while a dataset larger than RAM is decoded.
CHUNK_BYTES = 16 << 20
CHUNKS_PER_WORKER = 4


class FileCell(NamedTuple):
    """A CSV cell naming a file, with everything needed to decode it in another process.

    A NamedTuple: one is made per file on every load, cache hit or not."""

    path: str
    shown: str      # the cell text, as the user wrote it
    column: str
    kind: str       # "image", "npy" or "csv"
    csv_path: str
    line: int       # where the row starts in the CSV
    variable: int   # position of the variable in header order
    row: int        # 0-based sample index

    @property
    def location(self) -> Location:
        return Location(self.csv_path, self.line)

    def describe(self) -> str:
        return f"'{self.shown}' named in row {self.line} (column '{self.column}')"


def image_scale(normalize: bool) -> float:
    return 1.0 / 255.0 if normalize else 1.0


def to_float32(stored: np.ndarray, scale: float) -> np.ndarray:
    """The float32 values of stored samples: one vectorized op, no copy when already float32 and unscaled."""
    if scale == 1.0:
        return stored.astype(np.float32, copy=False)
    # Divide by the reciprocal rather than multiply: k / 255 in float32 is what
    # the loader has always produced, and k * float32(1/255) differs in the last
    # bit for 126 of the 256 pixel values.
    return np.divide(stored, np.float32(1.0 / scale), dtype=np.float32)


def _image_array(img: Image.Image, cell: FileCell, normalize: bool) -> np.ndarray:
    mode = img.mode
    wide = mode.startswith("I;16") or mode in ("I", "F")
    raw = np.asarray(img) if wide else None
    if wide and (mode == "F" or raw.size and (raw.min() < 0 or raw.max() > 65535)):
        raise UserError(f"image {cell.describe()} has 32-bit or floating-point "
                        f"pixels, which are not supported.", location=cell.location,
                        fix="save it as an 8- or 16-bit image, or the values as .npy.")
    if wide:
        # 16-bit maps onto the 8-bit 0..255 range so one normalization fits all;
        # it does not fit uint8, so it is stored as float32 values (scale 1).
        scale = 257.0 * 255.0 if normalize else 257.0
        return (raw.astype(np.float64) / scale).astype(np.float32)[None]
    if mode in _GRAY_MODES:
        return np.asarray(img if mode == "L" else img.convert("L"))[None]
    rgb = np.asarray(img if mode == "RGB" else img.convert("RGB"))
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def _decode_array(cell: FileCell) -> np.ndarray:
    fix = ("store a numeric array with numpy.save." if cell.kind == "npy" else
           "write a matrix of numbers, one row per line, separated by commas.")
    try:
        if cell.kind == "npy":
            arr = np.load(cell.path, allow_pickle=False)
            if not isinstance(arr, np.ndarray):
                arr.close()
                raise ValueError("it is an .npz archive, not a single array")
        else:
            with open(cell.path, encoding="utf-8-sig") as f:
                text = f.read()
            if not text.strip():
                raise ValueError("the file is empty")
            arr = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read array file {cell.describe()}: {str(exc).rstrip('.')}.",
                        location=cell.location, fix=fix) from None
    if arr.dtype.kind not in "biuf":
        raise UserError(f"array file {cell.describe()} holds {arr.dtype} data, "
                        f"not numbers.", location=cell.location, fix=fix)
    with np.errstate(over="ignore"):
        values = arr.astype(np.float32).reshape(arr.shape or (1,))
    if arr.dtype.kind == "f" and not np.isfinite(values).all():
        # a NaN sample trains the network into NaN, and the run would then blame the learning rate
        what = ("values beyond float32's range (about ±3.4e38)" if np.isfinite(arr).all()
                else "NaN or infinite values")
        raise UserError(f"array file {cell.describe()} holds {what}.", location=cell.location,
                        fix="replace them with real numbers within float32's range.")
    return values


def decode(cell: FileCell, normalize: bool) -> np.ndarray:
    """uint8 (C, H, W) for 8-bit images, float32 values for everything else."""
    if cell.kind != "image":
        return _decode_array(cell)
    try:
        with Image.open(cell.path) as img:
            img.load()
            return _image_array(img, cell, normalize)
    except UserError:
        raise
    except Exception as exc:  # Pillow signals bad files with many exception types
        raise UserError(f"cannot read image {cell.describe()}: {str(exc).rstrip('.')}.",
                        location=cell.location,
                        fix="replace the file with a valid image or re-export it.") from None


Failure = tuple[int, str, Optional[str]]
Target = tuple[str, str, tuple, int]    # a variable's cache file: .npy path, dtype name, sample shape, data offset


def decode_chunk(cells: Sequence[FileCell], normalize: bool, targets: dict[int, Target]
                 ) -> tuple[list[Union[np.ndarray, str]], Optional[Failure]]:
    """Worker entry: decode cells up to the first bad file, returning that file's error.

    A sample that fits its variable's cache file (same shape and dtype) is
    written straight into it and reported by the file's path, so large images
    do not travel back through a pipe; any other sample comes back as an array.
    pwrite, not a memory map: faulting in fresh pages of a map cost up to 8x more.
    """
    out: list[Union[np.ndarray, str]] = []
    files: dict[str, int] = {}
    try:
        for i, cell in enumerate(cells):
            try:
                arr = decode(cell, normalize)
            except UserError as err:
                return out, (i, err.message, err.fix)
            target = targets.get(cell.variable)
            if target is not None and arr.dtype.name == target[1] and arr.shape == tuple(target[2]):
                path = target[0]
                if path not in files:
                    files[path] = os.open(path, os.O_WRONLY)
                _pwrite_all(files[path], np.ascontiguousarray(arr), target[3] + cell.row * arr.nbytes)
                out.append(path)
            else:
                out.append(arr)
        return out, None
    finally:
        for fd in files.values():
            os.close(fd)


def _pwrite_all(fd: int, arr: np.ndarray, offset: int) -> None:
    view = memoryview(arr).cast("B")
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def default_workers() -> int:
    """CPUs this process may run on (a container or taskset may allow fewer than os.cpu_count())."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


_PR_SET_PDEATHSIG = 1     # <linux/prctl.h>


def _worker_init(parent: int) -> None:
    # Ctrl-C reaches the whole process group; the parent shuts the pool down,
    # so workers need not print a KeyboardInterrupt traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A SIGKILLed parent runs no shutdown: without this its workers would wait on
    # the task queue forever. The kernel signals us when the thread that forked us
    # exits; the pool lives inside decode_stream, so within that thread's life.
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:      # the parent died before prctl took effect
        os._exit(1)


def decode_stream(cells: Sequence[FileCell], normalize: bool, workers: Optional[int] = None,
                  targets: Callable[[], dict[int, Target]] = dict) -> Iterator[Union[np.ndarray, str]]:
    """Decode every cell in order, yielding its array, or the path of the cache file a
    worker wrote it into (see decode_chunk; `targets()` names the files at each
    submission). Raises the first bad file's UserError.

    At most 2 chunks per worker are in flight, so memory stays bounded however
    many files there are.
    """
    probe = cells[:PROBE_FILES]
    started = time.perf_counter()
    first = [decode(cell, normalize) for cell in probe]
    elapsed = time.perf_counter() - started
    rest = cells[len(probe):]
    workers = min(workers or default_workers(), len(rest))
    per_file = elapsed / max(1, len(probe))
    bytes_per_file = sum(a.nbytes for a in first) / max(1, len(first))
    del probe
    yield from first
    del first
    if workers < 2 or per_file * len(rest) < PARALLEL_MIN_SECONDS:
        for cell in rest:
            yield decode(cell, normalize)
        return
    size = max(1, min(math.ceil(len(rest) / (workers * CHUNKS_PER_WORKER)),
                      int(CHUNK_BYTES // max(1.0, bytes_per_file))))
    chunks = iter([rest[i:i + size] for i in range(0, len(rest), size)])
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                               initargs=(os.getpid(),))
    try:
        pending: deque = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(decode_chunk, chunk, normalize, targets())))
            if len(pending) >= 2 * workers:
                break
        while pending:
            chunk, future = pending.popleft()
            arrays, failure = future.result()
            following = next(chunks, None)
            if following is not None:    # keep the workers busy while this chunk is consumed
                pending.append((following, pool.submit(decode_chunk, following, normalize, targets())))
            yield from arrays
            del arrays
            if failure is not None:
                index, message, fix = failure
                raise UserError(message, location=chunk[index].location, fix=fix)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
