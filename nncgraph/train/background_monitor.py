"""Validate beside training, on the second core.

nnabla's CPU kernels use one core and release the GIL, so the validation of
epoch e can run on a worker thread while epoch e+1 trains. The monitor's
network is compiled on a private copy of the parameters (copied at the end of
each epoch), so the weights it measures are exactly epoch e's, however far
training has moved on.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, Optional

from .evaluation import evaluate


class BackgroundMonitor:
    def __init__(self, executor, source, batch_size: int):
        """`executor`: the validation variant, compiled private; `source`: the executor it copies."""
        self.executor, self.source = executor, source
        self.batch_size = batch_size
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nncgraph-monitor")
        self.pending: Optional[Future] = None

    def snapshot(self):
        """The parameters the last submit measured (best.h5 is saved from these)."""
        return self.executor.parameters()

    def submit(self, datasets: Dict[str, dict]) -> None:
        """Snapshot the source's parameters, then evaluate each dataset in the background."""
        assert self.pending is None, "collect() the previous evaluation first"
        names = self.executor.graph.parameters
        # copies: training may change the source from now on
        self.executor.set_parameters({k: v for k, v in self.source.parameters().items() if k in names})
        self.pending = self.pool.submit(self._evaluate, datasets)

    def _evaluate(self, datasets):
        return {name: evaluate(self.executor, arrays, self.batch_size)
                for name, arrays in datasets.items()}

    def collect(self) -> Dict[str, tuple]:
        """{dataset name: (cost, error)} of the last submit (waits if still running)."""
        future, self.pending = self.pending, None
        return future.result() if future else {}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
