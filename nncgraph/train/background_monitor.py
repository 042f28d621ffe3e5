"""Validate beside training, on the second core.

nnabla's CPU kernels use one core and release the GIL, so the validation of
epoch e can run on a worker thread while epoch e+1 trains. Each monitored
network is compiled on a private copy of the parameters (copied at the end of
each epoch), so the weights it measures are exactly epoch e's, however far
training has moved on.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Dict, Optional, Tuple

from ..engines.parameter_file import Parameters
from .evaluation import evaluate

Job = Tuple[str, str]       # (network, which dataset: "training" or "validation")


class BackgroundMonitor:
    def __init__(self, executors: Dict[str, object], live: Callable[[], Parameters], batch_size: int):
        """`executors`: each monitored network's validation variant, compiled private; `live`: the
        parameters training updates, which each submit copies."""
        self.executors, self.live = executors, live
        self.batch_size = batch_size
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nncgraph-monitor")
        self.pending: Optional[Future] = None

    def snapshot(self) -> Parameters:
        """The parameters the last submit measured (best.h5 is saved from these)."""
        out: Dict = {}
        fixed = set()
        for executor in self.executors.values():
            values = executor.parameters()
            out.update(values)
            fixed |= values.fixed
        return Parameters(out, fixed)

    def submit(self, jobs: Dict[Job, dict]) -> None:
        """Snapshot the live parameters, then evaluate each (network, dataset) in the background."""
        assert self.pending is None, "collect() the previous evaluation first"
        live = self.live()      # copies: training may change them from now on
        for executor in self.executors.values():
            names = executor.graph.parameters
            executor.set_parameters({k: v for k, v in live.items() if k in names})
        self.pending = self.pool.submit(self._evaluate, jobs)

    def _evaluate(self, jobs):
        return {job: evaluate(self.executors[job[0]], arrays, self.batch_size) for job, arrays in jobs.items()}

    def collect(self) -> Dict[Job, tuple]:
        """{(network, dataset): (cost, error)} of the last submit (waits if still running)."""
        future, self.pending = self.pending, None
        return future.result() if future else {}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
