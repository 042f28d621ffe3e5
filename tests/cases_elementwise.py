"""Harness cases for the activation and arithmetic layers (scalar, two-input, N-input)."""
from __future__ import annotations

import numpy as np

from layer_case import Case

# Axis numbers in `props` are NNC's (0 = first axis after the batch); NumPy axes in the
# references include the batch axis, so they are one higher.


def positive(rng, shapes):
    return [rng.uniform(0.5, 2.0, s) for s in shapes]


def away_from_zero(rng, shapes):
    """|x| in [0.5, 2] with random signs: for divisors, where values near 0 would blow up."""
    return [rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 2.0, s) for s in shapes]


def base_and_exponent(rng, shapes):
    """A positive base (a negative one with a fractional exponent is NaN), any exponent."""
    return [rng.uniform(0.5, 2.0, shapes[0]), rng.randn(*shapes[1])]


def wide(rng, shapes):
    """Values on both sides of the clipping points of HardTanh, HardSigmoid and ReLU6."""
    return [rng.uniform(-8.0, 8.0, s) for s in shapes]


def elu(x, alpha):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def softplus(x):
    return np.logaddexp(0, x)


CASES = [
    # -- Activation
    Case("HardTanh", [(2, 3, 4)], make=wide, ref=lambda x, w: np.clip(x[0], -1, 1)),
    Case("TanhShrink", [(2, 3, 4)], ref=lambda x, w: x[0] - np.tanh(x[0])),
    Case("HardSigmoid", [(2, 3, 4)], make=wide, ref=lambda x, w: np.clip(0.2 * x[0] + 0.5, 0, 1)),
    Case("LogSigmoid", [(2, 3, 4)], ref=lambda x, w: -softplus(-x[0])),
    Case("Abs", [(2, 3, 4)], ref=lambda x, w: np.abs(x[0]), exact=True),
    # x and -x side by side along axis 1 (NumPy axis 2): (2, 3, 4) -> (2, 6, 4)
    Case("CReLU", [(2, 3, 4)], {"axis": 1},
         ref=lambda x, w: np.concatenate([np.maximum(x[0], 0), np.maximum(-x[0], 0)], axis=2)),
    Case("CReLU", [(5,)], ref=lambda x, w: np.concatenate([np.maximum(x[0], 0), np.maximum(-x[0], 0)], axis=1),
         id="default-axis"),
    Case("ReLU6", [(2, 3, 4)], make=wide, ref=lambda x, w: np.clip(x[0], 0, 6)),
    # (2, 3, 4) -> (2, 3, 8)
    Case("CELU", [(2, 3, 4)], {"alpha": 0.5, "axis": 2},
         ref=lambda x, w: np.concatenate([elu(x[0], 0.5), elu(-x[0], 0.5)], axis=3)),
    Case("GELU", [(2, 3, 4)],
         ref=lambda x, w: 0.5 * x[0] * (1 + np.tanh(np.sqrt(2 / np.pi) * (x[0] + 0.044715 * x[0] ** 3)))),
    Case("SoftPlus", [(2, 3, 4)], ref=lambda x, w: softplus(x[0])),
    Case("SoftSign", [(2, 3, 4)], ref=lambda x, w: x[0] / (1 + np.abs(x[0]))),
    Case("Sinc", [(2, 3, 4)], make=wide, ref=lambda x, w: np.sin(x[0]) / x[0]),
    Case("Mish", [(2, 3, 4)], ref=lambda x, w: x[0] * np.tanh(softplus(x[0]))),

    # -- Arithmetic (Scalar)
    Case("AddScalar", [(2, 3)], {"value": 1.5}, ref=lambda x, w: x[0] + 1.5),
    Case("MulScalar", [(2, 3)], {"value": -2.5}, ref=lambda x, w: x[0] * -2.5),
    Case("RSubScalar", [(2, 3)], {"value": 0.75}, ref=lambda x, w: 0.75 - x[0]),
    Case("RDivScalar", [(2, 3)], {"value": 3.0}, make=away_from_zero, ref=lambda x, w: 3.0 / x[0]),
    Case("PowScalar", [(2, 3)], {"value": -1.5}, make=positive, ref=lambda x, w: x[0] ** -1.5),
    Case("PowScalar", [(2, 3)], ref=lambda x, w: x[0] ** 2, id="default-square"),
    Case("RPowScalar", [(2, 3)], {"value": 2.5}, ref=lambda x, w: 2.5 ** x[0]),
    Case("MaximumScalar", [(2, 3)], {"value": 0.25}, ref=lambda x, w: np.maximum(x[0], 0.25)),
    Case("MinimumScalar", [(2, 3)], {"value": -0.25}, ref=lambda x, w: np.minimum(x[0], -0.25)),

    # -- Arithmetic (2 Inputs): equal ranks broadcast NumPy-style, axes of size 1 stretching
    Case("Add2", [(2, 1, 4), (1, 3, 4)], ref=lambda x, w: x[0] + x[1], id="broadcast"),
    Case("Mul2", [(3, 1), (3, 5)], ref=lambda x, w: x[0] * x[1], id="broadcast"),
    Case("Sub2", [(2, 3, 4), (2, 3, 4)], ref=lambda x, w: x[0] - x[1]),
    Case("Sub2", [(2, 3, 1), (1, 1, 4)], ref=lambda x, w: x[0] - x[1], id="broadcast"),
    Case("Div2", [(2, 3, 4), (2, 3, 4)], make=away_from_zero, ref=lambda x, w: x[0] / x[1]),
    Case("Div2", [(4, 1), (1, 3)], make=away_from_zero, ref=lambda x, w: x[0] / x[1], id="broadcast"),
    Case("Pow2", [(2, 3), (2, 3)], make=base_and_exponent, ref=lambda x, w: x[0] ** x[1]),
    Case("Pow2", [(2, 1), (1, 3)], make=base_and_exponent, ref=lambda x, w: x[0] ** x[1], id="broadcast"),
    Case("Maximum2", [(2, 3, 4), (2, 1, 4)], ref=lambda x, w: np.maximum(x[0], x[1]), exact=True),
    Case("Minimum2", [(3, 4), (3, 4)], ref=lambda x, w: np.minimum(x[0], x[1]), exact=True),

    # -- Arithmetic (N Inputs)
    Case("AddN", [(2, 3), (2, 3), (2, 3)], ref=lambda x, w: x[0] + x[1] + x[2]),
    Case("MulN", [(4,), (4,), (4,), (4,)], ref=lambda x, w: x[0] * x[1] * x[2] * x[3]),
    Case("MulN", [(2, 3), (2, 3)], ref=lambda x, w: x[0] * x[1], id="two"),
]
