"""Match a dataset CSV to what a network reads, before any training starts.

Every Input layer's `dataset` and every loss's `target` must be a column of
the CSV with the right sample shape, and class labels must lie in range; a
mismatch is reported with the CSV row (or the project line) and the fix.
"""
from __future__ import annotations

import os
from typing import Dict

import numpy as np

from ..data.csv_dataset import load_csv_dataset
from ..errors import UserError
from ..graph.shape_pass import InferredGraph
from ..project.model import Project


def bind_dataset(project: Project, name: str, inferred: InferredGraph) -> Dict[str, np.ndarray]:
    spec = project.datasets.get(name)
    if spec is None:
        raise UserError(f"the project has no `{name}` dataset.", location=project.locations.get("datasets"),
                        fix=f"add `datasets: {{{name}: {{csv: path/to/{name}.csv}}}}`.")
    if not os.path.isfile(spec.csv):
        raise UserError(f"dataset '{name}': CSV file '{spec.csv}' does not exist.", location=spec.location,
                        fix="correct the path (relative to the project file), or create the data first, e.g. "
                            "`nncgraph dataset mnist-sample -o data/mnist`.")
    data = load_csv_dataset(spec.csv, image_normalization=spec.image_normalization)
    arrays: Dict[str, np.ndarray] = {}
    wanted = {}
    for info in inferred.ordered():
        if info.node.layer.role == "input":
            wanted.setdefault(info.node.props["dataset"], (info.out_shape, info.node, "dataset"))
    for target, (shape, info) in inferred.target_shapes().items():
        wanted.setdefault(target, (shape, info.node, "target"))
    for variable, (shape, node, key) in wanted.items():
        where = dict(location=node.location, layer=node.name, layer_type=node.type)
        if variable not in data.variables:
            raise UserError(f"reads dataset variable '{variable}', but {spec.csv} has the columns "
                            f"{', '.join(sorted(data.variables))}.", **where,
                            fix=f"set `{key}:` to one of those columns, or add a '{variable}' column to the CSV.")
        values = data.variables[variable]
        if tuple(values.shape[1:]) != tuple(shape):
            raise UserError(f"expects '{variable}' samples of shape {list(shape)}, but {spec.csv} has "
                            f"{list(values.shape[1:])}.", **where,
                            fix="make the layer's shape match the data (e.g. Input `size:`), or recreate the "
                                "dataset at that size.")
        arrays[variable] = values
    _check_labels(inferred, data, arrays)
    return arrays


def _check_labels(inferred: InferredGraph, data, arrays) -> None:
    for info in inferred.ordered():
        layer = info.node.layer
        if layer.role not in ("loss", "metric"):
            continue
        classes = layer.n_classes(info.in_shapes[0], info.node.props)
        if classes is None:
            continue
        labels = arrays[info.node.props["target"]].reshape(len(data), -1)
        bad = np.flatnonzero(((labels < 0) | (labels >= classes) | (labels != np.rint(labels))).any(axis=1))
        if bad.size:
            row = int(bad[0])
            value = labels[row][(labels[row] < 0) | (labels[row] >= classes) | (labels[row] != np.rint(labels[row]))][0]
            raise UserError(
                f"label {value:g} is out of range for layer '{info.node.name}' ({info.node.type}), which has "
                f"{classes} classes (labels 0..{classes - 1}); {bad.size} row(s) are affected.",
                location=data.row_location(row),
                fix=f"correct the label, or give the layer before '{info.node.name}' {int(labels.max()) + 1} "
                    "outputs (e.g. Affine out_shape).")
