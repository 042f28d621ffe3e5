"""The training loop: build each variant once on an engine, feed arrays, step, monitor.

A project's optimizers (`training.optimizers`) each train their network; the
networks share parameters by name (nnabla's parameter scopes), and epoch_loop
steps the optimizers in their order in every iteration. The first optimizer's
network is the run's main one: its validation error is `valid_error` (and
picks best.h5); every other network's validation is `valid_error.<network>`.

Validation of epoch e runs on a second thread (see background_monitor) while
epoch e+1 trains, so its row of metrics.csv is completed one epoch later.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..engines import make_engine
from ..engines.parameter_file import Parameters
from ..errors import UserError
from ..finite_checks import NonFiniteError, is_finite_number
from ..graph.render import render_yaml
from ..graph.variants import variant_graphs
from ..project.model import Project
from .background_monitor import BackgroundMonitor
from .data_binding import BoundData, bind_dataset
from .epoch_loop import EpochLoop, Stepped, metric_name
from .init_from import init_from_values
from .learning_curve import plot_learning_curve
from .resume import ResumeTimer, load_resume_point, save_resume_point
from .resume_check import check_resume_point, describe_run
from .run_claim import claim_run_folder
from .run_folder import RunFolder


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
    main = spec.network
    inferred = {net: variant_graphs(project, net, ("training", "validation")) for net in spec.networks}
    for entry in spec.optimizers:
        if not inferred[entry.network]["training"].has_loss:
            by = f" (optimizer '{entry.name}')" if len(spec.optimizers) > 1 else ""
            raise UserError(f"network '{entry.network}'{by} has no loss layer, so there is nothing to train.",
                            location=project.network_locations[entry.network],
                            fix="end the network with a loss such as {type: SoftmaxCrossEntropy, target: y}.")
    engine = make_engine(project.context, seed=spec.seed)
    for net in spec.networks:       # a layer the backend cannot run, before the data
        engine.check_supported(inferred[net]["validation"].graph)
    bound = _bind_datasets(project, inferred)
    valid_data = bind_dataset(project, "validation", [v["validation"] for v in inferred.values()]) \
        if "validation" in project.datasets else None
    base_dir = os.path.dirname(project.path)
    # every training network before the private copies: a parameter's initial value must not depend on them
    executors = {net: engine.compile(inferred[net]["training"], spec.batch_size, base_dir) for net in spec.networks}

    def live() -> Parameters:
        """The parameters training updates (every network's), by name."""
        values, fixed = {}, set()
        for executor in executors.values():
            own = executor.parameters()
            values.update(own)
            fixed |= own.fixed
        return Parameters(values, fixed)

    # validation beside training, each network on a copy of the weights of its own
    monitor = BackgroundMonitor({net: engine.compile(inferred[net]["validation"], spec.batch_size, base_dir,
                                                     private=True) for net in spec.networks},
                                live, spec.batch_size)
    stepped = [Stepped(entry, engine.optimizer(executors[entry.network], entry.optimizer), bound[entry.dataset])
               for entry in spec.optimizers]
    optimizers = [s.optimizer for s in stepped]
    described = describe_run(project, live(), {**bound, **({"validation": valid_data} if valid_data else {})},
                             {net: inferred[net]["training"] for net in spec.networks})
    if spec.resume_every <= 0:
        raise UserError(f"training.resume_every must be more than 0 minutes, got {spec.resume_every:g}.",
                        location=project.locations.get("training"), fix="e.g. resume_every: 10")
    if resume:      # everything checkable is checked before the claim, the first write
        check_resume_point(run, project, described, sum(o.n_states for o in optimizers))
    elif project.init_from is not None:     # a bad source is refused before the folder is written
        values = init_from_values(project.init_from, live(), log)
        for executor in executors.values():
            executor.set_parameters({k: v for k, v in values.items() if k in executor.graph.parameters})
    claim = claim_run_folder(run, resume=resume)
    loop = EpochLoop(project, stepped)
    rows: List[Dict] = []
    best = {"error": None, "epoch": None}
    waiting: Optional[Dict] = None        # the row whose validation runs in the background
    start_all = time.perf_counter()

    def finish(row: Dict) -> None:
        for (net, dataset), (cost, error) in monitor.collect().items():
            column = (lambda name: name) if net == main else (lambda name: metric_name(name, net))
            if dataset == "validation":
                row[column("valid_cost")], row[column("valid_error")] = cost, error
            else:
                row[column("train_error")] = error
        if is_finite_number(row.get("valid_error")) and spec.save_best and (
                best["error"] is None or row["valid_error"] < best["error"]):
            best.update(error=row["valid_error"], epoch=row["epoch"])
            run.save_checkpoint("best", monitor.snapshot())    # the weights that were validated
        row["seconds"] = round(time.perf_counter() - row.pop("_started"), 3)
        rows.append(row)
        run.write_metrics(rows)
        log(_epoch_line(row, spec.max_epoch))

    timer = ResumeTimer(spec.resume_every)

    def accumulating(iterations_done: int) -> List[int]:
        """The optimizers inside an update interval after `iterations_done` iterations of the run."""
        return [k for k, entry in enumerate(spec.optimizers) if iterations_done % entry.update_interval]

    def save_in_epoch(epoch: int, iteration: int, totals) -> None:
        nonlocal waiting
        if not timer.due():
            return
        if waiting is not None:     # its snapshot weights would not survive a resume from here
            finish(waiting)
            waiting = None
        save_resume_point(run, live(), optimizers, loop.epoch_start_state, rows, None, best, described,
                          {"epoch": epoch, "iteration": iteration, "totals": totals.tolist()},
                          accumulating((epoch - 1) * loop.iterations + iteration))
        timer.reset()

    first_epoch, partial = 1, None
    main_data = bound[spec.optimizers[0].dataset]
    try:
        if resume:
            state = load_resume_point(run, engine, optimizers, loop.rng)
            rows.extend(state["rows"])
            best.update(state["best"])
            first_epoch, partial = state["epoch"] + 1, state.get("in_epoch")
            if state.get("pending") is not None:
                waiting = dict(state["pending"], _started=time.perf_counter())
                jobs = _monitor_jobs(spec, main_data, valid_data, state["epoch"])
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
            values = live()
            run.save_checkpoint("last", values)
            save_resume_point(run, values, optimizers, loop.rng.get_state(), rows, row, best, described,
                              accumulating=accumulating(epoch * loop.iterations))
            timer.reset()
            jobs = _monitor_jobs(spec, main_data, valid_data, epoch)
            if jobs:
                monitor.submit(jobs)
            waiting = row
        if waiting is not None:
            finish(waiting)
        plot_learning_curve(rows, run.learning_curve_file, project.name)
        run.write_result({
            "project": project.name, "epochs": spec.max_epoch, "final": rows[-1],
            "best_epoch": best["epoch"], "best_valid_error": best["error"],
            "total_params": inferred[main]["training"].total_params,
            "total_macs": inferred[main]["training"].total_macs,
            "seconds": round(time.perf_counter() - start_all, 3),
            "train_samples": loop.n, "valid_samples": valid_data.n_samples if valid_data else 0,
        })
    finally:
        monitor.close()
        claim.release()
    return TrainResult(run.path, rows, best["epoch"], best["error"])


def _bind_datasets(project: Project, inferred: Dict) -> Dict[str, BoundData]:
    """Each dataset an optimizer reads, bound once for every network that reads it."""
    readers: Dict[str, list] = {}
    where = {}
    for entry in project.training.optimizers:
        graphs = readers.setdefault(entry.dataset, [])
        where.setdefault(entry.dataset, entry.location)
        if inferred[entry.network]["validation"] not in graphs:
            graphs.append(inferred[entry.network]["validation"])
    return {name: bind_dataset(project, name, graphs, location=where[name]) for name, graphs in readers.items()}


def _monitor_jobs(spec, train_data, valid_data, epoch: int) -> Dict:
    """{(network, dataset): data}: `exact` measures the main network on its dataset; the validation dataset
    measures every network an optimizer trains."""
    jobs = {}
    if spec.train_error == "exact":
        jobs[(spec.network, "training")] = train_data
    if valid_data is not None and (epoch % spec.monitor_interval == 0 or epoch == spec.max_epoch):
        jobs.update({(net, "validation"): valid_data for net in spec.networks})
    return jobs


def _epoch_line(row: Dict, max_epoch: int) -> str:
    text = f"epoch {row['epoch']}/{max_epoch}  cost {row['cost']:.4f}  train_error {row['train_error']:.4f}"
    if row.get("valid_error") is not None:
        text += f"  valid_cost {row['valid_cost']:.4f}  valid_error {row['valid_error']:.4f}"
    return text + f"  ({row['seconds']:.1f}s)"
