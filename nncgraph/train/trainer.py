"""The training loop: build each variant once, feed arrays, update, monitor."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..compile.context import make_context, quiet_nnabla_logging
from ..compile.nnabla_graph import compile_graph
from ..errors import UserError
from ..graph.ir import build_graph
from ..graph.shape_pass import infer
from ..graph.variants import derive
from ..project.model import Project
from ..project.render import render_yaml
from .data_binding import bind_dataset
from .evaluation import evaluate, keep_monitored_outputs, sample_costs, sample_errors
from .learning_curve import plot_learning_curve
from .optimizer import applies_weight_decay, base_learning_rate, make_solver
from .run_folder import RunFolder
from .schedule import learning_rate


@dataclass
class TrainResult:
    run_dir: str
    rows: List[Dict]
    best_epoch: Optional[int]
    best_valid_error: Optional[float]

    @property
    def final(self) -> Dict:
        return self.rows[-1]


def seed_everything(seed: int) -> None:
    import nnabla as nn

    np.random.seed(seed)          # nnabla's initializers draw from NumPy's global generator
    nn.random.seed(seed)          # nnabla's own generator (Dropout with seed -1)


def train_project(project: Project, run: RunFolder, *, log=print) -> TrainResult:
    quiet_nnabla_logging()
    import nnabla as nn
    from tqdm import tqdm

    spec = project.training
    graph = build_graph(spec.network, project.networks[spec.network])
    inferred = {v: infer(derive(graph, v), v) for v in ("training", "validation")}
    if not any(i.node.layer.role == "loss" for i in inferred["training"].ordered()):
        raise UserError(f"network '{spec.network}' has no loss layer, so there is nothing to train.",
                        location=project.network_locations[spec.network],
                        fix="end the network with a loss such as {type: SoftmaxCrossEntropy, target: y}.")
    _check_backend_support(graph, project.context.backend)
    train_data = bind_dataset(project, "training", inferred["validation"])
    valid_data = bind_dataset(project, "validation", inferred["validation"]) if "validation" in project.datasets \
        else None

    nn.set_default_context(make_context(project.context))
    nn.clear_parameters()
    seed_everything(spec.seed)
    batch = spec.batch_size
    trainer_graph = compile_graph(inferred["training"], batch)
    monitor_graph = compile_graph(inferred["validation"], batch)
    train_outputs = keep_monitored_outputs(trainer_graph)
    monitor_outputs = keep_monitored_outputs(monitor_graph)

    solver = make_solver(spec.optimizer)
    solver.set_parameters(nn.get_parameters())
    base_lr = base_learning_rate(spec.optimizer)
    decay = spec.optimizer.weight_decay if applies_weight_decay(spec.optimizer) else 0.0

    run.write_text("project.yaml", render_yaml(project))
    feeds = [(name, var, train_data[name]) for name, var in trainer_graph.inputs.items()]
    n = len(feeds[0][2])
    iterations = -(-n // batch)
    rng = np.random.RandomState(spec.seed)
    shuffle = project.datasets["training"].shuffle
    rows: List[Dict] = []
    best_error, best_epoch = None, None
    interactive = sys.stderr.isatty()
    start_all = time.perf_counter()
    for epoch in range(1, spec.max_epoch + 1):
        t0 = time.perf_counter()
        order = rng.permutation(n) if shuffle else np.arange(n)
        # wrap around so every iteration is a full batch; count each sample once
        order = np.concatenate([order, order[:iterations * batch - n]])
        cost_sum = err_sum = 0.0
        bar = tqdm(range(iterations), desc=f"epoch {epoch}/{spec.max_epoch}", leave=False,
                   disable=not interactive, file=sys.stderr)
        for it in bar:
            idx = order[it * batch:(it + 1) * batch]
            batch_data = {}
            for name, var, array in feeds:
                batch_data[name] = var.d = array[idx]   # keep the slice: reading var.d back costs more
            lr = learning_rate(spec.lr_scheduler, base_lr, epoch - 1 + it / iterations, spec.max_epoch)
            solver.set_learning_rate(lr)
            solver.zero_grad()
            trainer_graph.loss.forward(clear_no_need_grad=True)
            trainer_graph.loss.backward(clear_buffer=True)
            if decay:
                solver.weight_decay(decay)
            solver.update()
            fresh = min(batch, n - it * batch)
            cost_sum += float(sample_costs(trainer_graph)[:fresh].sum())
            if spec.train_error == "pass":
                err_sum += float(sample_errors(trainer_graph, batch_data)[:fresh].sum())
        train_seconds = time.perf_counter() - t0
        row = {"epoch": epoch, "cost": cost_sum / n, "learning_rate": lr, "train_seconds": round(train_seconds, 3)}
        if spec.train_error == "exact":
            row["train_error"] = evaluate(monitor_graph, train_data, batch, monitor_outputs)[1]
        else:
            row["train_error"] = err_sum / n
        if valid_data is not None and (epoch % spec.monitor_interval == 0 or epoch == spec.max_epoch):
            row["valid_cost"], row["valid_error"] = evaluate(monitor_graph, valid_data, batch, monitor_outputs)
        row["seconds"] = round(time.perf_counter() - t0, 3)
        rows.append(row)
        params = nn.get_parameters(grad_only=False)
        run.save_parameters("last.h5", params)
        if row.get("valid_error") is not None and spec.save_best and (
                best_error is None or row["valid_error"] < best_error):
            best_error, best_epoch = row["valid_error"], epoch
            run.save_parameters("best.h5", params)
        run.write_metrics(rows)
        log(_epoch_line(row, spec.max_epoch))
    plot_learning_curve(rows, run.file("learning_curve.png"), project.name)
    result = TrainResult(run.path, rows, best_epoch, best_error)
    run.write_json("result.json", {
        "project": project.name, "epochs": spec.max_epoch, "final": rows[-1],
        "best_epoch": best_epoch, "best_valid_error": best_error,
        "total_params": inferred["training"].total_params, "total_macs": inferred["training"].total_macs,
        "seconds": round(time.perf_counter() - start_all, 3),
        "train_samples": n, "valid_samples": len(next(iter(valid_data.values()))) if valid_data else 0,
    })
    return result


def _check_backend_support(graph, backend: str) -> None:
    if backend != "cpu":
        return
    for node in graph.nodes:
        if node.props.get("channel_last"):
            raise node.error(UserError(
                "has channel_last: true, which nnabla's CPU kernels cannot run.",
                fix="use channel_last: false on the CPU, or run with --context cudnn on a GPU."))


def _epoch_line(row: Dict, max_epoch: int) -> str:
    text = f"epoch {row['epoch']}/{max_epoch}  cost {row['cost']:.4f}  train_error {row['train_error']:.4f}"
    if row.get("valid_error") is not None:
        text += f"  valid_cost {row['valid_cost']:.4f}  valid_error {row['valid_error']:.4f}"
    return text + f"  ({row['seconds']:.1f}s)"
