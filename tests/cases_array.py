"""Harness cases for the array layers (nncgraph/layers/array_ops.py and array_values.py).

Axis numbers in `props` are NNC's (0 = first axis after the batch); NumPy axes in the
references include the batch axis, so they are one higher.
"""
from __future__ import annotations

import nnabla.functions as F
import numpy as np

from layer_case import Case, nnabla_call



def linear_resize(x, sizes, align_corners):
    """Separable linear interpolation of the last len(sizes) axes, with nnabla's coordinate maps."""
    for ax, n_out in zip(range(x.ndim - len(sizes), x.ndim), sizes):
        n_in = x.shape[ax]
        i = np.arange(n_out)
        if align_corners:
            pos = i * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(n_out)
        else:
            pos = i * n_in / n_out
        lo = np.minimum(np.floor(pos).astype(int), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        w = (pos - lo).reshape([-1 if a == ax else 1 for a in range(x.ndim)])
        x = np.take(x, lo, axis=ax) * (1 - w) + np.take(x, hi, axis=ax) * w
    return x


def shifted(x, shifts, reflect):
    """x shifted along its last axes: out[i] = x[i - s], the index clamped or mirrored at the border."""
    for ax, s in zip(range(x.ndim - len(shifts), x.ndim), shifts):
        n = x.shape[ax]
        src = np.arange(n) - s
        if reflect:   # mirror including the edge element: -1 -> 0, n -> n - 1
            src = src % (2 * n)
            src = np.where(src >= n, 2 * n - 1 - src, src)
        else:
            src = np.clip(src, 0, n - 1)
        x = np.take(x, src, axis=ax)
    return x


def one_hot(idx, shape):
    out = np.zeros(idx.shape[:-1] + tuple(shape))
    lead = np.indices(idx.shape[:-1])
    out[(*lead, *np.moveaxis(idx.astype(int), -1, 0))] = 1
    return out


def top_k_rows(x, k, by_abs):
    """Each row's k largest values (by magnitude with by_abs), largest first."""
    order = np.argsort(-(np.abs(x) if by_abs else x), axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, order, axis=-1)


def top_k_zeroed(x, k):
    """x with all but each sample's k largest values zeroed (a sample: everything after the batch)."""
    flat = x.reshape(len(x), -1)
    keep = np.argsort(-flat, axis=1)[:, :k]
    out = np.zeros_like(flat)
    np.put_along_axis(out, keep, np.take_along_axis(flat, keep, axis=1), axis=1)
    return out.reshape(x.shape)


def pruned(x, rate):
    # nnabla's threshold is the rate-quantile of magnitudes over the whole batch
    mag = np.abs(x)
    threshold = np.sort(mag.ravel())[int((x.size - 1) * rate)]
    return np.where(mag < threshold, 0, x)


def with_specials(value):
    """Random inputs with every 3rd element set to `value` (inf, -inf or nan)."""
    def make(rng, shapes):
        x = rng.randn(*shapes[0])
        x.ravel()[::3] = value
        x.ravel()[1::7] = -value if value == np.inf else value
        return [x]
    return make


def bounds(rng, shapes):
    """x, then a lower bound <= 0 and an upper bound >= 0 (shapes may broadcast)."""
    return [rng.randn(*shapes[0]), -np.abs(rng.randn(*shapes[1])), np.abs(rng.randn(*shapes[2]))]


def indices(sizes):
    def make(rng, shapes):
        return [np.stack([rng.randint(0, n, shapes[0][:-1]) for n in sizes], axis=-1)]
    return make


def norm_clipped(x, clip, axis):
    norm = np.sqrt((x ** 2).sum(axis=axis, keepdims=True))
    return x * clip / np.maximum(norm, clip)


# why a use with base_axis 1 or more (a sample starting after its first axis) does not come back from an .nntxt
FOLDED = "nnabla's .nntxt writer folds the axes before base_axis into the batch axis"

_CASES = [
    # -- array_ops.py
    Case("Broadcast", [(1, 4, 1)], {"out_shape": [3, 4, 2]},
         ref=lambda x, w: np.broadcast_to(x[0], (len(x[0]), 3, 4, 2)), exact=True),
    # out_shape unset: the input shape, a no-op (and `out_shape: null` survives the round trip)
    Case("Broadcast", [(2, 3)], ref=lambda x, w: x[0], exact=True, id="unset"),
    # y (3,) lines up with x's axis 1 of (2, 3, 4); each sample keeps its own y
    Case("BroadcastTo", [(2, 3, 4), (3,)], {"axis": 1},
         ref=lambda x, w: np.broadcast_to(x[1][:, None, :, None], x[0].shape), exact=True),
    Case("BroadcastTo", [(2, 3, 4), (3, 4)],
         ref=lambda x, w: np.broadcast_to(x[1][:, None], x[0].shape), exact=True, id="last-axes"),
    Case("BroadcastTo", [(2, 3, 4), (2, 3)], {"axis": 0},
         ref=lambda x, w: np.broadcast_to(x[1][..., None], x[0].shape), exact=True, id="first-axes"),
    # reps [2, 3] cover the last two axes: (2, 3) -> (4, 9)
    Case("Tile", [(2, 3)], {"reps": [2, 3]}, ref=lambda x, w: np.tile(x[0], (1, 2, 3)), exact=True),
    Case("Tile", [(2, 3)], ref=lambda x, w: np.tile(x[0], (1, 1, 2)), exact=True, id="default"),
    # pairs (1, 2) and (0, 3) pad the last two axes: (2, 3, 4) -> (2, 6, 7)
    Case("Pad", [(2, 3, 4)], {"pad_width": [1, 2, 0, 3], "constant_value": 0.5},
         ref=lambda x, w: np.pad(x[0], [(0, 0), (0, 0), (1, 2), (0, 3)], constant_values=0.5), exact=True),
    Case("Pad", [(3, 4)], {"pad_width": [2, 1, 1, 3], "mode": "reflect"},
         ref=lambda x, w: np.pad(x[0], [(0, 0), (2, 1), (1, 3)], mode="reflect"), exact=True, id="reflect"),
    Case("Pad", [(2, 3, 4)], {"pad_width": [3, 1], "mode": "repeat"},
         ref=lambda x, w: np.pad(x[0], [(0, 0), (0, 0), (0, 0), (3, 1)], mode="edge"), exact=True, id="repeat"),
    Case("Flip", [(2, 3, 4)], {"axes": [0, 2]}, ref=lambda x, w: x[0][:, ::-1, :, ::-1], exact=True),
    Case("Shift", [(3, 5)], {"shift": [1, -2]}, ref=lambda x, w: shifted(x[0], [1, -2], False), exact=True),
    # one value: the last axis only
    Case("Shift", [(2, 3, 4)], {"shift": [-3], "border_mode": "reflect"},
         ref=lambda x, w: shifted(x[0], [-3], True), exact=True, id="reflect"),
    Case("Transpose", [(2, 3, 4)], {"axes": [2, 0, 1]}, ref=lambda x, w: x[0].transpose(0, 3, 1, 2), exact=True),
    Case("Slice", [(3, 5, 6)], {"start": [1, 0, 2], "stop": [3, 4, 6], "step": [1, 2, 3]},
         ref=lambda x, w: x[0][:, 1:3, 0:4:2, 2:6:3], exact=True),
    # one-value start and step slice the last axis; stop unset runs to the end of every axis
    # (nnabla's function lists every axis, so an .nntxt spells the same slice in full)
    Case("Slice", [(4, 5)], {"start": [1], "step": [2]}, ref=lambda x, w: x[0][:, :, 1::2], exact=True,
         nntxt={"start": [0, 1], "stop": [4, 5], "step": [1, 2]}, id="last-axis"),
    Case("Stack", [(2, 3), (2, 3), (2, 3)], {"axis": 1}, ref=lambda x, w: np.stack(x, axis=2), exact=True),
    Case("Stack", [(2, 3)], {"axis": 2}, ref=lambda x, w: x[0][..., None], exact=True, id="one-input-last"),
    Case("MatrixDiag", [(2, 3)], ref=lambda x, w: x[0][..., None] * np.eye(3)),
    Case("MatrixDiagPart", [(2, 3, 3)], ref=lambda x, w: np.diagonal(x[0], axis1=-2, axis2=-1), exact=True),
    Case("Interpolate", [(2, 3, 4)], {"output_size": [5, 7]},
         ref=lambda x, w: linear_resize(x[0], [5, 7], True)),
    Case("Interpolate", [(3, 6)], {"output_size": [4], "align_corners": False},
         ref=lambda x, w: linear_resize(x[0], [4], False), id="1d-no-align"),
    Case("Flatten", [(2, 3, 4)], ref=lambda x, w: x[0].reshape(len(x[0]), -1), exact=True),
    # (4, 2) index pairs into a 3x5 grid -> (4, 3, 5)
    Case("OneHot", [(4, 2)], {"shape": [3, 5]}, make=indices([3, 5]),
         ref=lambda x, w: one_hot(x[0], [3, 5]), exact=True),
    Case("OneHot", [(1,)], {"shape": [6]}, make=indices([6]), ref=lambda x, w: one_hot(x[0], [6]),
         exact=True, id="labels"),

    # -- array_values.py
    Case("ClipByValue", [(2, 3)], {"min_generator_multiplier": -0.5, "max_generator_multiplier": 0.3},
         ref=lambda x, w: np.clip(x[0], -0.5, 0.3), exact=True),
    # bounds from inputs; min broadcasts over axis 1
    Case("ClipByValue", [(2, 3), (2, 1), (2, 3)], make=bounds,
         ref=lambda x, w: np.minimum(np.maximum(x[0], x[1]), x[2]), exact=True, id="inputs"),
    Case("ClipByNorm", [(3, 4)], {"clip_norm": 0.8, "axis": [1]}, ref=lambda x, w: norm_clipped(x[0], 0.8, 2)),
    Case("ClipByNorm", [(2, 3)], {"clip_norm": 2.0, "axis": [0, 1]},
         ref=lambda x, w: norm_clipped(x[0], 2.0, (1, 2)), id="all-axes"),
    # gradient-only layers: the forward pass is the identity
    Case("ClipGradByValue", [(2, 3)], {"min_generator_multiplier": -0.2, "max_generator_multiplier": 0.2},
         ref=lambda x, w: x[0], exact=True),
    Case("ClipGradByValue", [(2, 3), (2, 3), (1, 3)], make=bounds, ref=lambda x, w: x[0], exact=True,
         id="inputs"),
    Case("ClipGradByNorm", [(2, 3)], {"clip_norm": 2.0, "axes": [1]}, ref=lambda x, w: x[0], exact=True),
    # base_axis 1 comes back as (4,) rows with base_axis 0 (likewise TopKData's and VATNoise's)
    Case("TopKGrad", [(3, 4)], {"k": 2, "abs": True, "base_axis": 1}, ref=lambda x, w: x[0], exact=True,
         nntxt=FOLDED),
    Case("TopKGrad", [(3, 4)], {"k": 5}, ref=lambda x, w: x[0], exact=True, id="whole-sample"),
    Case("Unlink", [(2, 3)], ref=lambda x, w: x[0], exact=True),
    # base_axis 1: the 3 largest magnitudes of each row of 5, largest first, signs kept
    Case("TopKData", [(2, 5)], {"k": 3, "abs": True, "base_axis": 1},
         ref=lambda x, w: top_k_rows(x[0], 3, True), exact=True, nntxt=FOLDED),
    # base_axis 0: the 3 largest of all 10 values of a sample
    Case("TopKData", [(2, 5)], {"k": 3}, ref=lambda x, w: top_k_rows(x[0].reshape(len(x[0]), -1), 3, False),
         exact=True, id="whole-sample"),
    Case("TopKData", [(3, 4)], {"k": 2, "reduce": False}, ref=lambda x, w: top_k_zeroed(x[0], 2), exact=True,
         id="not-reduced"),
    Case("Sort", [(3, 4)], {"axis": 1, "reverse": True}, ref=lambda x, w: -np.sort(-x[0], axis=2), exact=True),
    Case("Sort", [(4, 3)], {"only_index": True}, ref=lambda x, w: np.argsort(x[0], axis=1), id="only-index"),
    Case("Prune", [(3, 4)], {"rate": 0.5}, ref=lambda x, w: pruned(x[0], 0.5), exact=True),
    Case("ResetNaN", [(2, 5)], make=with_specials(np.nan), ref=lambda x, w: np.nan_to_num(x[0], nan=0.0)),
    Case("ResetInf", [(2, 5)], make=with_specials(np.inf),
         ref=lambda x, w: np.where(np.isinf(x[0]), 0, x[0])),
    # 6 boxes, 3 classes; values in (0.05, 0.95) as boxes in normalized coordinates
    Case("NmsDetection2d", [(6, 8)], {"thresh": 0.2, "nms": 0.3, "nms_per_class": False}, data="prob",
         ref=lambda x, w: nnabla_call(F.nms_detection2d, x[0].astype(np.float32), thresh=0.2, nms=0.3,
                                      nms_per_class=False)),
    Case("NmsDetection2d", [(5, 7)], data="prob",
         ref=lambda x, w: nnabla_call(F.nms_detection2d, x[0].astype(np.float32), thresh=0.5, nms=0.45,
                                      nms_per_class=True), id="per-class"),
    # base_axis 1: each (sample, row) of the last axis scaled to norm 0.5
    Case("VATNoise", [(2, 3), (2, 3)], {"base_axis": 1, "epsilon": 0.5}, nntxt=FOLDED,
         ref=lambda x, w: 0.5 * x[0] / np.sqrt((x[0] ** 2).sum(axis=2, keepdims=True))),
    Case("VATNoise", [(2, 3), (2, 3)], {"epsilon": 0.5},
         ref=lambda x, w: 0.5 * x[0] / np.sqrt((x[0] ** 2).sum(axis=(1, 2), keepdims=True)), id="whole-sample"),
]

CASES = _CASES
