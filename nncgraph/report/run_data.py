"""What the report makes of a run folder's evaluation: misclassified examples, thumbnails.

RunFolder reads the files; only files are read, so the report works on any run
folder, including one copied from elsewhere, and does not depend on the
evaluate package's code.
"""
from __future__ import annotations

import base64
import io
import os
from typing import Dict, List, Optional

from ..train.run_folder import Evaluation, number_or_none

IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")     # what a browser shows
THUMBNAIL = 96      # pixels: small enough that 48 thumbnails keep the page light


def png_uri(data: bytes) -> str:
    """A PNG the run wrote, as a data: URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


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
    return png_uri(buf.getvalue())


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
                "probability": number_or_none(row[prob1]) if prob1 is not None else None,
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
    return number_or_none(row[col])
