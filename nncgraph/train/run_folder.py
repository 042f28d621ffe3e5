"""The run folder a user keeps: the one place that knows its layout, for writing and for reading.

    project.yaml            the project as trained (absolute paths, every default filled in)
    metrics.csv             one row per epoch (METRIC_COLUMNS, then a run's per-optimizer and per-network
                            columns such as cost.Discriminator); result.json: the run's summary
    learning_curve.png, report.html, best.nnp / last.nnp
    checkpoints/best.h5, checkpoints/last.h5, checkpoints/resume/ (train/resume.py)
    evaluation/ (or evaluation-<csv stem>/ for another dataset): `nncgraph evaluate`'s files

Writes are atomic, so a killed run corrupts nothing. A run writes only after claiming its folder
(run_claim.py); until then nothing here creates a file or folder, so a refused run leaves no trace.
Reads go through run_files, so a damaged file is one line naming it.
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .. import run_files
from ..atomic_files import atomic_write
from ..errors import Location, UserError, shown
from ..finite_checks import check_saved_parameters

MODELS = ("best", "last")     # the checkpoints a run saves, in the order `--model` defaults to them
RESULT_FIELDS = {"project": run_files.TEXT, "epochs": run_files.COUNT, "best_epoch": run_files.COUNT,
                 "best_valid_error": run_files.NUMBER, "seconds": run_files.NUMBER, "total_params": run_files.COUNT,
                 "total_macs": run_files.NUMBER, "train_samples": run_files.COUNT, "valid_samples": run_files.COUNT,
                 "final": run_files.OBJECT}
FINAL_FIELDS = {"epoch": run_files.COUNT, "valid_error": run_files.NUMBER, "train_error": run_files.NUMBER}
EVALUATION_FIELDS = {"samples": run_files.COUNT, "correct": run_files.COUNT, "dataset": run_files.TEXT,
                     "output": run_files.TEXT}


# the files of evaluation/ (evaluate/evaluation.py writes them)
OUTPUT_RESULT, EVALUATION_METRICS, PER_CLASS = "output_result.csv", "metrics.json", "per_class.csv"
CONFUSION_MATRIX, CONFUSION_PLOT, LIKELIHOOD_PLOT = "confusion_matrix.csv", "confusion_matrix.png", "likelihood.png"


@dataclass
class Evaluation:
    """evaluation/ as `nncgraph evaluate` writes it; missing files stay empty."""

    folder: str
    present: bool
    metrics: Dict = field(default_factory=dict)
    confusion: List[List[str]] = field(default_factory=list)     # header row, then one row per true class
    per_class: List[Dict[str, str]] = field(default_factory=list)
    results: List[List[str]] = field(default_factory=list)       # output_result.csv with header
    plots: Dict[str, bytes] = field(default_factory=dict)        # PNG name -> its bytes


class RunFolder:
    METRIC_COLUMNS = ("epoch", "cost", "train_error", "valid_cost", "valid_error", "learning_rate",
                      "train_seconds", "seconds")
    PROJECT, METRICS, RESULT, REPORT = "project.yaml", "metrics.csv", "result.json", "report.html"
    LEARNING_CURVE = "learning_curve.png"
    CHECKPOINTS, EVALUATION = "checkpoints", "evaluation"

    def __init__(self, path: str, unique: bool = False):
        # Created when claimed, so a run refused for bad input leaves nothing behind.
        self.path = os.path.abspath(path)
        # `unique`: a name of our choosing; if another run takes it first, the claim picks the next one
        self.unique = unique

    @classmethod
    def new(cls, root: str, name: str) -> "RunFolder":
        return cls(os.path.join(root, name, time.strftime("%Y%m%d-%H%M%S")), unique=True)

    @classmethod
    def open(cls, path: str) -> "RunFolder":
        """An existing run folder, for reading: a folder holding project.yaml, else a UserError saying which."""
        run = cls(path)
        if not os.path.isdir(run.path):
            state = "is a file, not a folder" if os.path.exists(run.path) else "does not exist"
            raise UserError(f"run folder '{path}' {state}.", location=Location(run.path),
                            fix="give the folder `nncgraph run` printed as 'run folder: ...'.")
        if os.path.lexists(run.project_file):
            run_files.check_file(run.project_file)        # a folder in its place says so
        if not os.path.isfile(run.project_file):
            raise UserError(f"'{path}' has no project.yaml, so it is not a run folder.", location=Location(run.path),
                            fix="give the folder `nncgraph run` wrote (it holds project.yaml and checkpoints/).")
        return run

    # -- where things are --------------------------------------------------------------------
    def existing(self, *parts: str) -> str:
        """A path inside the folder, for reading: creates nothing."""
        return os.path.join(self.path, *parts)

    @property
    def project_file(self) -> str:
        return self.existing(self.PROJECT)

    @property
    def report_file(self) -> str:
        return self.existing(self.REPORT)

    # the resume point, checkpoints/resume/ (train/resume.py writes it, train/resume_check.py vets it): the
    # parameters, one file per solver state, and the state of the loop; `.old` beside it during a save
    RESUME, RESUME_PARAMETERS, RESUME_STATE = "resume", "parameters.h5", "state.json"

    @property
    def resume_folder(self) -> str:
        return self.existing(self.CHECKPOINTS, self.RESUME)

    @staticmethod
    def resume_solver_name(i: int) -> str:
        return f"solver_{i}.h5"

    @staticmethod
    def resume_gradients_name(k: int) -> str:
        """Optimizer k's gradients, summed so far inside an update interval."""
        return f"gradients_{k}.h5"

    def checkpoint_file(self, model: str) -> str:
        return self.existing(self.CHECKPOINTS, f"{model}.h5")

    def model_file(self, model: str) -> str:
        """The model as nnabla's .nnp (interop/run_models.py writes it)."""
        return self.existing(f"{model}.nnp")

    def evaluation_folder(self, dataset_stem: Optional[str] = None) -> str:
        return self.existing(self.EVALUATION if dataset_stem is None else f"{self.EVALUATION}-{dataset_stem}")

    def saved_checkpoints(self) -> List[Tuple[str, str]]:
        """(model, .h5 path) of each checkpoint the run saved."""
        return [(m, self.checkpoint_file(m)) for m in MODELS if os.path.isfile(self.checkpoint_file(m))]

    def find_checkpoint(self, model: Optional[str] = None) -> str:
        """checkpoints/<model>.h5 (default: best if saved, else last), or <model>.h5 beside the project.yaml of a
        model folder (a Pareto candidate, a copied model)."""
        for name in [model] if model else list(MODELS):
            for path in (self.checkpoint_file(name), self.existing(f"{name}.h5")):
                if os.path.lexists(path) and run_files.check_file(path):     # a folder in its place says so
                    return path
        if model:
            other = [m for m in MODELS if m != model][0]
            raise UserError(f"'{self.path}' has no {model} model (checkpoints/{model}.h5).",
                            fix=f"use --model {other}; best.h5 is only saved when the project has validation data "
                                "and training.save_best is true.")
        raise UserError(f"'{self.path}' has no trained parameters (checkpoints/best.h5 or last.h5).",
                        fix="train it first: `nncgraph run PROJECT -o RUN_DIR`.")

    # -- reading -----------------------------------------------------------------------------
    def load_project(self):
        """The project the run trained, parsed from its own project.yaml."""
        from ..project.load import parse_document

        doc = self.read_project_copy()
        # nncgraph writes the copy whole, `training:` and `context:` last: a copy cut short can still be
        # YAML (a network that stops at a layer), so their absence is what shows the cut
        missing = [key for key in ("training", "context") if key not in doc]
        if missing:
            raise run_files.damaged(self.project_file, f"it ends without the `{missing[0]}` section every run's "
                                                       "copy has")
        return parse_document(doc, self.project_file)

    def read_project_copy(self) -> Dict:
        """project.yaml as a plain mapping: what the report shows when the project no longer loads."""
        return run_files.read_project_copy(self.project_file)

    def read_metrics(self) -> List[Dict]:
        """metrics.csv's rows, numbers as numbers ([] without the file); a damaged file is a UserError naming it."""
        path = self.existing(self.METRICS)
        rows = run_files.read_csv(path, optional=True)
        if rows and "epoch" not in rows[0]:
            raise run_files.damaged(path, "its header has no `epoch` column", 1)
        out = []
        for number, row in enumerate(rows[1:], start=2):
            values = dict(zip(rows[0], row))
            if not values["epoch"].strip().isdigit():
                raise run_files.damaged(path, f"epoch {shown(values['epoch'])} is not a whole number", number)
            bad = next((k for k, v in values.items() if v.strip() and number_or_none(v) is None), None)
            if bad is not None:
                raise run_files.damaged(path, f"{bad} {shown(values[bad])} is not a number", number)
            out.append({k: (int(v) if k == "epoch" else number_or_none(v)) for k, v in values.items()})
        return out

    def has_metrics(self) -> bool:
        return os.path.exists(self.existing(self.METRICS))

    def read_result(self) -> Dict:
        """result.json, its fields of the kinds the report and `compare` use; {} without the file."""
        path = self.existing(self.RESULT)
        result = run_files.check_fields(path, run_files.read_json(path, optional=True), RESULT_FIELDS)
        run_files.check_fields(path, result.get("final") or {}, FINAL_FIELDS)
        return result

    def read_evaluation(self, dataset_stem: Optional[str] = None) -> Evaluation:
        folder = self.evaluation_folder(dataset_stem)
        ev = Evaluation(folder, os.path.isdir(folder))
        if not ev.present:
            return ev
        path = os.path.join(folder, EVALUATION_METRICS)
        ev.metrics = run_files.check_fields(path, run_files.read_json(path, optional=True), EVALUATION_FIELDS)
        ev.confusion = run_files.read_csv(os.path.join(folder, CONFUSION_MATRIX), optional=True)
        ev.per_class = run_files.read_table(os.path.join(folder, PER_CLASS), optional=True)
        ev.results = run_files.read_csv(os.path.join(folder, OUTPUT_RESULT), optional=True)
        data = run_files.read_bytes(os.path.join(folder, LIKELIHOOD_PLOT), optional=True)
        if data is not None:
            ev.plots[LIKELIHOOD_PLOT] = data
        return ev

    # -- writing -----------------------------------------------------------------------------
    def _ensure(self) -> None:
        os.makedirs(os.path.join(self.path, self.CHECKPOINTS), exist_ok=True)

    def file(self, *parts: str) -> str:
        """A path inside the folder, for writing: the folder is made."""
        self._ensure()
        return os.path.join(self.path, *parts)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text)

    def write_json(self, name: str, data) -> None:
        atomic_write(self.file(name), json.dumps(data, indent=2, sort_keys=True) + "\n")

    def write_metrics(self, rows: List[Dict]) -> None:
        buf = io.StringIO()
        # several optimizers add theirs (`cost.<optimizer>`) and several networks theirs (`valid_error.<network>`)
        columns = list(self.METRIC_COLUMNS) + list(dict.fromkeys(k for row in rows for k in row if "." in k))
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in columns})
        atomic_write(self.file(self.METRICS), buf.getvalue())

    def write_project(self, text: str) -> None:
        self.write_text(self.PROJECT, text)

    def write_result(self, result: Dict) -> None:
        self.write_json(self.RESULT, result)

    @property
    def learning_curve_file(self) -> str:
        return self.file(self.LEARNING_CURVE)

    def save_checkpoint(self, model: str, params: Dict) -> str:
        """checkpoints/<model>.h5, the parameter file by NNC names, written atomically (built in memory:
        engines/parameter_file.py says why)."""
        from ..engines.parameter_file import parameters_h5

        self._ensure()
        path = self.checkpoint_file(model)
        check_saved_parameters(params, path)    # a non-finite best/last would pass for a trained model
        atomic_write(path, parameters_h5(params), "wb")
        return path


def number_or_none(text) -> Optional[float]:
    """A CSV cell as a number; None when empty or not one."""
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None
