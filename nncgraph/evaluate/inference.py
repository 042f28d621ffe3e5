"""`nncgraph infer`: predict image files, folders of images, or dataset CSVs with a trained run.

Images become the network's input the way its dataset was made: with the
settings of `dataset create`'s report.json beside the training CSV when there
is one (size, channels, trim/pad/resize), else converted to the Input's
channels and resized to its height x width; then scaled as the project's
dataset says (1/255 under image_normalization).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import Location, UserError
from .model import TrainedModel, check_labels, load_model, read_csv_table, read_labels

CHUNK = 1024     # images converted and held at a time: a folder may not fit in memory


@dataclass(frozen=True)
class ImageFormat:
    input: str       # the Input's dataset variable
    width: int
    height: int
    channels: int
    mode: str        # trim, pad or resize (dataset create's --mode)
    scale: float


def infer_inputs(run_dir: str, inputs: List[str], model: Optional[str] = None,
                 backend: Optional[str] = None, project=None, num_evaluations: Optional[int] = None) -> List[Dict]:
    """One result per image or CSV row, in the order given (folders sorted, recursively).

    `project`: the run's project when the caller holds it, else its project.yaml's; `num_evaluations`:
    passes per batch instead of the project's evaluation.num_evaluations (their mean or last, evaluate/model.py)."""
    trained = load_model(run_dir, model, backend=backend, project=project, num_evaluations=num_evaluations)
    training = trained.project.datasets.get("training")
    names = None
    classifier = next((o for o in trained.outputs if o.classification), None)
    if classifier is not None and training is not None:
        folder = os.path.dirname(training.csv)
        names = check_labels(read_labels(folder), classifier.shape[0], folder)
    fmt: Optional[ImageFormat] = None
    results: List[Dict] = []
    pending: List[Tuple[str, str]] = []     # (as shown, path) of images not yet run

    def flush() -> None:
        for start in range(0, len(pending), CHUNK):
            part = pending[start:start + CHUNK]
            with tempfile.TemporaryDirectory(prefix="nncgraph-infer-") as tmp:
                arrays = {fmt.input: np.stack([_image_array(path, shown, fmt, tmp) for shown, path in part])}
            results.extend(_results(trained, [shown for shown, _ in part], arrays, {fmt.input: fmt.scale},
                                    classifier, names))
        pending.clear()

    for item in inputs:
        if os.path.isfile(item) and item.lower().endswith(".csv"):
            flush()
            shown, arrays, scales = _csv_inputs(trained, item)
            results.extend(_results(trained, shown, arrays, scales, classifier, names))
            continue
        fmt = fmt or image_format(trained)
        pending.extend((p, p) for p in _image_files(item))
    flush()
    return results


def image_format(trained: TrainedModel) -> ImageFormat:
    shapes = trained.input_shapes
    images = {k: s for k, s in shapes.items() if len(s) == 3 and s[0] in (1, 3)}
    if len(shapes) != 1 or not images:
        described = ", ".join(f"'{k}' {list(s)}" for k, s in shapes.items())
        raise UserError(f"the network's input ({described}) is not one gray or RGB image, so it cannot read "
                        "image files.", fix="give a dataset CSV in NNC format holding the inputs instead.")
    name, (channels, height, width) = next(iter(images.items()))
    training = trained.project.datasets.get("training")
    scale = 1.0 / 255.0 if training is None or training.image_normalization else 1.0
    report = os.path.join(os.path.dirname(training.csv), "report.json") if training else ""
    if not os.path.isfile(report):
        return ImageFormat(name, width, height, channels, "resize", scale)
    try:
        with open(report, encoding="utf-8") as f:
            settings = json.load(f)["settings"]
        made = (int(settings["channels"]), int(settings["height"]), int(settings["width"]))
        mode = settings["mode"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"cannot read the dataset settings in '{report}': {exc}.",
                        fix="restore the report.json `nncgraph dataset create` wrote, or delete it to simply "
                            "resize images to the network's input.") from None
    if made != (channels, height, width):
        raise UserError(f"the training dataset was made at {list(made)} (channels, height, width), but input "
                        f"'{name}' reads {[channels, height, width]}.", location=Location(report),
                        fix="evaluate the run the dataset was made for, or recreate the dataset at that size.")
    return ImageFormat(name, width, height, channels, mode, scale)


def _image_files(item: str) -> List[str]:
    from ..data.create import SOURCE_EXTENSIONS

    if os.path.isfile(item):
        return [item]    # named explicitly: any format Pillow reads
    if not os.path.isdir(item):
        raise UserError(f"input '{item}' does not exist.",
                        fix="give image files, folders of images, or a dataset CSV.")
    found = []
    for folder, dirs, files in os.walk(item):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))     # hidden: OS and editor litter
        found += [os.path.join(folder, f) for f in sorted(files)
                  if not f.startswith(".") and os.path.splitext(f)[1].lower() in SOURCE_EXTENSIONS]
    if not found:
        raise UserError(f"folder '{item}' holds no image file ({', '.join(SOURCE_EXTENSIONS)}).",
                        fix="give a folder with images, or the image files themselves.")
    return found


def _image_array(path: str, shown: str, fmt: ImageFormat, tmp: str) -> np.ndarray:
    """uint8 (C, H, W), converted by dataset create's own function: the same pixels it would store.

    That function writes the PNG a dataset keeps; reading it back from `tmp` is lossless."""
    from PIL import Image

    from ..data.create import _convert

    out = os.path.join(tmp, "image.png")
    why = _convert((path, out, fmt.width, fmt.height, fmt.channels, fmt.mode))
    if why is not None:
        raise UserError(f"cannot read image '{shown}': {why}.",
                        fix="give a valid image file (PNG, JPEG, BMP, GIF, TIFF, WebP).")
    with Image.open(out) as img:
        pixels = np.asarray(img)
    return pixels[None] if pixels.ndim == 2 else np.ascontiguousarray(pixels.transpose(2, 0, 1))


def _csv_inputs(trained: TrainedModel, path: str):
    """(how each row is shown, stored arrays, scales) of a dataset CSV, loaded as training loads one."""
    from ..data.csv_dataset import load_csv_dataset

    training = trained.project.datasets.get("training")
    data = load_csv_dataset(path, image_normalization=training.image_normalization if training else True)
    for name, shape in trained.input_shapes.items():
        if name not in data.variables:
            raise UserError(f"the network reads '{name}', but the CSV has the columns "
                            f"{', '.join(sorted(data.variables))}.", location=Location(path, 1),
                            fix=f"add a '{name}' column holding the inputs.")
        if tuple(data.variables[name].shape[1:]) != shape:
            raise UserError(f"the network reads '{name}' samples of shape {list(shape)}, but the CSV has "
                            f"{list(data.variables[name].shape[1:])}.", location=Location(path, 1),
                            fix="give samples of the size the network was trained on.")
    first = next(iter(trained.input_shapes))
    header, rows = read_csv_table(path)
    column = next((i for i, cell in enumerate(header) if cell.partition(":")[0].strip() == first), None)
    base = os.path.dirname(path)
    if column is None:      # a vector of numbers: name the row instead
        shown = [str(data.row_location(i)) for i in range(len(data))]
    else:
        shown = [_cell_path(base, row[column].strip()) for row in rows]
    names = list(trained.input_shapes)
    return shown, {k: data.variables[k] for k in names}, {k: data.scales[k] for k in names}


def _cell_path(base: str, text: str) -> str:
    try:
        float(text)
        return text          # a number, not a file
    except ValueError:
        return text if os.path.isabs(text) else os.path.join(base, text)


def _results(trained: TrainedModel, shown: List[str], arrays, scales, classifier, names) -> List[Dict]:
    results: List[Dict] = []
    for start, stop, values in trained.predict(arrays, scales, len(shown)):
        for i in range(stop - start):
            item: Dict = {"input": shown[start + i]}
            if not all(np.isfinite(v[i]).all() for v in values.values()):
                # a NaN compares false, so argsort would name some label as the prediction: there is none
                item.update({"label" if classifier is not None else "outputs": None, "non_finite": True})
            elif classifier is not None:
                probs = values[classifier.column][i]
                order = np.argsort(-probs, kind="stable")[:3]     # ties: the lower label, as argmax
                label = (lambda k: names[k]) if names else int
                item.update(label=label(int(order[0])), index=int(order[0]), probability=float(probs[order[0]]),
                            top=[[label(int(k)), float(probs[k])] for k in order])
            else:
                item["outputs"] = {column: v[i].reshape(-1).tolist() for column, v in values.items()}
            results.append(item)
    return results


def text_lines(results: List[Dict]) -> List[str]:
    """`input<TAB>label<TAB>probability`, or `input<TAB>values` for a network that does not classify."""
    lines = []
    for r in results:
        if r.get("non_finite"):
            lines.append(f"{r['input']}\tnon-finite output (NaN or inf): no prediction")
        elif "label" in r:
            lines.append(f"{r['input']}\t{r['label']}\t{r['probability']:.6f}")
        else:
            lines.append(r["input"] + "\t" + " ".join(f"{v:.6g}" for vs in r["outputs"].values() for v in vs))
    return lines


def json_text(results: List[Dict]) -> str:
    # one input per line: readable, and still one JSON document
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in results) + "\n]"
