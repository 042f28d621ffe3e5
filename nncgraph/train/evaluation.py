"""Per-sample cost and error, computed inside the nnabla graph.

Each compiled graph gets one `monitor` variable of shape (batch, 2): per
sample, the summed loss and the error NNC monitors -- top-1 error for
classification losses, the 0.5-threshold error for binary losses (0 for
logits), the loss itself for regression, or the mean of a validation layer
(TopNError, BinaryError) when the network has one. Reading one small array per
batch keeps the training loop free of per-batch NumPy work.

A sample whose prediction holds NaN or inf is an error, whatever the error
function makes of it: top_n_error compares with NaN and so counts it correct.
Its error is 1 (a wrong answer) or, where the error is the loss itself, inf.
"""
from __future__ import annotations

import numpy as np

from ..data.csv_dataset import to_float32
from ..finite_checks import column_sums


def attach_monitor(compiled):
    """Build `compiled.monitor` (and, for training, `compiled.step`, which computes
    the loss and the monitor in one forward pass)."""
    import nnabla.functions as F

    batch = compiled.batch_size

    def per_sample(var):
        flat = F.reshape(var, (batch, int(np.prod(var.shape[1:]))), inplace=False)
        return F.mean(flat, axis=1)

    cost = None
    for _, var in compiled.losses:
        cost = per_sample(var) if cost is None else F.add2(cost, per_sample(var))
    error_var, prediction, worst = _error_variable(compiled, F)
    error = _non_finite_is_wrong(F, per_sample(error_var), per_sample(F.mul_scalar(prediction, 0.0)), worst)
    compiled.monitor = F.stack(cost, error, axis=1)
    compiled.monitor.persistent = True      # survives clear_no_need_grad / clear_buffer
    compiled.step = F.sink(compiled.loss, compiled.monitor) if compiled.loss is not None else None
    return compiled


def error_is_the_loss(project) -> bool:
    """Whether the error a run of `project` monitors is the loss itself (a regression: SquaredError,
    ...), picked as `_error_variable` picks it; then 1 - error is no accuracy."""
    from ..graph.ir import network_graph

    layers = [node.layer for node in network_graph(project, project.training.network).nodes]
    if any(layer.role == "metric" for layer in layers):
        return False
    losses = [layer for layer in layers if layer.role == "loss"]
    return bool(losses) and losses[0].error_kind == "loss"


def _error_variable(compiled, F):
    """(error variable, the prediction it judges, the error a non-finite prediction gets)."""
    if compiled.metrics:
        info, metric = compiled.metrics[0]
        return metric, compiled.prediction(info), 1.0
    info, loss_var = compiled.losses[0]
    layer, props = info.node.layer, info.node.props
    prediction = compiled.prediction(info)
    if layer.error_kind == "loss":
        return loss_var, prediction, float("inf")
    target = compiled.inputs[props["target"]]
    if layer.error_kind == "top1":
        return F.top_n_error(prediction, target, axis=props["axis"] + 1, n=1), prediction, 1.0
    guess = F.greater_scalar(prediction, layer.binary_threshold)
    truth = F.greater_equal_scalar(target, 0.5)
    return F.logical_xor(guess, truth), prediction, 1.0


def _non_finite_is_wrong(F, error, zeros, worst: float):
    """`error` per sample, with `worst` where the sample's prediction is not finite.

    `zeros` is the per-sample mean of prediction * 0: exactly 0, or NaN when any value is NaN or inf
    (inf * 0 is NaN), so one isnan per sample finds them without a pass per kind."""
    bad = F.isnan(zeros)
    return F.where(bad, F.constant(worst, error.shape), error)


def evaluate(compiled, data, batch_size: int):
    """(mean cost, mean error) over every sample exactly once; the last batch is padded and masked.

    `data` maps input names to stored arrays: a BoundData (uint8 images with
    scales), or a plain dict of float32 arrays."""
    scales = getattr(data, "scales", {})
    feeds = [(var, data[name], scales.get(name, 1.0)) for name, var in compiled.inputs.items()]
    n = len(next(iter(data.values())))
    totals = np.zeros(2, np.float64)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        count = stop - start
        for var, array, scale in feeds:
            chunk = to_float32(array[start:stop], scale)
            if count < batch_size:   # pad: the graph has a fixed batch size
                chunk = np.concatenate([chunk, np.zeros((batch_size - count, *chunk.shape[1:]), chunk.dtype)])
            var.d = chunk
        compiled.monitor.forward(clear_buffer=True)
        totals += column_sums(compiled.monitor.d[:count])
    cost, error = totals / n
    return float(cost), float(error)
