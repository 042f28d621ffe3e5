"""Per-sample cost and error from a compiled graph's outputs (NumPy only).

Errors follow NNC's monitors: top-1 error for classification losses, a 0.5
threshold for binary losses (0 for logits), the loss itself for regression,
or the mean of a validation layer (TopNError, BinaryError) when the network
has one.
"""
from __future__ import annotations

import numpy as np


def per_sample(values: np.ndarray) -> np.ndarray:
    """Mean over every axis but the batch axis."""
    return values.reshape(values.shape[0], -1).mean(axis=1)


def sample_errors(compiled, data: dict) -> np.ndarray:
    """Per-sample error of the primary monitor, from the last forward pass."""
    if compiled.metrics:
        _, var = compiled.metrics[0]
        return per_sample(var.d)
    info, loss_var = compiled.losses[0]
    layer, props = info.node.layer, info.node.props
    if layer.error_kind == "loss":
        return per_sample(loss_var.d)
    prediction = compiled.prediction(info).d
    target = data[props["target"]]
    if layer.error_kind == "top1":
        axis = props["axis"] + 1
        guess = prediction.argmax(axis=axis)
        label = np.take(target, 0, axis=axis)
        return per_sample((guess != np.rint(label)).astype(np.float32))
    return per_sample(((prediction > layer.binary_threshold) != (target >= 0.5)).astype(np.float32))


def sample_costs(compiled) -> np.ndarray:
    return sum(per_sample(var.d) for _, var in compiled.losses)


def keep_monitored_outputs(compiled) -> list:
    """Mark what the monitors read as persistent, so nnabla keeps it after forward."""
    watched = [var for _, var in compiled.losses] + [var for _, var in compiled.metrics]
    if compiled.losses and not compiled.metrics:
        watched.append(compiled.prediction(compiled.losses[0][0]))
    for var in watched:
        var.persistent = True
    return [var for _, var in compiled.losses] + [var for _, var in compiled.metrics]


def evaluate(compiled, arrays: dict, batch_size: int, forward_outputs: list):
    """(mean cost, mean error) over every sample exactly once; the last batch is padded and masked."""
    import nnabla as nn

    n = len(next(iter(arrays.values())))
    costs = np.empty(n, np.float64)
    errors = np.empty(n, np.float64)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        count = stop - start
        batch = {}
        for name, var in compiled.inputs.items():
            chunk = arrays[name][start:stop]
            if count < batch_size:   # pad: the graph has a fixed batch size
                chunk = np.concatenate([chunk, np.zeros((batch_size - count, *chunk.shape[1:]), chunk.dtype)])
            var.d = chunk
            batch[name] = chunk
        nn.forward_all(forward_outputs, clear_no_need_grad=True)
        costs[start:stop] = sample_costs(compiled)[:count] if compiled.losses else 0.0
        errors[start:stop] = sample_errors(compiled, batch)[:count]
    return float(costs.mean()), float(errors.mean())
