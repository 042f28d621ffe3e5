"""nncgraph as a library: what the CLI does, as calls that return data (docs/python-api.md).

    p = nncgraph.load("project.yaml")         # a Project: the file parsed once, never changed in place
    p.check()                                 # every layer's shapes, parameters, multiply-adds
    run = p.train(epochs=3, out="runs/x")     # a Run: trained, evaluated, exported, reported
    run.metrics, run.evaluate(), run.infer(["a.png"])
    run = nncgraph.open_run("runs/x")         # a run folder written before

Every CLI subcommand that trains or reads a run is built on these calls (the other commands on
api_tools.py and the functions nncgraph/__init__.py exports); a user error is the same
UserError (one line: file:line, what, fix) the CLI prints. nnabla is imported only by the calls that
compute (train, evaluate, infer, report's export), so `load` and `check` stay light.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional

from .errors import Location, UserError
from .project.model import DatasetSpec, Project as ProjectSpec
from .train.run_folder import RunFolder

Log = Callable[[str], None]


def load(path: str, **overrides) -> "Project":
    """Parse the project file `path` (.yaml, or an NNC .sdcproj or nnabla .nntxt/.nnp imported in memory);
    keyword `overrides` as for Project.with_overrides."""
    from .interop.project_files import load_any_project

    project = Project(load_any_project(path))
    return project.with_overrides(**overrides) if overrides else project


def open_run(path: str) -> "Run":
    """A run folder `nncgraph run` (or Project.train) wrote."""
    return Run(RunFolder.open(path))


@dataclass(frozen=True)
class Project:
    """A loaded project. Overrides and training never change it: with_overrides returns a new one."""

    spec: ProjectSpec        # the typed project every stage reads (project/model.py)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def path(self) -> str:
        return self.spec.path

    def with_overrides(self, *, epochs: Optional[int] = None, batch_size: Optional[int] = None,
                       seed: Optional[int] = None, datasets: Optional[Dict[str, str]] = None,
                       backend: Optional[str] = None, device_id: Optional[int] = None,
                       precision: Optional[str] = None) -> "Project":
        """A new Project: `epochs` (training.max_epoch), `batch_size`, `seed`, `datasets` ({name: CSV path,
        relative to the working directory}), and the context's `backend`, `device_id`, `precision`."""
        spec = self.spec
        training = spec.training
        for name, value, fix in (("epochs", epochs, 10), ("batch_size", batch_size, 32)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise UserError(f"--{name.replace('_', '-')} must be 1 or more, got {value}.",
                                fix=f"e.g. --{name.replace('_', '-')} {fix}")
        training = replace(training, max_epoch=epochs if epochs is not None else training.max_epoch,
                           batch_size=batch_size or training.batch_size,
                           seed=training.seed if seed is None else seed)
        context = replace(spec.context, backend=backend or spec.context.backend,
                          device_id=spec.context.device_id if device_id is None else device_id,
                          precision=precision or spec.context.precision)
        sets = dict(spec.datasets)
        for name, csv in (datasets or {}).items():
            old = sets.get(name)
            sets[name] = DatasetSpec(name=name, csv=os.path.abspath(csv), csv_as_written=os.path.abspath(csv),
                                     shuffle=old.shuffle if old else name == "training",
                                     image_normalization=old.image_normalization if old else True,
                                     location=Location("--dataset"))
        return Project(replace(spec, training=training, context=context, datasets=sets))

    def check(self) -> Dict:
        """`nncgraph check --json` as data: {"networks": {name: {"variants": {variant: {"layers": [{name, type,
        inputs, output, params, macs}], "total_params", "total_macs"}}}}}."""
        from .graph.network_table import check_json, check_project     # the table `nncgraph check` prints

        return check_json(check_project(self.spec))

    def render(self) -> str:
        """The project with every default filled in (`nncgraph render`)."""
        from .graph.render import render_yaml

        return render_yaml(self.spec)

    def export(self, path: str, format: str = "nnp", batch_size: int = 1):
        """The project with its initial parameters as nnabla's .nnp / .nntxt or ONNX (`nncgraph export PROJECT`);
        returns what was written (path, networks, parameters)."""
        return _export(self.spec, path, format, None, batch_size)

    def train(self, out: Optional[str] = None, *, resume: bool = False, log: Log = print, finish: bool = True,
              **overrides) -> "Run":
        """Train into the run folder `out` (default runs/<name>/<timestamp>), as `nncgraph run` does; `resume`:
        continue `out` from its last resume point. `finish`: then evaluate on the validation dataset, write
        best/last.nnp and report.html. `log` gets each epoch's line; keyword `overrides` as with_overrides."""
        from .train.trainer import train_project

        project = self.with_overrides(**overrides) if overrides else self
        run = project._run_folder(out, resume)
        result = train_project(project.spec, run, resume=resume, log=log)
        trained = Run(run, project)
        if finish:
            if result.final.get("valid_error") is not None:
                trained.evaluate()      # the report's confusion matrix and misclassified examples
            trained.export_models()
            trained.report()
        return trained

    def cross_validate(self, k: int, out: Optional[str] = None, *, log: Log = print, **overrides) -> Dict:
        """K trainings on stratified folds of the training dataset (`nncgraph run --kfold K`): kfold.json's
        summary, plus "folder", the cross-validation folder."""
        from .train.cross_validation import run_kfold

        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise UserError(f"--kfold needs 2 or more folds, got {k}.", fix="e.g. --kfold 5")
        project = self.with_overrides(**overrides) if overrides else self
        run = project._run_folder(out, False)
        return dict(run_kfold(project.spec, run, k, log=log), folder=run.path)

    def _run_folder(self, out: Optional[str], resume: bool) -> RunFolder:
        """The folder to train into, refused early (before anything is written) when it cannot be."""
        from .engines.nnabla.context import make_context

        make_context(self.spec.context)    # a missing GPU extension fails before anything is written
        if resume:
            if not out:
                raise UserError("resuming needs the run folder to continue.", fix="give it: out=RUN_DIR.")
            from .train.resume_check import find_resume_point

            find_resume_point(out)      # early and read-only; train_project checks it all before writing
            return RunFolder(out)
        if out:
            from .train.run_claim import refuse_non_empty

            refuse_non_empty(os.path.abspath(out))     # early; the claim checks it again
            return RunFolder(out)
        return RunFolder.new("runs", self.name)


def _export(spec: ProjectSpec, path: str, fmt: str, checkpoint: Optional[str], batch_size: int):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"--batch-size must be 1 or more, got {batch_size}.", fix="e.g. --batch-size 1")
    base_dir = os.path.dirname(spec.path)       # relative parameter files (`w_file`) are the project's
    if fmt == "onnx":
        from .interop.onnx_export import export_onnx

        return export_onnx(spec, path, checkpoint, base_dir, batch_size)
    from .interop.nnp_export import export_project

    return export_project(spec, path, fmt, checkpoint, base_dir, batch_size)


@dataclass
class Run:
    """A run folder: its learning curve and summary, and its trained model to evaluate and infer with."""

    folder: RunFolder
    _project: Optional[Project] = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return self.folder.path

    @property
    def project(self) -> Project:
        """The project the run trained (its project.yaml, parsed once)."""
        if self._project is None:
            self._project = Project(self.folder.load_project())
        return self._project

    @property
    def metrics(self) -> List[Dict]:
        """metrics.csv: one dict per epoch (epoch, cost, train_error, valid_cost, valid_error, learning_rate,
        train_seconds, seconds); numbers, None where empty."""
        return self.folder.read_metrics()

    @property
    def result(self) -> Dict:
        """result.json: project, epochs, final (the last metrics row), best_epoch, best_valid_error, totals."""
        return self.folder.read_result()

    @property
    def valid_error(self) -> Optional[float]:
        """The last epoch's validation error (None without validation data)."""
        return (self.result.get("final") or {}).get("valid_error")

    def evaluate(self, dataset: Optional[str] = None, model: Optional[str] = None,
                 backend: Optional[str] = None, num_evaluations: Optional[int] = None) -> Dict:
        """`nncgraph evaluate`: the model (best, else last) on the validation CSV or `dataset`; writes
        evaluation/ and returns metrics.json's content (accuracy, confusion_matrix, per_class, ... or loss and
        mean_absolute_error for a regression). `num_evaluations`: forward passes per batch, averaged or the
        last kept as the project's `evaluation.repeat` says (default: its `evaluation.num_evaluations`)."""
        from .evaluate.evaluation import evaluate_run

        return evaluate_run(self.path, dataset, model, backend, project=self.project.spec,
                            num_evaluations=num_evaluations)

    def infer(self, inputs: List[str], model: Optional[str] = None, backend: Optional[str] = None,
              num_evaluations: Optional[int] = None) -> List[Dict]:
        """`nncgraph infer`: one dict per image or CSV row (input, label, index, probability, top; or outputs
        for a network that does not classify; non_finite when the output is NaN or inf). `num_evaluations`:
        as for evaluate."""
        from .evaluate.inference import infer_inputs

        if isinstance(inputs, str):
            inputs = [inputs]
        return infer_inputs(self.path, list(inputs), model, backend, project=self.project.spec,
                            num_evaluations=num_evaluations)

    def report(self) -> str:
        """Write report.html; returns its path."""
        from .report import write_report

        return write_report(self.path, self.project.spec)

    def export(self, path: str, format: str = "nnp", model: Optional[str] = None, batch_size: int = 1):
        """The trained model (best, else last) as nnabla's .nnp / .nntxt or ONNX (`nncgraph export RUN_DIR`)."""
        checkpoint = self.folder.find_checkpoint(model)
        return _export(self.project.spec, path, format, checkpoint, batch_size)

    def export_models(self) -> List[str]:
        """Write best.nnp / last.nnp for nnabla's own tools; returns their paths."""
        from .interop.run_models import export_run_models

        return export_run_models(self.path, self.project.spec)
