"""What a layer-harness case is, and small references the cases share.

Cases live in `cases_*.py` beside this file, one module per layer family, each
with a `CASES` list; `test_layer_harness.py` runs every case of every module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import nnabla as nn
import numpy as np

Arrays = List[np.ndarray]       # batched inputs (then the target, for losses)
Params = Dict[str, np.ndarray]  # parameter values by name under the scope, e.g. "conv/W"


@dataclass
class Case:
    type: str
    inputs: Sequence[Tuple[int, ...]]
    props: Dict[str, Any] = field(default_factory=dict)
    ref: Optional[Callable[[Arrays, Params], np.ndarray]] = None        # validation variant
    train_ref: Optional[Callable[[Arrays, Params], np.ndarray]] = None  # training, where it differs
    data: str = "normal"         # input values: "normal", or "prob" (uniform in (0.05, 0.95))
    # or a function (rng, batched input shapes) -> list of arrays, for inputs that must be e.g.
    # positive, integer indices or 0/1; it overrides `data`
    make: Optional[Callable[[np.random.RandomState, List[Tuple[int, ...]]], Arrays]] = None
    target: str = ""             # losses: "labels", "binary" (0/1) or "real"
    macs: int = 0                # hand-computed multiply-adds per sample; 0: the layer costs none
    exact: bool = False          # the output must equal the reference bit for bit
    # what the nntxt import gives back where it differs from `props` (another spelling of the same layer,
    # or what an .nntxt cannot carry), or, as a string, why this use of the layer does not come back
    nntxt: Any = None
    id: str = ""

    def __str__(self):
        return f"{self.type}-{self.id}" if self.id else self.type


# -- reference helpers --------------------------------------------------------
def nnabla_call(fn, *arrays, **kwargs) -> np.ndarray:
    """Forward one direct nnabla function on NumPy arrays (None, e.g. a missing bias, passes through)."""
    variables = [None if a is None else nn.Variable.from_numpy_array(a) for a in arrays]
    y = fn(*variables, **kwargs)
    y.forward()
    return y.d.copy()


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def at_label(x, t, axis):
    """x at the integer labels t (t has size 1 along `axis`)."""
    return np.take_along_axis(x, t.astype(np.int64), axis=axis)


def batch_norm(x, mean, var, w, eps):
    return (x - mean) / np.sqrt(var + eps) * w["bn/gamma"] + w["bn/beta"]


def top_n_error(x, t, axis, n):
    # wrong when n or more classes score strictly higher than the label's class
    return ((x > at_label(x, t, axis)).sum(axis=axis, keepdims=True) >= n).astype(np.float32)


def huber(d, delta):
    # nnabla: d^2 inside delta, delta * (2|d| - delta) beyond
    return np.where(np.abs(d) < delta, d ** 2, delta * (2 * np.abs(d) - delta))
