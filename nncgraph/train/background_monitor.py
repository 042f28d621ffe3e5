"""Validate beside training, on the second core.

nnabla's CPU kernels use one core and release the GIL, so the validation of
epoch e can run on a worker thread while epoch e+1 trains. The monitor graph
owns a snapshot of the parameters (copied at the end of each epoch), so the
weights it measures are exactly epoch e's, however far training has moved on.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, Optional

from .evaluation import attach_monitor, evaluate

SNAPSHOT_SCOPE = "_monitor"


def compile_monitor(nn, compile_fn, inferred, batch_size):
    """The validation graph on its own copy of the parameters."""
    with nn.parameter_scope(SNAPSHOT_SCOPE):
        compiled = compile_fn(inferred, batch_size)
    return compiled


def split_parameters(nn):
    """(live, snapshot): the trained parameters and the monitor's copies, by the live names."""
    everything = nn.get_parameters(grad_only=False)
    prefix = SNAPSHOT_SCOPE + "/"
    snapshot = {k[len(prefix):]: v for k, v in everything.items() if k.startswith(prefix)}
    live = {k: v for k, v in everything.items() if not k.startswith(prefix)}
    return live, snapshot


class BackgroundMonitor:
    def __init__(self, compiled, live: Dict, snapshot: Dict, batch_size: int):
        self.compiled = attach_monitor(compiled)
        self.live, self.snapshot = live, snapshot
        self.batch_size = batch_size
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nncgraph-monitor")
        self.pending: Optional[Future] = None

    def submit(self, datasets: Dict[str, dict]) -> None:
        """Snapshot the live parameters, then evaluate each dataset in the background."""
        assert self.pending is None, "collect() the previous evaluation first"
        for name, var in self.live.items():
            self.snapshot[name].d = var.d   # copies: training may change var from now on
        self.pending = self.pool.submit(self._evaluate, datasets)

    def _evaluate(self, datasets):
        return {name: evaluate(self.compiled, arrays, self.batch_size)
                for name, arrays in datasets.items()}

    def collect(self) -> Dict[str, tuple]:
        """{dataset name: (cost, error)} of the last submit (waits if still running)."""
        future, self.pending = self.pending, None
        return future.result() if future else {}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
