"""Reading a run folder's files for the report and `compare`.

Only files are read (metrics.csv, result.json, project.yaml, evaluation/*):
the report must work on any run folder, including one copied from elsewhere,
and must not depend on the evaluate package's code.
"""
from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .. import run_files
from ..errors import Location, UserError, shown

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".bmp": "image/bmp",
               ".gif": "image/gif"}
THUMBNAIL = 96      # pixels: small enough that 48 thumbnails keep the page light


def _float(text) -> Optional[float]:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def read_metrics(run_dir: str) -> List[Dict]:
    """metrics.csv's rows, numbers as numbers ([] without the file); a damaged file is a UserError naming it."""
    path = os.path.join(run_dir, "metrics.csv")
    rows = run_files.read_csv(path, optional=True)
    if rows and "epoch" not in rows[0]:
        raise run_files.damaged(path, "its header has no `epoch` column", 1)
    out = []
    for number, row in enumerate(rows[1:], start=2):
        values = dict(zip(rows[0], row))
        if not values["epoch"].strip().isdigit():
            raise run_files.damaged(path, f"epoch {shown(values['epoch'])} is not a whole number", number)
        bad = next((k for k, v in values.items() if v.strip() and _float(v) is None), None)
        if bad is not None:
            raise run_files.damaged(path, f"{bad} {shown(values[bad])} is not a number", number)
        out.append({k: (int(v) if k == "epoch" else _float(v)) for k, v in values.items()})
    return out


def read_json(path: str) -> Dict:
    """A JSON object the run wrote; {} without the file."""
    return run_files.read_json(path, optional=True)


RESULT_FIELDS = {"project": run_files.TEXT, "epochs": run_files.COUNT, "best_epoch": run_files.COUNT,
                 "best_valid_error": run_files.NUMBER, "seconds": run_files.NUMBER, "total_params": run_files.COUNT,
                 "total_macs": run_files.NUMBER, "train_samples": run_files.COUNT, "valid_samples": run_files.COUNT,
                 "final": run_files.OBJECT}
FINAL_FIELDS = {"epoch": run_files.COUNT, "valid_error": run_files.NUMBER, "train_error": run_files.NUMBER}
EVALUATION_FIELDS = {"samples": run_files.COUNT, "correct": run_files.COUNT, "dataset": run_files.TEXT,
                     "output": run_files.TEXT}


def read_result(run_dir: str) -> Dict:
    """result.json, its fields of the kinds the report and `compare` use; {} without the file."""
    path = os.path.join(run_dir, "result.json")
    result = run_files.check_fields(path, read_json(path), RESULT_FIELDS)
    run_files.check_fields(path, result.get("final") or {}, FINAL_FIELDS)
    return result


def read_csv_rows(path: str) -> List[List[str]]:
    return run_files.read_csv(path, optional=True)


def check_run_dir(run_dir: str) -> str:
    run_dir = os.path.abspath(run_dir)
    if not os.path.isdir(run_dir):
        state = "is not a folder" if os.path.exists(run_dir) else "does not exist"
        raise UserError(f"run folder '{run_dir}' {state}.", location=Location(run_dir),
                        fix="give the folder `nncgraph run` printed as 'run folder: ...'.")
    if os.path.isdir(os.path.join(run_dir, "project.yaml")):
        run_files.check_file(os.path.join(run_dir, "project.yaml"))     # says "is a directory"
    if not os.path.isfile(os.path.join(run_dir, "project.yaml")):
        raise UserError(f"'{run_dir}' is not a run folder: it has no project.yaml.",
                        location=Location(run_dir), fix="give a folder written by `nncgraph run`.")
    return run_dir


@dataclass
class Evaluation:
    """RUN_DIR/evaluation/ as `nncgraph evaluate` writes it; missing files stay empty."""

    folder: str
    present: bool
    metrics: Dict = field(default_factory=dict)
    confusion: List[List[str]] = field(default_factory=list)     # header row, then one row per true class
    per_class: List[Dict[str, str]] = field(default_factory=list)
    results: List[List[str]] = field(default_factory=list)       # output_result.csv with header
    images: Dict[str, str] = field(default_factory=dict)         # PNG name -> data URI


def read_evaluation(run_dir: str) -> Evaluation:
    folder = os.path.join(run_dir, "evaluation")
    ev = Evaluation(folder, os.path.isdir(folder))
    if not ev.present:
        return ev
    ev.metrics = read_json(os.path.join(folder, "metrics.json"))
    run_files.check_fields(os.path.join(folder, "metrics.json"), ev.metrics, EVALUATION_FIELDS)
    ev.confusion = read_csv_rows(os.path.join(folder, "confusion_matrix.csv"))
    ev.per_class = run_files.read_table(os.path.join(folder, "per_class.csv"), optional=True)
    ev.results = read_csv_rows(os.path.join(folder, "output_result.csv"))
    for name in ("likelihood.png",):
        uri = file_data_uri(os.path.join(folder, name))
        if uri:
            ev.images[name] = uri
    return ev


def file_data_uri(path: str) -> Optional[str]:
    """The whole file as a data: URI (for PNGs the run wrote itself)."""
    mime = IMAGE_TYPES.get(os.path.splitext(path)[1].lower())
    data = run_files.read_bytes(path, optional=True) if mime else None
    if data is None:
        return None
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def thumbnail_uri(path: str) -> Optional[str]:
    """A dataset image shrunk to a PNG thumbnail; None when it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = img.convert("RGB") if img.mode not in ("L", "RGB") else img.copy()
    except (OSError, ValueError):
        return None
    img.thumbnail((THUMBNAIL, THUMBNAIL))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def misclassified(ev: Evaluation, limit: int = 48) -> List[Dict]:
    """Rows of output_result.csv whose top1 is not the true label, with their image as a thumbnail.

    The true label column is the loss target (`y` of "y:label"); its value is a class index that
    labels.txt (next to the dataset CSV) names, as top1 is written with those names.
    """
    if len(ev.results) < 2 or "top1" not in ev.results[0]:
        return []
    header, rows = ev.results[0], ev.results[1:]
    dataset = ev.metrics.get("dataset") or ""
    base = os.path.dirname(dataset)
    labels = _labels(base)
    output = ev.metrics.get("output") or "y'"
    target = output[:-1] if output.endswith("'") else output
    true_col = next((i for i, h in enumerate(header) if h.split(":")[0] == target), None)
    if true_col is None:
        return []
    image_col = next((i for i, h in enumerate(header)
                      if rows and os.path.splitext(rows[0][i])[1].lower() in IMAGE_TYPES), None)
    top1, prob1 = header.index("top1"), header.index("top1_prob") if "top1_prob" in header else None
    out = []
    for number, row in enumerate(rows, start=1):
        truth = _label_name(row[true_col], labels)
        if row[top1] == truth:
            continue
        item = {"row": number, "true": truth, "predicted": row[top1],
                "probability": _float(row[prob1]) if prob1 is not None else None,
                "true_probability": _probability_of(header, row, output, row[true_col]),
                "file": row[image_col] if image_col is not None else "", "image": None}
        if image_col is not None:
            path = row[image_col] if os.path.isabs(row[image_col]) else os.path.join(base, row[image_col])
            item["image"] = thumbnail_uri(path)
        out.append(item)
        if len(out) >= limit:
            break
    return out


def count_misclassified(ev: Evaluation) -> int:
    return int(ev.metrics.get("samples", 0)) - int(ev.metrics.get("correct", 0)) if "correct" in ev.metrics else 0


def _labels(folder: str) -> Optional[List[str]]:
    path = os.path.join(folder, "labels.txt")
    if not folder or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8-sig", errors="replace") as f:     # only shown: a bad byte shows as such
        return [line for line in f.read().splitlines()]


def _label_name(value: str, labels: Optional[List[str]]) -> str:
    try:
        index = int(round(float(value)))
    except ValueError:
        return value
    return labels[index] if labels and 0 <= index < len(labels) else str(index)


def _probability_of(header: List[str], row: List[str], output: str, value: str) -> Optional[float]:
    """The network's probability for the true class: column y'__<index>."""
    try:
        col = header.index(f"{output}__{int(round(float(value)))}")
    except ValueError:
        return None
    return _float(row[col])
