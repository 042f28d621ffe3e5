"""The decoded-data cache: one memory-mappable .npy per variable, beside the CSV.

`<csv dir>/.nncgraph-cache/<csv stem>-<key[:16]>/` (the `.nncgraph-cache`
part replaced by $NNCGRAPH_CACHE_DIR when set) holds `index.json`, the
arrays, and `files.json` (the referenced files and the CSV line of each row).
The key covers everything the values depend on: the CSV's bytes, each
referenced file's path, size and mtime, the image_normalization flag, the
Pillow version and the format version, so any change makes a new folder.
`find_cache` recomputes it from `files.json` without parsing the CSV: the
same bytes over the same files parse the same way.

A cache is built in a temporary sibling folder and renamed into place only
when complete, so a killed run leaves at most a `.tmp-*` folder, which a later
build of the same CSV removes; a folder with the final name is always whole.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
import PIL

from ..atomic_files import pid_alive

CACHE_FORMAT = 1    # bump whenever parsing or decoding would load a CSV differently
CACHE_DIR_ENV = "NNCGRAPH_CACHE_DIR"
CACHE_FOLDER = ".nncgraph-cache"
INDEX = "index.json"
FILES = "files.json"
_OWNER = "owner.json"
# A temp folder whose owner file was never written is only removed when this
# old, as its writer may still be starting up.
_ORPHAN_SECONDS = 3600


def cache_key(csv_bytes: bytes, files: Iterable[tuple[str, int, int]], normalize: bool) -> str:
    """sha256 hex of the CSV's bytes plus every (path, size, mtime_ns) and the settings."""
    h = hashlib.sha256()
    h.update(f"nncgraph-cache {CACHE_FORMAT}\0pillow {PIL.__version__}\0"
             f"normalize {int(normalize)}\0".encode())
    h.update(hashlib.sha256(csv_bytes).digest())
    for path, size, mtime_ns in files:
        h.update(f"{path}\0{size}\0{mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def cache_root(csv_path: str) -> str:
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return os.path.abspath(override)
    return os.path.join(os.path.dirname(os.path.abspath(csv_path)), CACHE_FOLDER)


def _stem(csv_path: str) -> str:
    return os.path.splitext(os.path.basename(csv_path))[0]


def cache_folder(csv_path: str, key: str) -> str:
    return os.path.join(cache_root(csv_path), f"{_stem(csv_path)}-{key[:16]}")


@dataclass
class Cached:
    folder: str
    arrays: dict[str, np.ndarray]
    scales: dict[str, float]


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def open_cache(folder: str, key: str, rows: int) -> Optional[Cached]:
    """The cached arrays as read-only memory maps, or None if the folder is missing or not this key's."""
    index = _read_json(os.path.join(folder, INDEX))
    if not index or index.get("format") != CACHE_FORMAT or index.get("key") != key \
            or index.get("rows") != rows or not os.path.isfile(os.path.join(folder, FILES)):
        return None
    arrays, scales = {}, {}
    try:
        for entry in index["variables"]:
            arr = np.load(os.path.join(folder, entry["file"]), mmap_mode="r", allow_pickle=False)
            if arr.dtype != np.dtype(entry["dtype"]) or list(arr.shape) != [rows, *entry["shape"]]:
                return None
            arrays[entry["name"]] = arr
            scales[entry["name"]] = float(entry["scale"])
    except (OSError, ValueError, KeyError, TypeError):
        return None     # truncated or edited by hand: rebuilt like a miss
    return Cached(folder, arrays, scales)


def find_cache(csv_path: str, csv_bytes: bytes, normalize: bool) -> Optional[tuple[Cached, list[int]]]:
    """This CSV's cache, if its bytes and every file it names are unchanged, with the row lines."""
    root, csv_abs, stem = cache_root(csv_path), os.path.abspath(csv_path), _stem(csv_path)
    digest = hashlib.sha256(csv_bytes).hexdigest()
    try:
        entries = os.listdir(root)
    except OSError:
        return None
    for entry in entries:
        if not entry.startswith(f"{stem}-"):
            continue
        folder = os.path.join(root, entry)
        index = _read_json(os.path.join(folder, INDEX))
        if not index or index.get("csv") != csv_abs or index.get("csv_sha256") != digest \
                or index.get("image_normalization") != normalize:
            continue
        listing = _read_json(os.path.join(folder, FILES))
        try:
            stamps = []
            for path in listing["paths"]:
                info = os.stat(path)
                stamps.append((path, info.st_size, info.st_mtime_ns))
            lines = [int(line) for line in listing["lines"]]
        except (OSError, KeyError, TypeError, ValueError):
            continue     # a file is gone or changed type: the full load reports it
        key = cache_key(csv_bytes, stamps, normalize)
        hit = open_cache(folder, key, len(lines)) if key == index.get("key") else None
        if hit is not None:
            return hit, lines
    return None


def remove_stale(csv_path: str, keep: str, normalize: bool) -> None:
    """Remove this CSV's other caches for the same image_normalization, and temp folders
    its killed builds left. (The other flag's cache is kept: two projects may share a CSV.)"""
    root, csv_abs = os.path.dirname(keep), os.path.abspath(csv_path)
    stem, host = _stem(csv_path), socket.gethostname()
    try:
        entries = os.listdir(root)
    except OSError:
        return
    for entry in entries:
        full = os.path.join(root, entry)
        if full == keep:
            continue
        if entry.startswith(f"{stem}-"):
            index = _read_json(os.path.join(full, INDEX))
            # Under a shared $NNCGRAPH_CACHE_DIR another CSV may have the same stem.
            if index and index.get("csv") == csv_abs and index.get("image_normalization") == normalize:
                shutil.rmtree(full, ignore_errors=True)
        elif entry.startswith(f".tmp-{stem}-"):
            owner = _read_json(os.path.join(full, _OWNER))
            if owner is None:
                try:
                    stale = time.time() - os.stat(full).st_mtime > _ORPHAN_SECONDS
                except OSError:
                    continue
            else:
                stale = (owner.get("csv") == csv_abs and owner.get("host") == host
                         and not pid_alive(int(owner.get("pid", 0))))
            if stale:
                shutil.rmtree(full, ignore_errors=True)


def _preallocate(path: str) -> None:
    # A memory map over a sparse file dies with SIGBUS when the disk fills up;
    # reserving the blocks first turns that into an OSError here.
    if not hasattr(os, "posix_fallocate"):
        return
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        if size:
            os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    finally:
        os.close(fd)


class CacheBuilder:
    """Arrays being filled for one dataset: memory maps in a temporary folder, or plain
    memory when the cache folder cannot be written (then `commit` returns None)."""

    def __init__(self, csv_path: str, csv_bytes: bytes, key: str, paths: list[str], lines: list[int],
                 normalize: bool, *, use_files: bool = True):
        self.csv_path, self.key, self.rows, self.normalize = csv_path, key, len(lines), normalize
        self.csv_sha256 = hashlib.sha256(csv_bytes).hexdigest()
        self.paths, self.lines = paths, lines
        self.final = cache_folder(csv_path, key)
        self.tmp: Optional[str] = None
        self.arrays: dict[str, np.ndarray] = {}
        if not use_files:
            return
        root = os.path.dirname(self.final)
        try:
            os.makedirs(root, exist_ok=True)
            self.tmp = tempfile.mkdtemp(prefix=f".tmp-{_stem(csv_path)}-", dir=root)
            owner = {"csv": os.path.abspath(csv_path), "host": socket.gethostname(), "pid": os.getpid()}
            with open(os.path.join(self.tmp, _OWNER), "w", encoding="utf-8") as f:
                json.dump(owner, f)
        except OSError as exc:
            self.abort()
            warnings.warn(f"cannot write the dataset cache in '{root}' ({exc.strerror or exc}); "
                          f"decoding into memory instead. Set {CACHE_DIR_ENV} to a writable folder "
                          "to keep decoded data between runs.", RuntimeWarning, stacklevel=5)

    def create(self, tag: str, shape: tuple[int, ...], dtype) -> tuple[str, np.ndarray]:
        """A new zeroed array of (rows, *shape); its file name is the handle for `drop`/`commit`."""
        dtype = np.dtype(dtype)
        name = f"{tag}-{dtype.name}.npy"
        full = (self.rows, *shape)
        if self.tmp is None:
            arr = np.zeros(full, dtype)
        else:
            path = os.path.join(self.tmp, name)
            arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=full)
            _preallocate(path)
        self.arrays[name] = arr
        return name, arr

    def path_of(self, name: str) -> Optional[str]:
        """The file behind an array from `create` (None in memory)."""
        return os.path.join(self.tmp, name) if self.tmp is not None else None

    def drop(self, name: str) -> None:
        self.arrays.pop(name, None)
        if self.tmp is not None:
            os.remove(os.path.join(self.tmp, name))

    def commit(self, variables: list[tuple[str, str, float]]) -> Optional[str]:
        """Write the index, move the folder into place, and return it (None when in memory).

        `variables` lists (variable name, file name from `create`, scale)."""
        if self.tmp is None:
            return None
        entries = []
        for name, file, scale in variables:
            arr = self.arrays[file]
            arr.flush()
            # flush() covers this process's map only; workers wrote with pwrite. Synced
            # before the rename so that even a crash of the machine cannot leave a
            # complete-looking folder over unwritten (zero) blocks.
            fd = os.open(os.path.join(self.tmp, file), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            entries.append({"name": name, "file": file, "dtype": arr.dtype.name,
                            "shape": list(arr.shape[1:]), "scale": scale})
        self.arrays.clear()     # unmaps once the caller drops its references too
        index = {"format": CACHE_FORMAT, "key": self.key, "csv": os.path.abspath(self.csv_path),
                 "csv_sha256": self.csv_sha256, "rows": self.rows,
                 "image_normalization": self.normalize, "variables": entries}
        for name, value in ((FILES, {"paths": self.paths, "lines": self.lines}), (INDEX, index)):
            with open(os.path.join(self.tmp, name), "w", encoding="utf-8") as f:
                json.dump(value, f, indent=1 if name == INDEX else None)
                f.flush()
                os.fsync(f.fileno())
        os.remove(os.path.join(self.tmp, _OWNER))
        try:
            os.rename(self.tmp, self.final)
        except OSError:
            if not os.path.isdir(self.final):
                raise
            # Another run of the same CSV finished first: keep its copy if whole.
            if open_cache(self.final, self.key, self.rows) is not None:
                self.abort()
                return self.final
            shutil.rmtree(self.final, ignore_errors=True)
            os.rename(self.tmp, self.final)
        self.tmp = None
        remove_stale(self.csv_path, self.final, self.normalize)
        return self.final

    def abort(self) -> None:
        """Forget everything written so far (the temp folder is removed)."""
        self.arrays.clear()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def discard_broken(folder: str) -> None:
    """Remove a final-named folder that does not open (hand-edited or from another format)."""
    if os.path.isdir(folder):
        shutil.rmtree(folder, ignore_errors=True)
