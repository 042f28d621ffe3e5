"""`nncgraph run PROJECT --kfold K`: K trainings on stratified folds, one summary.

The folds come from the project's training dataset (fold i validates on the
i-th part); each fold is an ordinary run folder under the cross-validation
folder, next to kfold.json and kfold.csv with the per-fold and mean +- std
validation accuracy.
"""
from __future__ import annotations

import csv
import io
import os
import statistics
from dataclasses import replace
from typing import Dict, List

from ..data.kfold import write_kfold
from ..errors import UserError
from ..finite_checks import NonFiniteError
from ..project.model import DatasetSpec, Project
from .run_claim import claim_run_folder
from .evaluation import error_is_the_loss
from .run_folder import RunFolder
from .trainer import train_project


def run_kfold(project: Project, run: RunFolder, k: int, *, log=print) -> Dict:
    source = project.datasets.get("training")
    if source is None:
        raise UserError("--kfold splits the `training` dataset, and the project has none.",
                        location=project.locations.get("datasets"), fix="add datasets: {training: {csv: ...}}")
    claim = claim_run_folder(run, resume=False)     # before the folds are written into it
    try:
        return _run_folds(project, run, source, k, log)
    finally:
        claim.release()


def _run_folds(project: Project, run: RunFolder, source: DatasetSpec, k: int, log) -> Dict:
    target = _target_variable(project)
    folds = write_kfold(source.csv, k, run.file("folds"), seed=project.training.seed, label=target)
    results: List[Dict] = []
    loss_is_error = error_is_the_loss(project)
    for fold in folds:
        log(f"fold {fold['fold']}/{k}: {fold['n_train']} training, {fold['n_valid']} validation samples")
        fold_project = replace(project, datasets={**project.datasets, "training": DatasetSpec(
            "training", fold["train_csv"], os.path.relpath(fold["train_csv"], run.path), source.shuffle,
            source.image_normalization, source.location), "validation": DatasetSpec(
            "validation", fold["valid_csv"], os.path.relpath(fold["valid_csv"], run.path), False,
            source.image_normalization, source.location)})
        try:
            result = train_project(fold_project, RunFolder(run.file(f"fold_{fold['fold']}")), log=log)
        except NonFiniteError as exc:     # no summary: a mean over the folds that did not diverge would lie
            raise NonFiniteError(f"fold {fold['fold']} of {k}: {exc.message}", location=exc.location,
                                 fix=exc.fix) from None
        final = result.final
        results.append({"fold": fold["fold"], "n_train": fold["n_train"], "n_valid": fold["n_valid"],
                        "valid_error": final["valid_error"],
                        "valid_accuracy": None if loss_is_error else 1 - final["valid_error"],
                        "best_valid_error": result.best_valid_error, "run_dir": f"fold_{fold['fold']}"})
    errors = [r["valid_error"] for r in results]
    summary = {"k": k, "folds": results, "mean_valid_error": statistics.mean(errors),
               "std_valid_error": statistics.stdev(errors) if k > 1 else 0.0,
               "seed": project.training.seed, "source_csv": source.csv}
    if not loss_is_error:     # a regression's error is its loss: 1 - loss is no accuracy
        summary.update(mean_valid_accuracy=1 - summary["mean_valid_error"],
                       std_valid_accuracy=summary["std_valid_error"])
    run.write_json("kfold.json", summary)
    run.write_text("kfold.csv", _summary_csv(results))
    return summary


def summary_lines(summary: Dict) -> List[str]:
    if "mean_valid_accuracy" not in summary:
        lines = [f"fold {r['fold']}: validation error (the loss) {r['valid_error']:.6g}" for r in summary["folds"]]
        lines.append(f"{summary['k']}-fold cross-validation: validation error (the loss) "
                     f"{summary['mean_valid_error']:.6g} ± {summary['std_valid_error']:.6g} (mean ± std)")
        return lines
    lines = [f"fold {r['fold']}: validation accuracy {r['valid_accuracy']:.4f}" for r in summary["folds"]]
    lines.append(f"{summary['k']}-fold cross-validation: validation accuracy "
                 f"{summary['mean_valid_accuracy']:.4f} ± {summary['std_valid_accuracy']:.4f} (mean ± std)")
    return lines


def _target_variable(project: Project):
    """The class column to stratify by: the first loss layer's target."""
    for layer in project.networks[project.training.network]:
        if "target" in layer.props:
            return layer.props["target"]
    return None


def _summary_csv(results: List[Dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["fold", "n_train", "n_valid", "valid_accuracy", "valid_error",
                                             "best_valid_error", "run_dir"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(results)
    return buf.getvalue()
