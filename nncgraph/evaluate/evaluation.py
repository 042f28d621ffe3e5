"""`nncgraph evaluate`: run a trained network over a dataset and write NNC's evaluation files.

Written into RUN_DIR/evaluation/ (or evaluation-<csv stem>/ for another CSV):
    output_result.csv     the dataset's own columns as written, then y' (and top1..top3 for classification)
    metrics.json          loss, error, and for classification accuracy, per-class and macro scores, likelihood
    confusion_matrix.csv/.png, per_class.csv, likelihood.png   classification only

A sample whose output holds NaN or inf is a wrong answer in every figure (its
argmax would otherwise read as class 0): it predicts no class, the confusion
matrix gets a "non-finite" column for it, and the count is in the summary.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import replace
from typing import Callable, Dict, List, Optional

import numpy as np

from ..atomic_files import atomic_write
from ..errors import Location, UserError
from ..finite_checks import finite_rows, is_finite_number
from ..project.model import DatasetSpec, Project
from ..train.run_folder import (CONFUSION_MATRIX, CONFUSION_PLOT, EVALUATION_METRICS, LIKELIHOOD_PLOT,
                                 OUTPUT_RESULT, PER_CLASS, RunFolder)
from .model import TrainedModel, check_labels, load_model, read_csv_table, read_labels
from .plots import plot_confusion_matrix, plot_likelihood

LIKELIHOOD_BINS = 20
TOP_K = 3
NON_FINITE = "non-finite"       # the confusion matrix's column for samples whose output is NaN or inf


def evaluate_run(run_dir: str, dataset: Optional[str] = None, model: Optional[str] = None,
                 backend: Optional[str] = None, project=None, num_evaluations: Optional[int] = None) -> Dict:
    """Evaluate RUN_DIR's model on its validation CSV (or `dataset`); returns metrics.json's content.

    `project`: the run's project when the caller holds it (the one it trained), else its project.yaml's;
    `num_evaluations`: passes per batch instead of the project's evaluation.num_evaluations. The outputs
    (output_result.csv, accuracy, confusion matrix, ...) are the passes' mean or last; `loss` and `error`
    are the validation network's, one pass, as NNC's monitor measures them."""
    from ..train.data_binding import bind_dataset
    from ..train.evaluation import evaluate

    trained = load_model(run_dir, model, backend=backend, project=project, num_evaluations=num_evaluations)
    project, name, folder = _choose_dataset(trained.project, dataset, RunFolder(trained.run_dir))
    spec = project.datasets[name]
    data = bind_dataset(project, name, trained.validation)
    n = data.n_samples
    predicted: Dict[str, np.ndarray] = {o.column: np.empty((n, *o.shape), np.float32) for o in trained.outputs}
    for start, stop, values in trained.predict(data.arrays, data.scales, n):
        for column, value in values.items():
            predicted[column][start:stop] = value
    if not trained.validation.has_loss:
        raise UserError(f"the run's network '{trained.validation.graph.name}' has no loss layer, so there is no "
                        "cost or error to measure.", location=Location(RunFolder(trained.run_dir).project_file),
                        fix="evaluate a run of a network that ends in a loss; `nncgraph infer` predicts without one.")
    cost, error = evaluate(trained.compile_validation(), data, trained.batch_size)

    finite = np.ones(n, bool)
    for values in predicted.values():
        finite &= finite_rows(values)
    # a NaN loss or an infinite (regression) error is no number JSON can hold: null, with the count beside it
    metrics: Dict = {"dataset": spec.csv, "model": trained.checkpoint, "samples": n,
                     "loss": cost if is_finite_number(cost) else None,
                     "error": error if is_finite_number(error) else None,
                     "non_finite_outputs": int(n - finite.sum()),
                     "num_evaluations": trained.evaluation.num_evaluations, "repeat": trained.evaluation.repeat,
                     "outputs": [c for o in trained.outputs for c in o.columns()]}
    header, rows = read_csv_table(spec.csv)
    if len(rows) != n:      # the loader and the csv module disagree on the rows: never misalign them
        raise RuntimeError(f"{spec.csv}: {len(rows)} rows read, {n} samples loaded")
    extra_header: List[str] = []
    extra: List[List[str]] = [[] for _ in range(n)]
    for out in trained.outputs:
        extra_header += out.columns()
        for row, values in zip(extra, predicted[out.column].reshape(n, -1)):
            row.extend(map(str, values))    # float32's shortest text that reads back the same value
    os.makedirs(folder, exist_ok=True)
    files = [OUTPUT_RESULT, EVALUATION_METRICS]
    title = f"{project.name}: {os.path.basename(spec.csv)} ({os.path.basename(trained.checkpoint)})"
    classifier = next((o for o in trained.outputs if o.classification), None)
    if classifier is not None:
        labels = check_labels(read_labels(os.path.dirname(spec.csv)), classifier.shape[0],
                              os.path.dirname(spec.csv))
        truth = np.rint(data.batch(classifier.target, slice(None)).reshape(n)).astype(np.int64)
        top_header, top_cells = _top_columns(predicted[classifier.column], labels)
        extra_header += top_header
        for row, cells in zip(extra, top_cells):
            row.extend(cells)
        metrics.update(_classification(trained, classifier, predicted[classifier.column], truth, labels,
                                       folder, title))
        files += [CONFUSION_MATRIX, CONFUSION_PLOT, PER_CLASS, LIKELIHOOD_PLOT]
    else:
        metrics["mean_absolute_error"] = _mean_absolute_errors(trained, predicted, data)
    _write_csv(os.path.join(folder, OUTPUT_RESULT), [header + extra_header] +
               [cells + more for cells, more in zip(rows, extra)])
    atomic_write(os.path.join(folder, EVALUATION_METRICS), json.dumps(metrics, indent=2) + "\n")
    metrics["folder"], metrics["files"] = folder, files
    return metrics


def _choose_dataset(project: Project, dataset: Optional[str], run: RunFolder):
    """(the project, with `dataset` added when given; its name there; the output folder)."""
    if dataset is None:
        if "validation" not in project.datasets:
            raise UserError("the run has no validation dataset to evaluate on.",
                            location=Location(run.project_file),
                            fix="give one: `nncgraph evaluate RUN_DIR --dataset path/to/data.csv`.")
        return project, "validation", run.evaluation_folder()
    stem = os.path.splitext(os.path.basename(dataset))[0]
    like = project.datasets.get("validation") or project.datasets.get("training")
    # the project's own normalization: the network was trained on those values
    spec = DatasetSpec(name=stem, csv=os.path.abspath(dataset), csv_as_written=dataset, shuffle=False,
                       image_normalization=like.image_normalization if like else True, location=Location("--dataset"))
    return replace(project, datasets={**project.datasets, stem: spec}), stem, run.evaluation_folder(stem)


def _top_columns(probs: np.ndarray, labels: Optional[List[str]]):
    k = min(TOP_K, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]     # ties: the lower label first, as argmax
    header = [h for i in range(1, k + 1) for h in (f"top{i}", f"top{i}_prob")]
    name = (lambda i: labels[i]) if labels else str
    # a non-finite output names no class: NaN sorts last, so its "top" labels would be made up
    cells = [[c for j in idx for c in (name(int(j)), str(p[j]))] if ok else [""] * (2 * k)
             for idx, p, ok in zip(order, probs, finite_rows(probs))]
    return header, cells


def _classification(trained: TrainedModel, out, probs: np.ndarray, truth: np.ndarray,
                    labels: Optional[List[str]], folder: str, title: str) -> Dict:
    classes = out.shape[0]
    names = labels or [str(i) for i in range(classes)]
    finite = finite_rows(probs)
    predicted = np.where(finite, np.argmax(probs, axis=1), classes)     # column `classes`: non-finite
    matrix = np.zeros((classes, classes + 1), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    if finite.all():
        matrix = matrix[:, :classes]
    hits = np.diag(matrix).astype(np.float64)
    # support counts the non-finite samples (they lower recall); no class was chosen for them
    support, chosen = matrix.sum(axis=1), matrix[:, :classes].sum(axis=0)
    # an undefined score (no sample of the class, or never predicted) counts as 0, as scikit-learn's
    precision = np.divide(hits, chosen, out=np.zeros(classes), where=chosen > 0)
    recall = np.divide(hits, support, out=np.zeros(classes), where=support > 0)
    both = precision + recall
    f_measure = np.divide(2 * precision * recall, both, out=np.zeros(classes), where=both > 0)
    per_class = [{"index": i, "label": names[i], "precision": float(precision[i]), "recall": float(recall[i]),
                  "f_measure": float(f_measure[i]), "support": int(support[i])} for i in range(classes)]

    top1 = probs[finite, predicted[finite]]       # a non-finite output has no likelihood to plot
    right = predicted[finite] == truth[finite]
    edges = np.linspace(0.0, 1.0, LIKELIHOOD_BINS + 1)
    likelihood = {"bins": edges.tolist(),
                  "correct": np.histogram(top1[right], bins=edges)[0].tolist(),
                  "incorrect": np.histogram(top1[~right], bins=edges)[0].tolist(),
                  "non_finite": int((~finite).sum())}

    columns = names + ([NON_FINITE] if matrix.shape[1] > classes else [])
    _write_csv(os.path.join(folder, CONFUSION_MATRIX),
               [["true \\ predicted"] + columns] + [[names[i]] + [str(c) for c in matrix[i]]
                                                     for i in range(classes)])
    _write_csv(os.path.join(folder, PER_CLASS),
               [["index", "label", "precision", "recall", "f_measure", "support"]] +
               [[str(r["index"]), r["label"], repr(r["precision"]), repr(r["recall"]), repr(r["f_measure"]),
                 str(r["support"])] for r in per_class])
    plot_confusion_matrix(matrix, names, os.path.join(folder, CONFUSION_PLOT), title, columns)
    plot_likelihood(edges, likelihood["correct"], likelihood["incorrect"],
                    os.path.join(folder, LIKELIHOOD_PLOT), title)
    return {"output": out.column, "accuracy": float(hits.sum() / max(1, len(truth))), "correct": int(hits.sum()),
            "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()),
                      "f_measure": float(f_measure.mean())},
            "per_class": per_class, "labels": names, "confusion_matrix": matrix.tolist(), "likelihood": likelihood}


def _mean_absolute_errors(trained: TrainedModel, predicted: Dict[str, np.ndarray], data) -> Dict[str, float]:
    """Per output column, where the output and its target have the same shape (regression)."""
    errors: Dict[str, float] = {}
    for out in trained.outputs:
        if out.target is None or tuple(data[out.target].shape[1:]) != out.shape:
            continue
        n = data.n_samples
        total = np.zeros(int(np.prod(out.shape)), np.float64)
        for start in range(0, n, 4096):     # targets may be a memory-mapped cache larger than RAM
            stop = min(start + 4096, n)
            target = data.batch(out.target, slice(start, stop)).reshape(stop - start, -1)
            gap = np.abs(predicted[out.column][start:stop].reshape(stop - start, -1) - target)
            total += np.where(np.isnan(gap), np.inf, gap).sum(axis=0)    # a NaN output is infinitely wrong
        errors.update((c, v if np.isfinite(v) else None) for c, v in zip(out.columns(), (total / n).tolist()))
    return errors


def _figure(value, spec: str = ".6g") -> str:
    return "non-finite" if value is None else format(value, spec)


def _write_csv(path: str, rows: List[List[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    atomic_write(path, buf.getvalue())


def summary_lines(metrics: Dict, display: Callable[[str], str] = str) -> List[str]:
    lines = []
    if "accuracy" in metrics:
        lines.append(f"accuracy {metrics['accuracy']:.4f} ({metrics['correct']}/{metrics['samples']}), "
                     f"macro F-measure {metrics['macro']['f_measure']:.4f}, loss {_figure(metrics['loss'], '.4f')}")
    else:
        mae = list((metrics.get("mean_absolute_error") or {}).values())
        text = f", mean absolute error {_figure(None if None in mae else np.mean(mae))}" if mae else ""
        lines.append(f"loss {_figure(metrics['loss'])}, error {_figure(metrics['error'])} over "
                     f"{metrics['samples']} samples{text}")
    if metrics.get("non_finite_outputs"):
        lines.append(f"{metrics['non_finite_outputs']} of {metrics['samples']} samples had non-finite outputs "
                     "(NaN or inf); each counts as an error")
    passes = metrics.get("num_evaluations", 1)
    if passes > 1:
        kept = "the mean of" if metrics.get("repeat") == "mean" else "the last of"
        lines.append(f"outputs: {kept} {passes} passes per sample")
    lines.append(f"model {display(metrics['model'])} on {display(metrics['dataset'])}")
    lines.append(f"wrote {display(metrics['folder'])}: {', '.join(metrics['files'])}")
    return lines
