"""K-fold splits of an NNC dataset CSV: stratified by class, seeded, written as CSV pairs.

Fold i validates on the i-th part and trains on the other K-1 (the 6-fold
cross-validation of our field reports). File cells are rewritten relative to
the new CSVs, so the folds can live anywhere.
"""
from __future__ import annotations

import csv
import io
import os
from typing import List, Optional, Tuple

import numpy as np

from ..errors import Location, UserError, file_state
from ..atomic_files import atomic_write, make_folder


def read_rows(path: str) -> Tuple[List[str], List[List[str]]]:
    if not os.path.isfile(path):
        raise UserError(f"dataset CSV '{path}' {file_state(path)}.", location=Location(path),
                        fix="check the path, or create the dataset first.")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise UserError("the dataset CSV has no data rows.", location=Location(path, 1),
                        fix="add one row per sample under the header.")
    return rows[0], rows[1:]


def label_column(header: List[str], label: Optional[str]) -> Optional[int]:
    """The column to stratify by: `label` if given, else a `y` or `...:label` column, else none."""
    names = [h.split(":")[0] for h in header]
    if label is not None:
        if label not in names:
            raise UserError(f"the CSV has no column '{label}' (columns: {', '.join(names)}).",
                            fix="name the class column with --label.")
        return names.index(label)
    for i, h in enumerate(header):
        if names[i] == "y" or h.endswith(":label"):
            return i
    return None


def stratified_folds(labels: Optional[List[str]], n: int, k: int, seed: int) -> List[np.ndarray]:
    """Row indices of each fold; every class spread evenly over the folds."""
    rng = np.random.RandomState(seed)
    folds: List[List[int]] = [[] for _ in range(k)]
    groups = {}
    for i in range(n):
        groups.setdefault(labels[i] if labels else "", []).append(i)
    offset = 0
    for key in sorted(groups):
        members = rng.permutation(groups[key])
        for j, row in enumerate(members):     # deal like cards, continuing where the last class stopped
            folds[(offset + j) % k].append(int(row))
        offset += len(members)
    return [np.array(sorted(f), dtype=int) for f in folds]


def write_kfold(csv_path: str, k: int, out_dir: str, *, seed: int = 0, label: Optional[str] = None) -> List[dict]:
    """Write out_dir/fold_<i>/{train,valid}.csv for i = 1..k; returns their paths and sizes."""
    if isinstance(k, bool) or not isinstance(k, int):      # the API's caller; argparse gives an int
        raise UserError(f"k must be a whole number of folds, got {k!r}.", fix="e.g. k=5 (-k 5)")
    header, rows = read_rows(csv_path)
    if not 2 <= k <= len(rows):
        raise UserError(f"k = {k} does not fit {len(rows)} samples.", location=Location(csv_path),
                        fix=f"use a k between 2 and {len(rows)}.")
    column = label_column(header, label)
    labels = [r[column] if column is not None and column < len(r) else "" for r in rows]
    folds = stratified_folds(labels if column is not None else None, len(rows), k, seed)
    if any(len(f) == 0 for f in folds):
        raise UserError(f"{k} folds leave one empty.", location=Location(csv_path), fix="use fewer folds.")
    source_dir = os.path.dirname(os.path.abspath(csv_path))
    out = []
    make_folder(out_dir)
    for i, fold in enumerate(folds, start=1):
        folder = make_folder(os.path.join(out_dir, f"fold_{i}"), "fold folder")
        held = set(fold.tolist())
        train = [rows[j] for j in range(len(rows)) if j not in held]
        valid = [rows[j] for j in fold]
        paths = {}
        for name, part in (("train", train), ("valid", valid)):
            paths[name] = os.path.join(folder, f"{name}.csv")
            atomic_write(paths[name], _csv_text(header, part, source_dir, folder))
        out.append({"fold": i, "train_csv": paths["train"], "valid_csv": paths["valid"],
                    "n_train": len(train), "n_valid": len(valid)})
    return out


def _csv_text(header, rows, source_dir: str, target_dir: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_relocate(cell, source_dir, target_dir) for cell in row])
    return buf.getvalue()


def _relocate(cell: str, source_dir: str, target_dir: str) -> str:
    """A file cell, re-pointed from the source CSV's folder to the fold's; numbers stay as they are."""
    if not cell or os.path.isabs(cell):
        return cell
    candidate = os.path.join(source_dir, cell)
    if not os.path.exists(candidate):
        return cell
    return os.path.relpath(candidate, target_dir)
