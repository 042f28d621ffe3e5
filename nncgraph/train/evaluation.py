"""Per-sample cost and error: what a run monitors, whichever engine computes it.

Per sample: the summed loss and the error NNC monitors -- top-1 error for
classification losses, the 0.5-threshold error for binary losses (0 for
logits), the loss itself for regression, or the mean of a validation layer
(TopNError, BinaryError) when the network has one; a sample whose prediction
is not finite counts as wrong (error 1, or inf where the error is the loss).
An engine's Executor.monitor computes them (engines/nnabla/monitor.py).
"""
from __future__ import annotations

import numpy as np

from ..engines.batches import padded_batches
from ..finite_checks import column_sums


def error_is_the_loss(project) -> bool:
    """Whether the error a run of `project` monitors is the loss itself (a regression: SquaredError,
    ...), picked as the engines' monitor picks it (engines/nnabla/monitor.py); then 1 - error is no accuracy."""
    from ..graph.ir import network_graph

    layers = [node.layer for node in network_graph(project, project.training.network).nodes]
    if any(layer.role == "metric" for layer in layers):
        return False
    losses = [layer for layer in layers if layer.role == "loss"]
    return bool(losses) and losses[0].error_kind == "loss"


def evaluate(executor, data, batch_size: int):
    """(mean cost, mean error) over every sample exactly once (the padding of the last batch is not counted).

    `data` maps input names to stored arrays: a BoundData (uint8 images with
    scales), or a plain dict of float32 arrays."""
    n = len(next(iter(data.values())))
    totals = np.zeros(2, np.float64)
    for start, stop, batch in padded_batches(data, batch_size, executor.inputs, n=n, draws=executor.draws):
        totals += column_sums(executor.monitor(batch)[:stop - start])
    cost, error = totals / n
    return float(cost), float(error)
