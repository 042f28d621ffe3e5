"""Match a dataset CSV to what a network reads, before any training starts.

Every Input layer's `dataset` (a generator Input reads none) and every loss's
`target` must be a column of the CSV with the right sample shape, and class labels must lie in range; a
mismatch is reported with the CSV row (or the project line) and the fix.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from ..data.csv_dataset import CsvDataset, load_csv_dataset, to_float32
from ..errors import Location, UserError, file_state, shown
from ..graph.shape_pass import InferredGraph
from ..layers.io import is_generated
from ..project.model import Project


@dataclass(frozen=True, eq=False)
class BoundData(Mapping[str, np.ndarray]):
    """The dataset variables a network reads: a read-only mapping of name -> stored array.

    Stored arrays may be uint8 memory maps of the dataset cache; `batch(name,
    index)` gives the float32 values to feed (stored * scales[name]).
    """

    arrays: Dict[str, np.ndarray]
    scales: Dict[str, float]
    rows: Optional[int] = None      # the CSV's sample count (a network may read none of its columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)

    @property
    def n_samples(self) -> int:
        return self.rows if self.rows is not None else len(next(iter(self.arrays.values())))

    def batch(self, name: str, index) -> np.ndarray:
        return to_float32(self.arrays[name][index], self.scales[name])


def bind_dataset(project: Project, name: str, inferred: Union[InferredGraph, Sequence[InferredGraph]],
                 location: Optional[Location] = None) -> BoundData:
    """The variables that `inferred` (one network, or several fed from this dataset) reads; `location`:
    where the project names the dataset (default: its `datasets:`)."""
    graphs = [inferred] if isinstance(inferred, InferredGraph) else list(inferred)
    spec = project.datasets.get(name)
    if spec is None:
        raise UserError(f"the project has no `{name}` dataset.",
                        location=location or project.locations.get("datasets"),
                        fix=f"add `datasets: {{{name}: {{csv: path/to/{name}.csv}}}}`"
                            + (f", or name one of {', '.join(project.datasets)}." if project.datasets else "."))
    if not os.path.isfile(spec.csv):
        raise UserError(f"dataset '{name}': CSV file '{spec.csv}' {file_state(spec.csv)}.", location=spec.location,
                        fix=f"correct the path (relative to the project file), give one with `--dataset {name}=CSV`, "
                            "or create the data first, e.g. `nncgraph dataset mnist-sample -o data/mnist`.")
    data = load_csv_dataset(spec.csv, image_normalization=spec.image_normalization)
    arrays: Dict[str, np.ndarray] = {}
    wanted: Dict[str, tuple] = {}
    for graph in graphs:       # a generator Input reads no column
        reads = [(info.node.props["dataset"], info.out_shape, info.node, "dataset") for info in graph.ordered()
                 if info.node.layer.role == "input" and not is_generated(info.node)]
        reads += [(target, shape, info.node, "target") for target, (shape, info) in graph.target_shapes().items()]
        for variable, shape, node, key in reads:
            first = wanted.setdefault(variable, (shape, node, key))
            if tuple(first[0]) != tuple(shape):     # one array per variable feeds every network
                raise node.error(UserError(
                    f"reads dataset variable '{variable}' at shape {list(shape)}, but layer '{first[1].name}' of "
                    f"another network reads it at {list(first[0])}; both are fed from dataset '{name}'.",
                    fix="give the two layers the same shape, or read different columns."))
    for variable, (shape, node, key) in wanted.items():
        where = dict(location=node.location, layer=node.name, layer_type=node.type)
        if variable not in data.variables:
            raise UserError(f"reads dataset variable '{variable}', but {spec.csv} has the columns "
                            f"{shown(', '.join(sorted(data.variables)), quote=False)}.", **where,
                            fix=f"set `{key}:` to one of those columns, or add a '{variable}' column to the CSV.")
        values = data.variables[variable]
        if tuple(values.shape[1:]) != tuple(shape):
            raise UserError(f"expects '{variable}' samples of shape {list(shape)}, but {spec.csv} has "
                            f"{list(values.shape[1:])}.", **where,
                            fix="make the layer's shape match the data (e.g. Input `size:`), or recreate the "
                                "dataset at that size.")
        arrays[variable] = values
    bound = BoundData(arrays, {v: data.scales[v] for v in arrays}, len(data))
    for graph in graphs:
        _check_labels(graph, data, bound)
    return bound


_LABEL_BLOCK = 1 << 22      # values checked at a time: label columns may be whole images (masks)


def _check_labels(inferred: InferredGraph, data: CsvDataset, bound: BoundData) -> None:
    for info in inferred.ordered():
        layer = info.node.layer
        if layer.role not in ("loss", "metric"):
            continue
        classes = layer.n_classes(info.in_shapes[0], info.node.props)
        if classes is None or "target" not in info.node.props:      # no labels, or a layer's output as the target
            continue
        target = info.node.props["target"]
        per_row = max(1, int(np.prod(bound[target].shape[1:])))
        step = max(1, _LABEL_BLOCK // per_row)
        first, count, top = None, 0, -np.inf
        for start in range(0, len(data), step):
            labels = bound.batch(target, slice(start, start + step)).reshape(-1, per_row)
            wrong = (labels < 0) | (labels >= classes) | (labels != np.rint(labels))
            bad = np.flatnonzero(wrong.any(axis=1))
            top = max(top, float(labels.max()))
            if bad.size and first is None:
                first = (start + int(bad[0]), labels[bad[0]][wrong[bad[0]]][0])
            count += bad.size
        if first is not None:
            row, value = first
            where = f"layer '{info.node.name}' ({info.node.type})"
            if 0 <= value < classes:      # in range, so it is a fraction: a class label is a whole number
                raise UserError(f"label {value:g} is not an integer; {where} reads class numbers 0..{classes - 1}; "
                                f"{count} row(s) are affected.", location=data.row_location(row),
                                fix="write each label as a whole class number (0, 1, 2, ...).")
            raise UserError(
                f"label {value:g} is out of range for {where}, which has "
                f"{classes} classes (labels 0..{classes - 1}); {count} row(s) are affected.",
                location=data.row_location(row),
                fix=f"correct the label, or give the layer before '{info.node.name}' {int(top) + 1} "
                    "outputs (e.g. Affine out_shape).")
