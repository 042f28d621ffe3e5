"""The training loop: build each variant once on an engine, feed arrays, step, monitor.

Validation of epoch e runs on a second thread (see background_monitor) while
epoch e+1 trains, so its row of metrics.csv is completed one epoch later.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..data.csv_dataset import to_float32
from ..engines import make_engine
from ..engines.generated import TRAINING
from ..errors import UserError
from ..finite_checks import NonFiniteError, column_sums, diverged, first_non_finite, is_finite_number, kind_of
from ..graph.variants import variant_graphs
from ..project.model import Project
from ..graph.render import render_yaml
from .background_monitor import BackgroundMonitor
from .data_binding import BoundData, bind_dataset
from .learning_curve import plot_learning_curve
from .optimizer import base_learning_rate
from .init_from import init_from_values
from .resume import ResumeTimer, load_resume_point, save_resume_point
from .resume_check import check_resume_point, describe_run
from .run_claim import claim_run_folder
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


def train_project(project: Project, run: RunFolder, *, log=print, resume: bool = False) -> TrainResult:
    """Train into `run`; with `resume`, continue from the run's last resume point."""
    spec = project.training
    inferred = variant_graphs(project, spec.network, ("training", "validation"))
    if not any(i.node.layer.role == "loss" for i in inferred["training"].ordered()):
        raise UserError(f"network '{spec.network}' has no loss layer, so there is nothing to train.",
                        location=project.network_locations[spec.network],
                        fix="end the network with a loss such as {type: SoftmaxCrossEntropy, target: y}.")
    engine = make_engine(project.context, seed=spec.seed)
    engine.check_supported(inferred["validation"].graph)     # a layer the backend cannot run, before the data
    train_data = bind_dataset(project, "training", inferred["validation"])
    valid_data = bind_dataset(project, "validation", inferred["validation"]) if "validation" in project.datasets \
        else None
    base_dir = os.path.dirname(project.path)
    network = engine.compile(inferred["training"], spec.batch_size, base_dir)
    # validation beside training, on a copy of the weights of its own
    monitor = BackgroundMonitor(engine.compile(inferred["validation"], spec.batch_size, base_dir, private=True),
                                network, spec.batch_size)
    optimizers = [engine.optimizer(network, spec.optimizer)]
    described = describe_run(project, network.parameters(), {"training": train_data, **(
        {"validation": valid_data} if valid_data else {})}, inferred["training"])
    if spec.resume_every <= 0:
        raise UserError(f"training.resume_every must be more than 0 minutes, got {spec.resume_every:g}.",
                        location=project.locations.get("training"), fix="e.g. resume_every: 10")
    if resume:      # everything checkable is checked before the claim, the first write
        check_resume_point(run, project, described, sum(o.n_states for o in optimizers))
    elif project.init_from is not None:     # a bad source is refused before the folder is written
        network.set_parameters(init_from_values(project.init_from, network.parameters(), log))
    claim = claim_run_folder(run, resume=resume)
    loop = _EpochLoop(project, optimizers[0], train_data)
    rows: List[Dict] = []
    best = {"error": None, "epoch": None}
    waiting: Optional[Dict] = None        # the row whose validation runs in the background
    start_all = time.perf_counter()

    def finish(row: Dict) -> None:
        for name, (cost, error) in monitor.collect().items():
            if name == "validation":
                row["valid_cost"], row["valid_error"] = cost, error
            else:
                row["train_error"] = error
        if is_finite_number(row.get("valid_error")) and spec.save_best and (
                best["error"] is None or row["valid_error"] < best["error"]):
            best.update(error=row["valid_error"], epoch=row["epoch"])
            run.save_checkpoint("best", monitor.snapshot())    # the weights that were validated
        row["seconds"] = round(time.perf_counter() - row.pop("_started"), 3)
        rows.append(row)
        run.write_metrics(rows)
        log(_epoch_line(row, spec.max_epoch))

    timer = ResumeTimer(spec.resume_every)

    def save_in_epoch(epoch: int, iteration: int, totals) -> None:
        nonlocal waiting
        if not timer.due():
            return
        if waiting is not None:     # its snapshot weights would not survive a resume from here
            finish(waiting)
            waiting = None
        save_resume_point(run, network.parameters(), optimizers, loop.epoch_start_state, rows, None, best, described,
                          {"epoch": epoch, "iteration": iteration, "totals": totals.tolist()})
        timer.reset()

    first_epoch, partial = 1, None
    try:
        if resume:
            state = load_resume_point(run, engine, optimizers, loop.rng)
            rows.extend(state["rows"])
            best.update(state["best"])
            first_epoch, partial = state["epoch"] + 1, state.get("in_epoch")
            if state.get("pending") is not None:
                waiting = dict(state["pending"], _started=time.perf_counter())
                jobs = _monitor_jobs(spec, train_data, valid_data, state["epoch"])
                if jobs:
                    monitor.submit(jobs)        # the interrupted epoch's validation, on the restored weights
            where = f"at iteration {partial['iteration']} of epoch {first_epoch}" if partial else \
                f"after epoch {state['epoch']}"
            log(f"resuming {where} of {spec.max_epoch}")
        # the run folder's copy must load from there: its dataset paths are absolute
        run.write_project(render_yaml(project, absolute_paths=True))
        for epoch in range(first_epoch, spec.max_epoch + 1):
            try:
                row = loop.run(epoch, partial if epoch == first_epoch else None,
                               lambda iteration, totals, epoch=epoch: save_in_epoch(epoch, iteration, totals))
            except NonFiniteError:
                if waiting is not None:
                    finish(waiting)     # the last good epoch's validation still belongs in metrics.csv
                raise
            if waiting is not None:
                finish(waiting)
            live = network.parameters()
            run.save_checkpoint("last", live)
            save_resume_point(run, live, optimizers, loop.rng.get_state(), rows, row, best, described)
            timer.reset()
            jobs = _monitor_jobs(spec, train_data, valid_data, epoch)
            if jobs:
                monitor.submit(jobs)
            waiting = row
        if waiting is not None:
            finish(waiting)
        plot_learning_curve(rows, run.learning_curve_file, project.name)
        n = len(next(iter(train_data.values())))
        run.write_result({
            "project": project.name, "epochs": spec.max_epoch, "final": rows[-1],
            "best_epoch": best["epoch"], "best_valid_error": best["error"],
            "total_params": inferred["training"].total_params, "total_macs": inferred["training"].total_macs,
            "seconds": round(time.perf_counter() - start_all, 3),
            "train_samples": n, "valid_samples": len(next(iter(valid_data.values()))) if valid_data else 0,
        })
    finally:
        monitor.close()
        claim.release()
    return TrainResult(run.path, rows, best["epoch"], best["error"])


class _EpochLoop:
    """One pass over the training set: no per-batch work beyond feeding arrays."""

    def __init__(self, project: Project, optimizer, data: BoundData):
        self.spec = project.training
        self.location = project.locations.get("training")
        self.shuffle = project.datasets["training"].shuffle
        self.optimizer = optimizer
        self.feeds = [(name, data[name], data.scales[name]) for name in optimizer.executor.inputs]
        self.draws = optimizer.executor.draws
        self.n = len(self.feeds[0][1])
        self.iterations = -(-self.n // self.spec.batch_size)
        self.rng = np.random.RandomState(self.spec.seed)
        self.base_lr = base_learning_rate(self.spec.optimizer)

    def run(self, epoch: int, partial: Optional[Dict] = None, on_iteration=None) -> Dict:
        """`partial`: an in-epoch resume point's {"iteration", "totals"} to continue from (the generator
        already restored to the epoch's start); `on_iteration(iterations done, totals)` after each
        iteration but the last."""
        from tqdm import tqdm

        spec, batch, n = self.spec, self.spec.batch_size, self.n
        started = time.perf_counter()
        self.epoch_start_state = self.rng.get_state()
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        # wrap around so every iteration is a full batch, cyclically (a batch may exceed the
        # dataset, as in nnabla's CLI); each sample is counted once
        order = np.resize(order, self.iterations * batch)
        # summed cost and error of this epoch's samples
        totals = np.array(partial["totals"], np.float64) if partial else np.zeros(2, np.float64)
        first = partial["iteration"] if partial else 0
        step = self.optimizer.step
        bar = tqdm(range(first, self.iterations), initial=first, total=self.iterations,
                   desc=f"epoch {epoch}/{spec.max_epoch}", leave=False,
                   disable=not sys.stderr.isatty(), file=sys.stderr)
        for it in bar:
            idx = order[it * batch:(it + 1) * batch]
            # reads only these rows of a memory-mapped cache
            feed = {name: to_float32(array[idx], scale) for name, array, scale in self.feeds}
            feed.update(self.draws.at((TRAINING, epoch, it)))
            lr = learning_rate(spec.lr_scheduler, self.base_lr, epoch - 1 + it / self.iterations, spec.max_epoch)
            per_sample = step(feed, lr)
            totals += column_sums(per_sample[:min(batch, n - it * batch)])   # wrapped samples not counted
            if not np.isfinite(totals[0]):      # one scalar: the cost stays non-finite once it is
                raise self._diverged(f"cost became {kind_of(totals[0])}", epoch, it, lr, idx)
            if on_iteration is not None and it + 1 < self.iterations:
                on_iteration(it + 1, totals)
        self._check_weights(epoch, lr, order[-batch:])
        cost, error = totals / n
        return {"epoch": epoch, "cost": cost, "learning_rate": lr,
                "train_error": error if spec.train_error == "pass" else None,
                "train_seconds": round(time.perf_counter() - started, 3), "_started": started}

    def _diverged(self, subject: str, epoch: int, it: int, lr: float, idx) -> NonFiniteError:
        """The error for iteration `it` (0-based) on the rows `idx`; only built once training has failed."""
        bad = [name for name, array, scale in self.feeds if not np.isfinite(to_float32(array[idx], scale)).all()]
        return diverged(subject, epoch, it + 1, lr, self.spec.optimizer, bad_inputs=bad,
                        updates_done=(epoch - 1) * self.iterations + it, location=self.location)

    def _check_weights(self, epoch: int, lr: float, idx) -> None:
        """The epoch's last update can make the weights non-finite with a finite cost: they would be saved."""
        bad = first_non_finite(self.optimizer.trained_parameters())
        if bad is not None:
            raise self._diverged(f"parameter '{bad[0]}' became {bad[1]} in the last update", epoch,
                                 self.iterations - 1, lr, idx)


def _monitor_jobs(spec, train_data, valid_data, epoch: int) -> Dict:
    jobs = {}
    if spec.train_error == "exact":
        jobs["training"] = train_data
    if valid_data is not None and (epoch % spec.monitor_interval == 0 or epoch == spec.max_epoch):
        jobs["validation"] = valid_data
    return jobs


def _epoch_line(row: Dict, max_epoch: int) -> str:
    text = f"epoch {row['epoch']}/{max_epoch}  cost {row['cost']:.4f}  train_error {row['train_error']:.4f}"
    if row.get("valid_error") is not None:
        text += f"  valid_cost {row['valid_cost']:.4f}  valid_error {row['valid_error']:.4f}"
    return text + f"  ({row['seconds']:.1f}s)"
