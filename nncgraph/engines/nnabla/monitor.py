"""Per-sample cost and error as one variable of the nnabla graph (train/evaluation.py says which
error); one small array read per batch keeps the step loop free of per-batch NumPy work.

A sample whose prediction holds NaN or inf is an error, whatever the error
function makes of it: top_n_error compares with NaN and so counts it correct.
Its error is 1 (a wrong answer) or, where the error is the loss itself, inf.
"""
from __future__ import annotations

import numpy as np


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
    target = compiled.target(info)
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
