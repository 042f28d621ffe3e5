"""Harness cases for the core layers (the first 35 of the registry)."""
from __future__ import annotations

import nnabla.functions as F
import numpy as np

from layer_case import (Case, at_label, batch_norm, huber, log_softmax, nnabla_call, sigmoid,  # noqa: F401
                        top_n_error)

# Axis numbers in `props` are NNC's (0 = first axis after the batch); NumPy and
# nnabla axes in the references include the batch axis, so they are one higher.
CASES = [
    Case("Input", [], {"size": [2, 5, 5], "dataset": "img"}),

    # -- Basic
    # Output (4, 4, 4): (7 + 2*1 - 3) // 2 + 1 = 4 rows, (8 + 2 - 3) // 2 + 1 = 4 columns.
    # macs = 64 outputs * (4 / group 2 = 2 input channels) * 3*3 kernel = 1152.
    Case("Convolution", [(4, 7, 8)],
         {"out_maps": 4, "kernel_shape": [3, 3], "strides": [2, 2], "padding": [1, 1], "group": 2},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], w["conv/W"], w["conv/b"],
                                      pad=(1, 1), stride=(2, 2), group=2),
         macs=4 * 4 * 4 * 2 * 9, id="strided-grouped"),
    # Channels last (6, 5, 4); border_mode full with dilation [2, 1] pads [2*(3-1), 1*(2-1)] = [4, 1]:
    # output (6 + 8 - 4 - 1 + 1, 5 + 2 - 1 - 1 + 1, 3) = (10, 6, 3); macs = 180 * 4 * 3*2 = 4320.
    Case("Convolution", [(6, 5, 4)],
         {"out_maps": 3, "kernel_shape": [3, 2], "border_mode": "full", "dilation": [2, 1],
          "channel_last": True, "with_bias": False, "parameter_scope": "shared/conv1"},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], w["conv/W"], None,
                                      pad=(4, 1), dilation=(2, 1), channel_last=True),
         macs=10 * 6 * 3 * 4 * 6, id="channel-last-full"),
    # A 1-D kernel on (2, 3, 10): the leading 2 is a sample axis (nnabla base_axis 2). border_mode same
    # pads 2 * (3-1) / 2 = 2 with dilation 2: length (10 + 4 - 4 - 1) // 2 + 1 = 5; macs = 2*4*5 * 3 * 3.
    Case("Convolution", [(2, 3, 10)],
         {"out_maps": 4, "kernel_shape": [3], "strides": [2], "dilation": [2]},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], w["conv/W"], w["conv/b"], base_axis=2,
                                      pad=(2,), stride=(2,), dilation=(2,)),
         macs=2 * 4 * 5 * 3 * 3, id="1d-leading-axis"),
    # border_mode same pads (3-1)/2 = 1: output (3*2, (6+2-3)//2+1, 5) = (6, 3, 5); macs = 90 * 9 = 810.
    # Depthwise with multiplier m is a grouped convolution, one group per input channel.
    Case("DepthwiseConvolution", [(3, 6, 5)],
         {"kernel_shape": [3, 3], "border_mode": "same", "strides": [2, 1], "multiplier": 2},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], w["depthwise_conv/W"][:, None],
                                      w["depthwise_conv/b"], pad=(1, 1), stride=(2, 1), group=3),
         macs=6 * 3 * 5 * 9),
    # 1-D kernel on (4, 9), no padding: length (9 - 2*(3-1) - 1) // 1 + 1 = 5; macs = 4*5 * 3 = 60.
    Case("DepthwiseConvolution", [(4, 9)],
         {"kernel_shape": [3], "strides": [1], "dilation": [2], "with_bias": False},
         ref=lambda x, w: nnabla_call(F.convolution, x[0], w["depthwise_conv/W"][:, None], None,
                                      dilation=(2,), group=4),
         macs=4 * 5 * 3, id="1d"),
    # Output: 2*(3-1) + (3-1) + 1 - 2*1 = 5 rows, 2*(4-1) + 3 - 2 = 7 columns.
    # Each of the 2*3*4 inputs feeds (4 / group 2) maps * 3*3 kernel positions: macs = 24 * 2 * 9 = 432.
    Case("Deconvolution", [(2, 3, 4)],
         {"out_maps": 4, "kernel_shape": [3, 3], "padding": [1, 1], "strides": [2, 2], "group": 2},
         ref=lambda x, w: nnabla_call(F.deconvolution, x[0], w["deconv/W"], w["deconv/b"],
                                      pad=(1, 1), stride=(2, 2), group=2),
         macs=2 * 3 * 4 * 2 * 9, id="strided-grouped"),
    # Channels last (3, 4, 2): rows 1*(3-1) + 2*(2-1) + 1 = 5, columns 2*(4-1) + 3 - 2*1 = 7.
    Case("Deconvolution", [(3, 4, 2)],
         {"out_maps": 3, "kernel_shape": [2, 3], "padding": [0, 1], "strides": [1, 2], "dilation": [2, 1],
          "channel_last": True, "with_bias": False},
         ref=lambda x, w: nnabla_call(F.deconvolution, x[0], w["deconv/W"], None, pad=(0, 1),
                                      stride=(1, 2), dilation=(2, 1), channel_last=True),
         macs=3 * 4 * 2 * 3 * 6, id="channel-last"),
    Case("Affine", [(2, 3, 4)], {"out_shape": [2, 3]},
         ref=lambda x, w: (x[0].reshape(len(x[0]), -1) @ w["affine/W"].reshape(24, 6)
                           + w["affine/b"].reshape(6)).reshape(len(x[0]), 2, 3),
         macs=24 * 6, id="multi-axis-out"),
    Case("Affine", [(5,)], {"out_shape": 7, "with_bias": False, "parameter_scope": "fc"},
         ref=lambda x, w: x[0] @ w["affine/W"], macs=5 * 7, id="no-bias"),

    # -- Pooling. With ignore_border false nnabla counts (w + pad - 1) // stride + 1 windows, which is
    # not the usual ceil mode: here (7 + 1 - 1) // 2 + 1 = 4 rows, (6 + 1 - 1) // 2 + 1 = 4 columns.
    Case("MaxPooling", [(2, 7, 6)],
         {"kernel_shape": [3, 3], "strides": [2, 2], "ignore_border": False, "padding": [1, 1]},
         ref=lambda x, w: nnabla_call(F.max_pooling, x[0], kernel=(3, 3), stride=(2, 2),
                                      ignore_border=False, pad=(1, 1))),
    Case("MaxPooling", [(5, 6, 2)],
         {"kernel_shape": [2, 2], "strides": [2, 1], "padding": [1, 0], "channel_last": True},
         ref=lambda x, w: nnabla_call(F.max_pooling, x[0], kernel=(2, 2), stride=(2, 1), pad=(1, 0),
                                      channel_last=True), id="channel-last"),
    # strides default to the kernel shape; (5 + 1 - 1) // 2 + 1 = 3 rows, where ceil mode would give 4
    Case("AveragePooling", [(2, 5, 7)],
         {"kernel_shape": [2, 3], "ignore_border": False, "padding": [1, 1], "including_pad": False},
         ref=lambda x, w: nnabla_call(F.average_pooling, x[0], kernel=(2, 3), stride=(2, 3),
                                      ignore_border=False, pad=(1, 1), including_pad=False)),
    Case("SumPooling", [(2, 5, 5)], {"kernel_shape": [2, 2], "strides": [1, 2], "ignore_border": False},
         ref=lambda x, w: nnabla_call(F.sum_pooling, x[0], kernel=(2, 2), stride=(1, 2),
                                      ignore_border=False)),
    Case("GlobalAveragePooling", [(3, 4, 5)],
         ref=lambda x, w: x[0].mean(axis=(2, 3), keepdims=True)),

    # -- Activation
    Case("ReLU", [(2, 3, 4)], ref=lambda x, w: np.maximum(x[0], 0)),
    Case("LeakyReLU", [(2, 3, 4)], {"alpha": 0.3}, ref=lambda x, w: np.where(x[0] > 0, x[0], 0.3 * x[0])),
    # one slope per channel of axis 1 (NumPy axis 2)
    # (nnabla writes a variable batch size by folding the axes before base_axis into the batch, so the
    # .nntxt's PReLU reads (3, 4) with base_axis 0)
    Case("PReLU", [(2, 3, 4)], {"base_axis": 1, "parameter_scope": "act"}, nntxt={"base_axis": 0},
         ref=lambda x, w: np.where(x[0] > 0, x[0], w["prelu/slope"].reshape(1, 1, 3, 1) * x[0])),
    Case("ELU", [(2, 3, 4)], {"alpha": 0.7},
         ref=lambda x, w: np.where(x[0] > 0, x[0], 0.7 * (np.exp(x[0]) - 1))),
    Case("SELU", [(2, 3, 4)], {"scale": 1.2, "alpha": 1.5},
         ref=lambda x, w: 1.2 * np.where(x[0] > 0, x[0], 1.5 * (np.exp(x[0]) - 1))),
    Case("Swish", [(2, 3, 4)], ref=lambda x, w: x[0] * sigmoid(x[0])),
    Case("Sigmoid", [(2, 3, 4)], ref=lambda x, w: sigmoid(x[0])),
    Case("Tanh", [(2, 3, 4)], ref=lambda x, w: np.tanh(x[0])),
    Case("Softmax", [(2, 3, 4)], {"axis": 1}, ref=lambda x, w: np.exp(log_softmax(x[0], axis=2))),
    Case("LogSoftmax", [(2, 3, 4)], {"axis": 2}, ref=lambda x, w: log_softmax(x[0], axis=3)),

    # -- Normalization: statistics per channel of axis 1; mean/var are set to known random values.
    # Training normalizes with the batch's own (biased) statistics over the batch and the other axes.
    Case("BatchNormalization", [(2, 3, 4)], {"axes": [1], "decay_rate": 0.5, "epsilon": 0.01},
         ref=lambda x, w: batch_norm(x[0], w["bn/mean"], w["bn/var"], w, 0.01),
         train_ref=lambda x, w: batch_norm(x[0], x[0].mean(axis=(0, 1, 3), keepdims=True),
                                           x[0].var(axis=(0, 1, 3), keepdims=True), w, 0.01)),
    # batch_stat false: running statistics in training too
    Case("BatchNormalization", [(4, 2)], {"batch_stat": False, "parameter_scope": "bn1"},
         ref=lambda x, w: batch_norm(x[0], w["bn/mean"], w["bn/var"], w, 0.0001), id="running-stats"),

    # -- Others
    Case("Dropout", [(4, 50)], {"p": 0.25, "seed": 7}, ref=lambda x, w: x[0], exact=True),
    # Monte Carlo dropout: still dropping outside training; a seeded nnabla call draws the same mask
    # (nnabla's Dropout function has no skip_at_test: an .nntxt loses it)
    Case("Dropout", [(4, 50)], {"p": 0.25, "seed": 7, "skip_at_test": False},
         ref=lambda x, w: nnabla_call(F.dropout, x[0], p=0.25, seed=7), nntxt={"skip_at_test": True},
         id="monte-carlo"),
    Case("Concatenate", [(2, 3, 4), (2, 1, 4), (2, 5, 4)], {"axis": 1},
         ref=lambda x, w: np.concatenate(x, axis=2), exact=True),
    Case("Reshape", [(2, 3, 4)], {"out_shape": [4, 6]},
         ref=lambda x, w: x[0].reshape(len(x[0]), 4, 6), exact=True),
    Case("Identity", [(2, 3)], ref=lambda x, w: x[0], exact=True),
    Case("Add2", [(2, 3, 4), (2, 3, 4)], {"in_place": True}, ref=lambda x, w: x[0] + x[1]),
    Case("Mul2", [(2, 3, 4), (2, 3, 4)], ref=lambda x, w: x[0] * x[1]),

    # -- Loss and validation: the last array is the target
    Case("SoftmaxCrossEntropy", [(2, 5, 3)], {"axis": 1, "target": "label"}, target="labels",
         ref=lambda x, w: -at_label(log_softmax(x[0], axis=2), x[1], axis=2)),
    Case("CategoricalCrossEntropy", [(3, 4)], {"axis": 1, "target": "label"}, data="prob", target="labels",
         ref=lambda x, w: -np.log(at_label(x[0], x[1], axis=2))),
    # stable form of -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))
    Case("SigmoidCrossEntropy", [(2, 3)], {"target": "flag"}, target="binary",
         ref=lambda x, w: np.maximum(x[0], 0) - x[0] * x[1] + np.log1p(np.exp(-np.abs(x[0])))),
    Case("BinaryCrossEntropy", [(2, 3)], {"target": "flag"}, data="prob", target="binary",
         ref=lambda x, w: -(x[1] * np.log(x[0]) + (1 - x[1]) * np.log(1 - x[0]))),
    Case("SquaredError", [(2, 3)], {"target": "t"}, target="real", ref=lambda x, w: (x[0] - x[1]) ** 2),
    Case("HuberLoss", [(2, 3)], {"delta": 0.5, "target": "t"}, target="real",
         ref=lambda x, w: huber(x[0] - x[1], 0.5)),
    Case("AbsoluteError", [(2, 3)], {"target": "t"}, target="real", ref=lambda x, w: np.abs(x[0] - x[1])),
    Case("TopNError", [(6, 2)], {"n": 2, "target": "label"}, target="labels",
         ref=lambda x, w: top_n_error(x[0], x[1], axis=1, n=2)),
    Case("BinaryError", [(2, 3)], {"target": "flag"}, data="prob", target="binary",
         ref=lambda x, w: ((x[0] >= 0.5) != (x[1] >= 0.5)).astype(np.float32)),
]

