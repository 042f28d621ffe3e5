"""A trained run, ready to predict: its project, the runtime graph, the checkpoint.

Shared by `evaluate` and `infer`. The runtime variant is built once at a fixed
batch size; the last batch is padded with zeros and the padding's outputs are
dropped, so every sample is predicted exactly once.

Each batch goes through the runtime network `evaluation.num_evaluations` times
and the outputs are averaged (`repeat: mean`) or the last pass's kept (`last`),
as nnabla_cli forward's `_forward` does with NNC's executor. The engine is
seeded with the run's training seed, so the passes' randomness (MC dropout)
repeats from one evaluation to the next.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, replace
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from ..engines.batches import padded_batches
from ..errors import Location, UserError
from ..graph.shape_pass import InferredGraph, NodeInfo
from ..project.model import EvaluationSpec
from ..project.sections import EVALUATION_FIELDS, MAX_EVALUATIONS
from ..train.run_folder import RunFolder

BATCH_SIZE = 64


@dataclass(frozen=True)
class Output:
    """One network output as NNC's output_result.csv names it: the loss target plus a prime (y')."""

    column: str                      # "y'": the CSV column(s) y' or y'__0, y'__1, ...
    node: str                        # runtime node producing it
    shape: Tuple[int, ...]
    loss: Optional[NodeInfo]         # the validation-variant loss it feeds, if any

    @property
    def classification(self) -> bool:
        """One class label per sample, scored by a softmax over a vector of classes."""
        return (self.loss is not None and self.loss.node.layer.error_kind == "top1"
                and len(self.shape) == 1)

    @property
    def target(self) -> Optional[str]:
        return self.loss.node.props["target"] if self.loss is not None else None

    def columns(self) -> List[str]:
        size = int(np.prod(self.shape))
        return [self.column] if size == 1 else [f"{self.column}__{i}" for i in range(size)]


@dataclass
class TrainedModel:
    run_dir: str
    project: object
    checkpoint: str
    validation: InferredGraph
    runtime: InferredGraph
    engine: object                   # engines.base.Engine holding the checkpoint's parameters
    executor: object                 # the runtime variant on it
    outputs: List[Output]
    batch_size: int
    evaluation: EvaluationSpec = EvaluationSpec()

    @property
    def input_shapes(self) -> Dict[str, Tuple[int, ...]]:
        return dict(self.executor.inputs)

    def predict(self, arrays: Mapping[str, np.ndarray], scales: Mapping[str, float], n: int
                ) -> Iterator[Tuple[int, int, Dict[str, np.ndarray]]]:
        """(start, stop, {output column: values of samples start..stop}) per batch.

        `arrays` holds the stored samples of every input (uint8 images are turned
        into values with `scales`, as training did)."""
        nodes = [o.node for o in self.outputs]
        # generator inputs are drawn once per batch, for all its passes, as nnabla_cli forward does
        for start, stop, batch in padded_batches(arrays, self.batch_size, self.executor.inputs, scales, n,
                                                 self.executor.draws):
            values = self.forward(batch, nodes)
            yield start, stop, {o.column: values[o.node][:stop - start] for o in self.outputs}

    def forward(self, batch, nodes: List[str]) -> Dict[str, np.ndarray]:
        """The nodes' outputs for one batch as NNC's executor gives them: num_evaluations passes, each
        drawing new randomness, summed in the outputs' own dtype and divided (mean) or the last kept."""
        passes, repeat = self.evaluation.num_evaluations, self.evaluation.repeat
        total = self.executor.forward(batch, nodes)
        for _ in range(passes - 1):
            values = self.executor.forward(batch, nodes)
            for node in nodes:
                total[node] = values[node] if repeat == "last" else total[node] + values[node]
        if repeat == "mean" and passes > 1:
            total = {node: value / passes for node, value in total.items()}     # float32 / int: float32
        return total

    def compile_validation(self):
        """The validation variant on the same parameters, with its per-sample (cost, error) monitor."""
        return self.engine.compile(self.validation, self.batch_size, self.run_dir)


def load_model(folder: str, model: Optional[str] = None, batch_size: int = BATCH_SIZE,
               backend: Optional[str] = None, project=None, num_evaluations: Optional[int] = None) -> TrainedModel:
    """Load RUN_DIR's project.yaml and checkpoint, and build the runtime variant once.

    `backend` overrides the recorded context (a run trained on a GPU, evaluated on a CPU); `project`: the
    run's project when the caller holds it already (the one it trained), so project.yaml is not parsed again;
    `num_evaluations` overrides the project's evaluation.num_evaluations (`--num-evaluations`)."""
    from ..engines import make_engine
    from ..graph.variants import variant_graphs

    run = RunFolder.open(folder)
    checkpoint = os.path.abspath(run.find_checkpoint(model))   # metrics.json names it wherever it is read
    folder = run.path
    project = project or run.load_project()
    evaluation = evaluation_settings(project.evaluation, num_evaluations)
    validation, runtime = variant_graphs(project, project.training.network, ("validation", "runtime")).values()

    if backend:     # a new project: the caller's keeps its own context
        project = replace(project, context=replace(project.context, backend=backend))
    engine = make_engine(project.context, seed=project.training.seed)     # generator inputs draw from it too
    loaded = engine.load_parameters(checkpoint)
    _check_parameters(runtime, loaded, checkpoint)
    executor = engine.compile(runtime, batch_size, folder)
    missing = sorted(set(engine.parameters()) - set(loaded))
    if missing:
        # the layers created them afresh: predictions would come from random weights
        raise UserError(f"'{checkpoint}' lacks the parameter(s) {', '.join(missing[:5])} of network "
                        f"'{validation.graph.name}'.",
                        fix="use the project.yaml the checkpoint was trained with (the run folder's own).")
    return TrainedModel(folder, project, checkpoint, validation, runtime, engine, executor,
                        _outputs(validation, runtime), batch_size, evaluation)


def evaluation_settings(evaluation: EvaluationSpec, num_evaluations: Optional[int] = None) -> EvaluationSpec:
    """The project's evaluation settings, with `num_evaluations` (the CLI's or the API's) checked and in."""
    if num_evaluations is None:
        return evaluation
    try:
        passes = EVALUATION_FIELDS["num_evaluations"].coerce(num_evaluations)
    except ValueError as exc:
        raise UserError(f"--num-evaluations {exc}.",
                        fix=f"give the number of passes per batch, 1 to {MAX_EVALUATIONS:,}: e.g. "
                            "--num-evaluations 30") from None
    return replace(evaluation, num_evaluations=passes)


def _check_parameters(runtime: InferredGraph, loaded: Dict[str, tuple], checkpoint: str) -> None:
    for name, spec in runtime.parameters.items():
        have = loaded.get(name)
        if have is None:
            raise UserError(f"'{checkpoint}' has no parameter '{name}', which network '{runtime.graph.name}' "
                            "needs.",
                            fix="use the project.yaml the checkpoint was trained with (the run folder's own).")
        if have != tuple(spec.shape):
            raise UserError(f"parameter '{name}' in '{checkpoint}' has shape {list(have)}, but the network "
                            f"needs {list(spec.shape)}.",
                            fix="use the project.yaml the checkpoint was trained with (the run folder's own).")


def _outputs(validation: InferredGraph, runtime: InferredGraph) -> List[Output]:
    """Each loss's prediction in the runtime graph (after its runtime activation, e.g. Softmax)."""
    outputs: List[Output] = []
    taken = set()
    for info in validation.ordered():
        layer = info.node.layer
        if layer.role != "loss":
            continue
        source = info.node.inputs[0]
        activation = getattr(layer, "runtime_activation", None)
        node = source
        if activation:
            node = next(n.name for n in runtime.graph.nodes if n.inputs == (source,) and n.type == activation)
        if node in {o.node for o in outputs}:
            continue        # two losses on one prediction: one output
        column = f"{info.node.props['target']}'"
        if column in taken:
            column = f"{node}'"
        taken.add(column)
        outputs.append(Output(column, node, tuple(runtime.info[node].out_shape), info))
    if not outputs:     # no loss: every layer nothing reads is an output
        sinks = [n for n in runtime.graph.nodes if not runtime.graph.consumers(n.name)]
        outputs = [Output(f"{n.name}'", n.name, tuple(runtime.info[n.name].out_shape), None) for n in sinks]
    return outputs


def read_labels(folder: str) -> Optional[List[str]]:
    """labels.txt in `folder`: one class name per line, in label order; None when absent."""
    path = os.path.join(folder, "labels.txt")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8-sig") as f:
        names = f.read().splitlines()
    while names and not names[-1].strip():
        names.pop()
    return names


def check_labels(names: Optional[List[str]], n_classes: int, folder: str) -> Optional[List[str]]:
    if names is not None and len(names) != n_classes:
        raise UserError(f"labels.txt names {len(names)} classes, but the network has {n_classes}.",
                        location=Location(os.path.join(folder, "labels.txt")),
                        fix="write one class name per line, in label order, or remove labels.txt.")
    return names


def read_csv_table(path: str) -> Tuple[List[str], List[List[str]]]:
    """Header and data rows of a dataset CSV, cells as written; blank rows skipped as the loader does."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.reader(io.StringIO(f.read(), newline="")) if any(c.strip() for c in r)]
    return rows[0], rows[1:]
