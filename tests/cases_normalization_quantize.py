"""Harness cases for the Normalization palette beyond BatchNormalization, the Basic convolution variants
and Embed, and the Quantize palette.

Axis numbers in `props` are NNC's (0 = first axis after the batch); NumPy axes in the references count
the batch, so they are one higher.
"""
from __future__ import annotations

import nnabla.functions as F
import numpy as np

from layer_case import Case, batch_norm, nnabla_call


def relu(x):
    return np.maximum(x, 0)


def standardize(x, axes, eps):
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def group_norm_ref(x, w, groups, eps):
    """Channels of axis 1 in `groups` groups; statistics per sample and group."""
    b, c = x.shape[:2]
    g = x.reshape(b, groups, c // groups, *x.shape[2:])
    y = standardize(g, tuple(range(2, g.ndim)), eps).reshape(x.shape)
    return y * w["group_normalization/gamma"] + w["group_normalization/beta"]


def spectral_ref(x, u, dim, itr, eps):
    """Power iteration on x as a matrix (axis `dim`) by (all other axes, the batch included)."""
    m = np.moveaxis(x, dim, 0)
    mat = m.reshape(len(m), -1)
    u = u[None]
    for _ in range(itr):
        v = u @ mat
        v = v / np.sqrt((v ** 2).sum() + eps)
        u = v @ mat.T
        u = u / np.sqrt((u ** 2).sum() + eps)
    sigma = (u @ mat @ v.T).item()
    return np.moveaxis(m / sigma, 0, dim)


def sign(w):
    return np.where(w < 0, -1.0, 1.0)     # nnabla binarizes 0 to +1


def fixed_point(x, signed, n, delta):
    top = (2 ** (n - 1) - 1 if signed else 2 ** n - 1) * delta
    c = np.clip(x, -top if signed else 0, top)
    return np.sign(c) * np.floor(np.abs(c) / delta + 0.5) * delta


def adaptive_separable(x, v, h):
    kv, kh = v.shape[1], h.shape[1]
    oh, ow = x.shape[2] - kv + 1, x.shape[3] - kh + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for j in range(kv):
        for i in range(kh):
            k = (v[:, j, :oh, :ow] * h[:, i, :oh, :ow])[:, None]
            out += k * x[:, :, j:j + oh, i:i + ow]
    return out


def same_for_every_sample(rng, shapes):
    """One array repeated over the batch, as a Parameter layer delivers a weight."""
    return [np.broadcast_to(rng.randn(1, *s[1:]), s).copy() for s in shapes]


def indices(n):
    return lambda rng, shapes: [rng.randint(0, n, s) for s in shapes]


CASES = [
    # -- Normalization. FusedBatchNormalization: relu(bn(x) + z) with z the second input.
    Case("FusedBatchNormalization", [(3, 4), (3, 4)], {"axes": [0], "decay_rate": 0.5, "epsilon": 0.01},
         ref=lambda x, w: relu(batch_norm(x[0], w["bn/mean"], w["bn/var"], w, 0.01) + x[1]),
         train_ref=lambda x, w: relu(batch_norm(x[0], x[0].mean(axis=(0, 2), keepdims=True),
                                                x[0].var(axis=(0, 2), keepdims=True), w, 0.01) + x[1]),
         id="residual"),
    Case("FusedBatchNormalization", [(2, 3, 4)], {"axes": [1], "batch_stat": False, "parameter_scope": "fbn"},
         ref=lambda x, w: relu(batch_norm(x[0], w["bn/mean"], w["bn/var"], w, 0.0001)), id="running-stats"),
    # 4 channels in 2 groups of 2; statistics per sample over a group's channels and the other axes
    Case("GroupNormalization", [(4, 2, 3)], {"num_groups": 2, "epsilon": 0.01},
         ref=lambda x, w: group_norm_ref(x[0], w, 2, 0.01)),
    # channel axis 2 (6 channels in 3 groups); batch_axis 0 keeps one set of statistics per index of axis 0
    Case("GroupNormalization", [(2, 3, 6)], {"channel_axis": 2, "batch_axis": 0, "num_groups": 3},
         ref=lambda x, w: (standardize(x[0].reshape(3, 2, 3, 3, 2), (2, 4), 1e-5).reshape(3, 2, 3, 6)
                           * w["group_normalization/gamma"] + w["group_normalization/beta"]),
         id="channel-last-axis"),
    Case("InstanceNormalization", [(3, 4, 5)], {"epsilon": 0.001},
         ref=lambda x, w: standardize(x[0], (2, 3), 0.001) * w["instance_normalization/gamma"]
         + w["instance_normalization/beta"]),
    # channels on axis 1, axis 2 a batch-like axis: statistics over axis 0 alone
    Case("InstanceNormalization", [(5, 3, 2)],
         {"channel_axis": 1, "batch_axis": 2, "epsilon": 0.01, "parameter_scope": "inorm"},
         ref=lambda x, w: standardize(x[0], (1,), 0.01) * w["instance_normalization/gamma"]
         + w["instance_normalization/beta"], id="axes"),
    Case("LayerNormalization", [(3, 4)], {"epsilon": 0.01},
         ref=lambda x, w: standardize(x[0], (1, 2), 0.01) * w["layer_normalization/gamma"]
         + w["layer_normalization/beta"]),
    Case("LayerNormalization", [(2, 3, 4)], {"batch_axis": 0},
         ref=lambda x, w: standardize(x[0], (2, 3), 1e-5) * w["layer_normalization/gamma"]
         + w["layer_normalization/beta"], id="batch-axis"),
    # nnabla's kernel leaves epsilon out of a nonzero norm
    Case("NormNormalization", [(3, 4, 5)], {"p": 3.0, "axes": [0, 2], "epsilon": 1e-6},
         ref=lambda x, w: x[0] / (np.abs(x[0]) ** 3).sum(axis=(1, 3), keepdims=True) ** (1 / 3)),
    # NNC's default axes -1,0,1,2: one L2 norm over the whole minibatch
    Case("NormNormalization", [(2, 3, 4)], ref=lambda x, w: x[0] / np.sqrt((x[0] ** 2).sum()), id="default-axes"),
    # A weight is the same for every sample (a Parameter repeats it): SpectralNorm normalizes the first
    # sample's array; dim 1 is NumPy axis 2, so u has 4 values. The output is the same whether or not u is
    # then updated (training), and the batch stays out of every statistic.
    Case("SpectralNorm", [(3, 4, 2)], {"dim": 1, "itr": 2, "epsilon": 0.001},
         ref=lambda x, w: np.broadcast_to(spectral_ref(x[0][:1], w["spectral-norm/u"], 2, 2, 0.001), x[0].shape)),
    Case("SpectralNorm", [(5, 3)], {"test": True, "parameter_scope": "sn1"}, make=same_for_every_sample,
         ref=lambda x, w: np.broadcast_to(spectral_ref(x[0][:1], w["spectral-norm/u"], 1, 1, 1e-12), x[0].shape),
         id="test"),
    Case("WeightNormalization", [(3, 4, 2)], {"dim": 1, "epsilon": 0.001},
         ref=lambda x, w: x[0] * w["wn/g"].reshape(4, 1)
         / np.sqrt((x[0] ** 2).sum(axis=(1, 3), keepdims=True) + 0.001)),
    Case("WeightNormalization", [(3, 4)], {"parameter_scope": "wn1"}, make=same_for_every_sample,
         ref=lambda x, w: x[0] * w["wn/g"].reshape(3, 1) / np.sqrt((x[0] ** 2).sum(axis=2, keepdims=True)),
         id="dim0"),
    Case("WeightStandardization", [(3, 4, 2)], {"channel_axis": 1, "epsilon": 0.001},
         ref=lambda x, w: standardize(x[0], (1, 3), 0.001)),
    Case("WeightStandardization", [(3, 4)], ref=lambda x, w: standardize(x[0], (2,), 1e-5), id="axis0"),

    # -- Basic. Offsets and masks span the input's 7 x 6 pixels: 2 * (3*2 taps) * 2 groups = 24 offset and
    # 12 mask channels. Output ((7 + 2 - 3) // 2 + 1, (6 + 2 - 2) // 2 + 1) = (4, 4); macs = 96 * 2 * 6.
    Case("DeformableConvolution", [(4, 7, 6), (24, 7, 6), (12, 7, 6)],
         {"out_maps": 6, "kernel_shape": [3, 2], "padding": [1, 1], "strides": [2, 2], "group": 2,
          "deformable_group": 2},
         ref=lambda x, w: nnabla_call(F.deformable_convolution, x[0], w["deformable_conv/W"], x[1], x[2],
                                      w["deformable_conv/b"], pad=(1, 1), stride=(2, 2), group=2,
                                      deformable_group=2),
         macs=6 * 4 * 4 * 2 * 6, id="masked",
         # small offsets and masks in (0, 1): nnabla's bilinear sampling far outside the input was seen to
         # differ between two identical calls in a long test session
         make=lambda rng, shapes: [rng.randn(*shapes[0]), rng.uniform(-0.3, 0.3, shapes[1]),
                                   rng.uniform(0.1, 0.9, shapes[2])]),
    # border_mode same with dilation [2, 1] pads [2, 1]: output (4, 5, 6); macs = 120 * 3 * 9
    Case("DeformableConvolution", [(3, 5, 6), (18, 5, 6)],
         {"out_maps": 4, "dilation": [2, 1], "with_bias": False},
         ref=lambda x, w: nnabla_call(F.deformable_convolution, x[0], w["deformable_conv/W"], x[1],
                                      pad=(2, 1), dilation=(2, 1)),
         macs=4 * 5 * 6 * 3 * 9, id="no-mask"),
    # nnabla builds it, but has no CPU kernel: shapes and parameters are checked, values are xfail
    Case("DeformableConvolution", [(5, 6, 4), (5, 6, 18)], {"out_maps": 3, "channel_last": True},
         ref=lambda x, w: nnabla_call(F.deformable_convolution, x[0], w["deformable_conv/W"], x[1],
                                      w["deformable_conv/b"], pad=(1, 1), channel_last=True),
         macs=5 * 6 * 3 * 4 * 9, id="channel-last"),
    # divisor 3: output channel j sums input channels 3j..3j+2, i.e. a deconvolution with 2 groups of
    # one output map each. Output (2, 2*(3-1) + 3 - 2, 4 - 1 + 2*(2-1) + 1) = (2, 5, 6); macs = 72 * 6.
    Case("DepthwiseDeconvolution", [(6, 3, 4)],
         {"kernel_shape": [3, 2], "padding": [1, 0], "strides": [2, 1], "dilation": [1, 2], "divisor": 3},
         ref=lambda x, w: nnabla_call(F.deconvolution, x[0], w["depthwise_deconv/W"][:, None],
                                      w["depthwise_deconv/b"], pad=(1, 0), stride=(2, 1), dilation=(1, 2),
                                      group=2),
         macs=6 * 3 * 4 * 6),
    Case("DepthwiseDeconvolution", [(4, 7)],
         {"kernel_shape": [3], "padding": [0], "strides": [1], "dilation": [1], "divisor": 2, "with_bias": False},
         ref=lambda x, w: nnabla_call(F.deconvolution, x[0], w["depthwise_deconv/W"][:, None], None, group=2),
         macs=4 * 7 * 3, id="1d"),
    # kernels [4, 3] on an 8 x 9 image: output 5 x 7; the kernel inputs may be larger (up to 8 x 9)
    Case("AdaptiveSeparableConvolution", [(3, 8, 9), (4, 5, 7), (3, 6, 8)], {"kernel_shape": [4, 3]},
         ref=lambda x, w: adaptive_separable(*x), macs=3 * 5 * 7 * 12),
    Case("Embed", [(2, 3)], {"num_class": 5, "shape": [2, 4]}, make=indices(5),
         ref=lambda x, w: w["embed/W"][x[0].astype(int)]),
    Case("Embed", [(4,)], {"num_class": 3, "shape": 6, "parameter_scope": "emb"}, make=indices(3),
         ref=lambda x, w: w["embed/W"][x[0].astype(int)], id="vector"),

    # -- Quantize: binary weights are the signs of W (alpha: mean |W| per output). They cost what the
    # float layer costs: 6 inputs * 4 outputs = 24 multiply-adds here, 5 * 3 below.
    Case("BinaryConnectAffine", [(2, 3)], {"out_shape": [2, 2]},
         ref=lambda x, w: (x[0].reshape(3, 6) @ sign(w["bicon_affine/W"]).reshape(6, 4)).reshape(3, 2, 2)
         + w["bicon_affine/b"], macs=6 * 4),
    Case("BinaryWeightAffine", [(5,)], {"out_shape": 3, "with_bias": False},
         ref=lambda x, w: x[0] @ sign(w["bwn_affine/W"]) * np.abs(w["bwn_affine/W"]).mean(axis=0), macs=5 * 3),
    # same pads 1: output (4, (6 + 2 - 3) // 2 + 1, 5) = (4, 3, 5); macs = 60 outputs * 3 channels * 3*3.
    Case("BinaryConnectConvolution", [(3, 6, 5)],
         {"out_maps": 4, "kernel_shape": [3, 3], "border_mode": "same", "strides": [2, 1]},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], sign(w["bicon_conv/W"]), w["bicon_conv/b"],
                                      pad=(1, 1), stride=(2, 1)), macs=60 * 3 * 9),
    # valid, dilation 2: length 9 - 2*(3-1) = 5; macs = 3*5 outputs * 2 channels * 3 taps = 90.
    Case("BinaryWeightConvolution", [(2, 9)],
         {"out_maps": 3, "kernel_shape": [3], "strides": [1], "dilation": [2], "with_bias": False},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], sign(w["bwn_conv/W"])
                                      * np.abs(w["bwn_conv/W"]).mean(axis=(1, 2), keepdims=True), None,
                                      dilation=(2,)), macs=3 * 5 * 2 * 3),
    # the default 5x5 valid kernel: output (2, 2, 2); macs = 8 outputs * 2 channels * 25 = 400.
    Case("BinaryWeightConvolution", [(2, 6, 6)], {"out_maps": 2, "parameter_scope": "bwc"},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], sign(w["bwn_conv/W"])
                                      * np.abs(w["bwn_conv/W"]).mean(axis=(1, 2, 3), keepdims=True),
                                      w["bwn_conv/b"]), macs=8 * 2 * 25, id="defaults"),
    Case("BinarySigmoid", [(2, 3, 4)], ref=lambda x, w: (x[0] > 0).astype(np.float32), exact=True),
    Case("BinaryTanh", [(2, 3, 4)], ref=lambda x, w: np.where(x[0] > 0, 1, -1).astype(np.float32), exact=True),
    # signed 4 bits: multiples of 0.25 within +-1.75
    Case("FixedPointQuantize", [(4, 5)], {"n": 4, "delta": 0.25},
         ref=lambda x, w: fixed_point(x[0], True, 4, 0.25)),
    Case("FixedPointQuantize", [(4, 5)], {"sign": False, "n": 3, "delta": 0.5, "ste_fine_grained": False},
         ref=lambda x, w: fixed_point(x[0], False, 3, 0.5), id="unsigned"),
    Case("Pow2Quantize", [(4, 5)], {"with_zero": False, "n": 4, "m": 2},
         ref=lambda x, w: nnabla_call(F.pow2_quantize, x[0], sign=True, with_zero=False, n=4, m=2)),
    # the ranges and levels hold random values here; the quantizer itself is nnabla's
    Case("MinMaxQuantize", [(3, 4)], {"epsilon": 0.1},
         ref=lambda x, w: nnabla_call(F.min_max_quantize, x[0], *(w[f"min_max_quantize/{n}"] for n in
                                      ("qr_min", "qr_max", "ql_min", "ql_max")), eps=0.1)),
    # the moving average: training folds the batch's min and max into it, validation only reads it
    Case("MinMaxQuantize", [(3, 4)], {"x_min_max": True, "ema": True, "decay": 0.5},
         ref=lambda x, w: nnabla_call(F.min_max_quantize, x[0], *(w[f"min_max_quantize/{n}"] for n in
                                      ("qr_min", "qr_max", "ql_min", "ql_max")), decay=0.5, ema=True),
         train_ref=lambda x, w: nnabla_call(F.min_max_quantize, x[0], *(w[f"min_max_quantize/{n}"] for n in
                                            ("qr_min", "qr_max", "ql_min", "ql_max")),
                                            decay=0.5, x_min_max=True, ema=True),
         id="ema"),
    # the nntxt import reads every argument back: unsigned, and a batch range without the moving average
    Case("Pow2Quantize", [(4, 5)], {"sign": False, "n": 3, "m": 0, "ste_fine_grained": False},
         ref=lambda x, w: nnabla_call(F.pow2_quantize, x[0], sign=False, n=3, m=0, ste_fine_grained=False),
         id="unsigned"),
    Case("MinMaxQuantize", [(3, 4)], {"x_min_max": True, "ste_fine_grained": False},
         ref=lambda x, w: nnabla_call(F.min_max_quantize, x[0], *(w[f"min_max_quantize/{n}"] for n in
                                      ("qr_min", "qr_max", "ql_min", "ql_max")), x_min_max=True,
                                      ste_fine_grained=False),
         id="batch-range"),
    # without a bias the function has W and Wb only; 4 inputs * 2 outputs
    Case("BinaryConnectAffine", [(4,)], {"out_shape": 2, "with_bias": False},
         ref=lambda x, w: x[0] @ sign(w["bicon_affine/W"]), macs=4 * 2, id="no-bias"),
]
