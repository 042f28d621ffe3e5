"""One epoch of training: every optimizer of the project in every iteration, in their order, as
nnabla_cli's `_update` runs them (utils/cli/train.py).

An optimizer reads a batch of its own dataset; optimizers that read the same dataset get the same
batch in an iteration (nnabla_cli reads each data iterator once per iteration). The epoch is one pass
over the first optimizer's dataset: ceil(samples / batch_size) iterations, the last batch wrapping
around; another dataset is drawn in an order of its own each epoch, cycling when it is smaller and cut
short when larger. Generator inputs are drawn for every optimizer's step (engines/generated.py), at
(TRAINING, epoch, iteration) for the first and (..., k) for the k-th after it, so two optimizers never
share draws, as nnabla_cli's draw each their own. Each optimizer steps as nnabla_cli's does, with `i` the iterations done before this
one in the whole run: forward; zero its parameters' gradients when i % update_interval == 0; backward,
adding to them; when i % update_interval == update_interval - 1, weight decay and the update at the
rate its schedule gives now. An optimizer updates only its own parameters (those of its network whose
learning-rate multiplier there is not 0), so the discriminator's update of a GAN leaves the generator
as it was, whatever the discriminator's backward pass computed for it.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..data.csv_dataset import to_float32
from ..engines.generated import TRAINING
from ..finite_checks import NonFiniteError, column_sums, diverged, first_non_finite, kind_of
from ..project.model import OptimizerEntry, Project
from .data_binding import BoundData
from .optimizer import base_learning_rate
from .schedule import learning_rate


@dataclass
class Stepped:
    """One optimizer of the run: its entry of `training.optimizers`, the engine's optimizer, its dataset."""

    entry: OptimizerEntry
    optimizer: object           # engines.base.Optimizer
    data: BoundData


def metric_name(column: str, name: str) -> str:
    """metrics.csv's column of one optimizer or network of several: `cost.Discriminator`."""
    return f"{column}.{name}"


class EpochLoop:
    """No per-batch work beyond feeding arrays."""

    def __init__(self, project: Project, stepped: List[Stepped]):
        self.spec = project.training
        self.location = project.locations.get("training")
        self.stepped = stepped
        # each dataset once, in the order the optimizers first read it: the order its permutation is drawn
        self.sizes = {s.entry.dataset: s.data.n_samples for s in stepped}
        self.shuffle = {name: project.datasets[name].shuffle for name in self.sizes}
        self.feeds = [[(name, s.data[name], s.data.scales[name]) for name in s.optimizer.executor.inputs]
                      for s in stepped]
        self.draws = [s.optimizer.executor.draws for s in stepped]
        self.n = self.sizes[stepped[0].entry.dataset]
        self.iterations = -(-self.n // self.spec.batch_size)
        self.rng = np.random.RandomState(self.spec.seed)
        self.base_lr = [base_learning_rate(s.entry.optimizer) for s in stepped]

    def run(self, epoch: int, partial: Optional[Dict] = None, on_iteration=None) -> Dict:
        """`partial`: an in-epoch resume point's {"iteration", "totals"} to continue from (the generator
        already restored to the epoch's start); `on_iteration(iterations done, totals)` after each
        iteration but the last."""
        from tqdm import tqdm

        spec, batch, n = self.spec, self.spec.batch_size, self.n
        started = time.perf_counter()
        self.epoch_start_state = self.rng.get_state()
        orders = {}
        for name, size in self.sizes.items():
            order = self.rng.permutation(size) if self.shuffle[name] else np.arange(size)
            # wrap around so every iteration is a full batch, cyclically (a batch may exceed the dataset, as in
            # nnabla's CLI); each sample slot of the epoch is counted once
            orders[name] = np.resize(order, self.iterations * batch)
        # per optimizer, the summed cost and error of this epoch's samples
        totals = np.zeros((len(self.stepped), 2), np.float64)
        if partial:
            totals[:] = np.array(partial["totals"], np.float64).reshape(totals.shape)   # a single one: [c, e]
        first = partial["iteration"] if partial else 0
        rates = [0.0] * len(self.stepped)
        bar = tqdm(range(first, self.iterations), initial=first, total=self.iterations,
                   desc=f"epoch {epoch}/{spec.max_epoch}", leave=False,
                   disable=not sys.stderr.isatty(), file=sys.stderr)
        for it in bar:
            done = (epoch - 1) * self.iterations + it       # nnabla_cli's `iter`
            progress = epoch - 1 + it / self.iterations
            counted = min(batch, n - it * batch)           # wrapped samples are not counted
            for k, (stepped, feeds) in enumerate(zip(self.stepped, self.feeds)):
                entry = stepped.entry
                idx = orders[entry.dataset][it * batch:(it + 1) * batch]
                # reads only these rows of a memory-mapped cache
                feed = {name: to_float32(array[idx], scale) for name, array, scale in feeds}
                # generator inputs drawn afresh for each optimizer, as nnabla_cli fills each one's before its
                # forward pass; the first optimizer's where a single one's are
                feed.update(self.draws[k].at((TRAINING, epoch, it) + ((k,) if k else ())))
                rates[k] = learning_rate(entry.lr_scheduler, self.base_lr[k], progress, spec.max_epoch)
                interval = entry.update_interval
                per_sample = stepped.optimizer.step(feed, rates[k], clear=done % interval == 0,
                                                    update=done % interval == interval - 1)
                totals[k] += column_sums(per_sample[:counted])
            if not np.isfinite(totals[:, 0].sum()):     # one scalar: the cost stays non-finite once it is
                k = int(np.flatnonzero(~np.isfinite(totals[:, 0]))[0])
                raise self._diverged(k, f"cost became {kind_of(totals[k, 0])}", epoch, it, rates[k], orders)
            if on_iteration is not None and it + 1 < self.iterations:
                on_iteration(it + 1, totals)
        self._check_weights(epoch, rates, orders)
        cost = totals[:, 0].sum() / n
        row = {"epoch": epoch, "cost": cost, "learning_rate": rates[0],
               "train_error": totals[0, 1] / n if spec.train_error == "pass" else None,
               "train_seconds": round(time.perf_counter() - started, 3), "_started": started}
        if len(self.stepped) > 1:
            for k, stepped in enumerate(self.stepped):
                row[metric_name("cost", stepped.entry.name)] = totals[k, 0] / n
                row[metric_name("learning_rate", stepped.entry.name)] = rates[k]
        return row

    def _diverged(self, k: int, subject: str, epoch: int, it: int, rate: float, orders) -> NonFiniteError:
        """The error for optimizer k at iteration `it` (0-based); only built once training has failed."""
        stepped, batch = self.stepped[k], self.spec.batch_size
        idx = orders[stepped.entry.dataset][it * batch:(it + 1) * batch]
        bad = [name for name, array, scale in self.feeds[k] if not np.isfinite(to_float32(array[idx], scale)).all()]
        if len(self.stepped) > 1:
            subject = f"optimizer '{stepped.entry.name}': {subject}"
        return diverged(subject, epoch, it + 1, rate, stepped.entry.optimizer, bad_inputs=bad,
                        updates_done=(epoch - 1) * self.iterations + it,
                        location=stepped.entry.location or self.location)

    def _check_weights(self, epoch: int, rates: List[float], orders) -> None:
        """The epoch's last update can make the weights non-finite with a finite cost: they would be saved."""
        for k, stepped in enumerate(self.stepped):
            bad = first_non_finite(stepped.optimizer.trained_parameters())
            if bad is not None:
                raise self._diverged(k, f"parameter '{bad[0]}' became {bad[1]} in the last update", epoch,
                                     self.iterations - 1, rates[k], orders)
