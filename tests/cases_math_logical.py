"""Harness cases for the Math, Trigonometric and Logical layers."""
from __future__ import annotations

import numpy as np

from layer_case import Case

# Axis numbers in `props` are NNC's (0 = first axis after the batch); NumPy axes in the
# references include the batch axis, so they are one higher.


# -- input generators: (rng, batched shapes) -> arrays ------------------------------------
def uniform(lo, hi):
    return lambda rng, shapes: [rng.uniform(lo, hi, s) for s in shapes]


def integers(lo, hi):
    """Small integers, so that equal values (and zeros) occur often."""
    return lambda rng, shapes: [rng.randint(lo, hi, s).astype(np.float64) for s in shapes]


def halves(rng, shapes):
    """Multiples of 0.5, so that Round meets its ties."""
    return [rng.randint(-8, 9, s) / 2 for s in shapes]


def with_zeros(rng, shapes):
    return [np.where(rng.rand(*s) < 0.3, 0.0, rng.randn(*s)) for s in shapes]


def with_specials(rng, shapes):
    """Normal values with some NaN, +inf and -inf."""
    out = []
    for s in shapes:
        x, u = rng.randn(*s), rng.rand(*s)
        x[u < 0.2] = np.nan
        x[(u >= 0.2) & (u < 0.3)] = np.inf
        x[(u >= 0.3) & (u < 0.4)] = -np.inf
        out.append(x)
    return out


def square_matrices(rng, shapes):
    """Diagonally dominant matrices: far from singular, so float32 determinants and inverses stay accurate."""
    (b, n, _), = shapes
    return [rng.randn(b, n, n) * 0.3 + 2 * np.eye(n) * rng.choice([-1, 1], (b, 1, 1))]


# -- references -----------------------------------------------------------------------------
def as_float(a):
    return np.asarray(a).astype(np.float64)


def cumulative(x, axis, op, exclusive, reverse):
    if reverse:
        x = np.flip(x, axis)
    y = op.accumulate(x, axis=axis)
    if exclusive:   # shift by one along the axis, starting from the identity
        first = np.full_like(np.take(y, [0], axis=axis), op.identity)
        y = np.concatenate([first, np.delete(y, -1, axis=axis)], axis=axis)
    return np.flip(y, axis) if reverse else y


def arg_extreme(x, axes, fn, keepdims=False):
    """Position of the extreme, counted row-major over the reduced axes together (as nnabla does)."""
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, rest + list(axes))
    idx = fn(moved.reshape(*moved.shape[:len(rest)], -1), axis=-1)
    if keepdims:
        idx = np.expand_dims(idx, tuple(axes))
    return idx


def round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


CASES = [
    # -- Math: reductions. Axes [0, 2] of (3, 4, 5) are NumPy axes (1, 3).
    Case("Sum", [(3, 4, 5)], {"axes": [0, 2], "keep_dims": True},
         ref=lambda x, w: x[0].sum(axis=(1, 3), keepdims=True)),
    # every sample axis reduced: one number per sample, shape []
    Case("Sum", [(3, 4)], {"axes": [1, 0]}, ref=lambda x, w: x[0].sum(axis=(1, 2)), id="to-scalar"),
    Case("CumSum", [(3, 4, 2)], {"axis": 1, "exclusive": True, "reverse": True},
         ref=lambda x, w: cumulative(x[0], 2, np.add, exclusive=True, reverse=True)),
    Case("CumSum", [(5, 2)], ref=lambda x, w: np.cumsum(x[0], axis=1), id="default"),
    Case("Mean", [(2, 3, 4)], {"axes": [2]}, ref=lambda x, w: x[0].mean(axis=3)),
    Case("Prod", [(2, 3, 4)], {"axes": [0, 1], "keep_dims": True},
         ref=lambda x, w: x[0].prod(axis=(1, 2), keepdims=True)),
    Case("CumProd", [(4, 3)], {"axis": 0, "exclusive": True},
         ref=lambda x, w: cumulative(x[0], 1, np.multiply, exclusive=True, reverse=False)),
    Case("CumProd", [(2, 5)], {"axis": 1, "reverse": True},
         ref=lambda x, w: cumulative(x[0], 2, np.multiply, exclusive=False, reverse=True), id="reverse"),
    # with_index alone still outputs the values
    Case("Max", [(3, 4, 5)], {"axes": [1], "with_index": True}, ref=lambda x, w: x[0].max(axis=2),
         nntxt="nnabla's Max with_index has two outputs, an NNC layer one"),
    Case("Max", [(3, 4, 5)], {"axes": [2, 0], "only_index": True},
         ref=lambda x, w: arg_extreme(x[0], (1, 3), np.argmax), exact=True, id="only-index"),
    Case("Min", [(3, 4, 5)], {"axes": [0], "keep_dims": True}, ref=lambda x, w: x[0].min(axis=1, keepdims=True)),
    Case("Min", [(3, 4, 5)], {"axes": [0, 1], "keep_dims": True, "only_index": True},
         ref=lambda x, w: arg_extreme(x[0], (1, 2), np.argmin, keepdims=True), exact=True, id="only-index"),
    Case("Norm", [(3, 4, 5)], {"p": 3.0, "axes": [1]},
         ref=lambda x, w: (np.abs(x[0]) ** 3).sum(axis=2) ** (1 / 3)),
    Case("Norm", [(2, 6)], {"p": 1.0, "axes": [1], "keep_dims": True},
         ref=lambda x, w: np.abs(x[0]).sum(axis=2, keepdims=True), id="l1"),

    # -- Math: elementwise
    Case("Log", [(2, 3, 4)], make=uniform(0.05, 5.0), ref=lambda x, w: np.log(x[0])),
    Case("Exp", [(2, 3, 4)], ref=lambda x, w: np.exp(x[0])),
    Case("Sign", [(3, 4)], {"alpha": 0.5}, make=with_zeros,
         ref=lambda x, w: np.where(x[0] == 0, 0.5, np.sign(x[0])), exact=True),
    Case("Round", [(4, 5)], make=halves, ref=lambda x, w: round_half_away(x[0]), exact=True),
    Case("Ceil", [(4, 5)], make=halves, ref=lambda x, w: np.ceil(x[0]), exact=True),
    Case("Floor", [(4, 5)], make=halves, ref=lambda x, w: np.floor(x[0]), exact=True),

    # -- Math: matrices. n^3 multiply-adds per sample for the square-matrix layers (NNC's cost);
    # BatchMatmul: 2 * 3 * 5 outputs, each a 4-term dot product.
    Case("BatchMatmul", [(2, 3, 4), (1, 4, 5)], ref=lambda x, w: np.matmul(x[0], x[1]), macs=2 * 3 * 5 * 4),
    Case("BatchMatmul", [(3, 2), (2, 4)], ref=lambda x, w: np.matmul(x[0], x[1]), macs=3 * 4 * 2, id="plain"),
    Case("BatchInv", [(4, 4)], make=square_matrices, ref=lambda x, w: np.linalg.inv(x[0]), macs=4 ** 3),
    Case("BatchDet", [(4, 4)], make=square_matrices, ref=lambda x, w: np.linalg.det(x[0]), macs=4 ** 3),
    # nnabla's log-determinant is log |det|
    Case("BatchLogdet", [(3, 3)], make=square_matrices, ref=lambda x, w: np.linalg.slogdet(x[0])[1],
         macs=3 ** 3),

    # -- Trigonometric
    Case("Sin", [(2, 3, 4)], ref=lambda x, w: np.sin(x[0])),
    Case("Cos", [(2, 3, 4)], ref=lambda x, w: np.cos(x[0])),
    Case("Tan", [(2, 3, 4)], make=uniform(-1.2, 1.2), ref=lambda x, w: np.tan(x[0])),
    Case("Sinh", [(2, 3, 4)], ref=lambda x, w: np.sinh(x[0])),
    Case("Cosh", [(2, 3, 4)], ref=lambda x, w: np.cosh(x[0])),
    Case("ASin", [(2, 3, 4)], make=uniform(-0.99, 0.99), ref=lambda x, w: np.arcsin(x[0])),
    Case("ACos", [(2, 3, 4)], make=uniform(-0.99, 0.99), ref=lambda x, w: np.arccos(x[0])),
    Case("ATan", [(2, 3, 4)], ref=lambda x, w: np.arctan(x[0])),
    # (3, 1, 4) against (3, 5, 1) broadcasts to (3, 5, 4)
    Case("ATan2", [(3, 1, 4), (3, 5, 1)], ref=lambda x, w: np.arctan2(x[0], x[1])),
    Case("ASinh", [(2, 3, 4)], ref=lambda x, w: np.arcsinh(x[0])),
    Case("ACosh", [(2, 3, 4)], make=uniform(1.01, 5.0), ref=lambda x, w: np.arccosh(x[0])),
    Case("ATanh", [(2, 3, 4)], make=uniform(-0.95, 0.95), ref=lambda x, w: np.arctanh(x[0])),

    # -- Logical: integers in [-1, 2], so nonzero values other than 1 and equal pairs occur
    Case("LogicalAnd", [(2, 1, 4), (2, 3, 1)], make=integers(-1, 3),
         ref=lambda x, w: as_float(np.logical_and(x[0], x[1])), exact=True),
    Case("LogicalOr", [(2, 3, 4), (2, 3, 4)], make=integers(0, 2),
         ref=lambda x, w: as_float(np.logical_or(x[0], x[1])), exact=True),
    Case("LogicalXor", [(3, 4), (1, 4)], make=integers(-1, 3),
         ref=lambda x, w: as_float(np.logical_xor(x[0], x[1])), exact=True),
    Case("Equal", [(2, 3, 4), (2, 1, 4)], make=integers(-1, 3), ref=lambda x, w: as_float(x[0] == x[1]), exact=True),
    Case("NotEqual", [(3, 4), (3, 4)], make=integers(-1, 3), ref=lambda x, w: as_float(x[0] != x[1]), exact=True),
    Case("GreaterEqual", [(3, 4), (3, 1)], make=integers(-1, 3),
         ref=lambda x, w: as_float(x[0] >= x[1]), exact=True),
    Case("Greater", [(2, 3), (2, 3)], make=integers(-1, 3), ref=lambda x, w: as_float(x[0] > x[1]), exact=True),
    Case("LessEqual", [(1, 4), (3, 4)], make=integers(-1, 3), ref=lambda x, w: as_float(x[0] <= x[1]), exact=True),
    Case("Less", [(2, 3, 4), (2, 3, 4)], make=integers(-1, 3), ref=lambda x, w: as_float(x[0] < x[1]), exact=True),
    Case("LogicalAndScalar", [(3, 4)], {"value": 1.0}, make=integers(-1, 3),
         ref=lambda x, w: as_float(x[0] != 0), exact=True),
    Case("LogicalAndScalar", [(3, 4)], make=integers(-1, 3), ref=lambda x, w: np.zeros_like(x[0]), exact=True,
         id="false"),
    # an .nntxt holds the bool nnabla takes: a nonzero value comes back as 1
    Case("LogicalOrScalar", [(3, 4)], {"value": -2.5}, make=integers(-1, 3),
         ref=lambda x, w: np.ones_like(x[0]), exact=True, nntxt={"value": 1.0}),
    Case("LogicalOrScalar", [(3, 4)], make=integers(-1, 3), ref=lambda x, w: as_float(x[0] != 0), exact=True,
         id="false"),
    Case("LogicalXorScalar", [(3, 4)], {"value": 3.0}, make=integers(-1, 3),
         ref=lambda x, w: as_float(x[0] == 0), exact=True, nntxt={"value": 1.0}),
    Case("EqualScalar", [(3, 4)], {"value": 1.0}, make=integers(-1, 3),
         ref=lambda x, w: as_float(x[0] == 1), exact=True),
    Case("NotEqualScalar", [(3, 4)], {"value": 2.0}, make=integers(-1, 3),
         ref=lambda x, w: as_float(x[0] != 2), exact=True),
    Case("GreaterEqualScalar", [(3, 4)], {"value": 1.0}, make=integers(-1, 3),
         ref=lambda x, w: as_float(x[0] >= 1), exact=True),
    Case("GreaterScalar", [(3, 4)], {"value": 0.25}, ref=lambda x, w: as_float(x[0] > 0.25), exact=True),
    Case("LessEqualScalar", [(3, 4)], {"value": 1.0}, make=integers(-1, 3),
         ref=lambda x, w: as_float(x[0] <= 1), exact=True),
    Case("LessScalar", [(3, 4)], {"value": -0.5}, ref=lambda x, w: as_float(x[0] < -0.5), exact=True),
    Case("LogicalNot", [(3, 4)], make=integers(-1, 3), ref=lambda x, w: as_float(x[0] == 0), exact=True),
    Case("IsNaN", [(4, 5)], make=with_specials, ref=lambda x, w: as_float(np.isnan(x[0])), exact=True),
    Case("IsInf", [(4, 5)], make=with_specials, ref=lambda x, w: as_float(np.isinf(x[0])), exact=True),
]
