"""One harness for every registered layer: shapes, parameters, values, YAML round trip and cost.

Each entry of CASES is one example use of a layer (input shapes without the batch
axis, non-default properties, a reference). For every case the harness checks:

1. `infer_shape` and `parameters` agree with what nnabla builds when `emit` runs;
2. the emitted graph computes what a direct nnabla call or NumPy computes, in the
   validation and the training variant;
3. the layer survives parse -> render -> parse -> render unchanged;
4. `macs` equals a hand-computed number (Convolution, Affine, Deconvolution,
   DepthwiseConvolution).

A layer added to the registry without a case here fails `test_every_layer_has_a_case`.
"""
from __future__ import annotations

import logging

logging.getLogger("nnabla").setLevel(logging.WARNING)   # before nnabla's first import

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest
import yaml

from nncgraph.compile.nnabla_graph import compile_graph, emit_context
from nncgraph.errors import ShapeError
from nncgraph.graph.ir import build_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.layers import REGISTRY
from nncgraph.project.load import parse_project
from nncgraph.project.render import render_yaml

BATCH = 3
LAYER_NAME = "layer"            # the layer under test; its default parameter_scope
RTOL, ATOL = 1e-5, 1e-6
COSTED = ("Convolution", "Affine", "Deconvolution", "DepthwiseConvolution")

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
    target: str = ""             # losses: "labels", "binary" (0/1) or "real"
    macs: Optional[int] = None   # hand-computed multiply-adds per sample
    exact: bool = False          # the output must equal the reference bit for bit
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


# -- the cases ----------------------------------------------------------------
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
         ref=lambda x, w: (x[0].reshape(BATCH, -1) @ w["affine/W"].reshape(24, 6)
                           + w["affine/b"].reshape(6)).reshape(BATCH, 2, 3),
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
    Case("PReLU", [(2, 3, 4)], {"base_axis": 1, "parameter_scope": "act"},
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
    Case("Concatenate", [(2, 3, 4), (2, 1, 4), (2, 5, 4)], {"axis": 1},
         ref=lambda x, w: np.concatenate(x, axis=2), exact=True),
    Case("Reshape", [(2, 3, 4)], {"out_shape": [4, 6]},
         ref=lambda x, w: x[0].reshape(BATCH, 4, 6), exact=True),
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

EMITTED = [c for c in CASES if REGISTRY[c.type].role != "input"]


def cases(selection):
    return pytest.mark.parametrize("case", selection, ids=str)


# -- building one case ----------------------------------------------------------
def resolved_props(case: Case) -> Dict[str, Any]:
    layer = REGISTRY[case.type]
    coerced = {k: layer.props[k].coerce(v) for k, v in case.props.items()}
    return layer.resolve(coerced, LAYER_NAME)


def make_inputs(case: Case, props, rng) -> Arrays:
    """Random batched inputs, plus the target for losses (shaped by the layer's target_shape)."""
    layer = REGISTRY[case.type]
    if case.data == "prob":
        xs = [rng.uniform(0.05, 0.95, (BATCH, *s)) for s in case.inputs]
    else:
        xs = [rng.randn(BATCH, *s) for s in case.inputs]
    if layer.role in ("loss", "metric"):
        shape = (BATCH, *layer.target_shape(tuple(case.inputs[0]), props))
        if case.target == "labels":
            xs.append(rng.randint(0, layer.n_classes(tuple(case.inputs[0]), props), shape))
        elif case.target == "binary":
            xs.append(rng.randint(0, 2, shape))
        else:
            xs.append(rng.randn(*shape))
    return [x.astype(np.float32) for x in xs]


@dataclass
class Built:
    props: Dict[str, Any]
    xs: Arrays
    y: Any                      # the emitted nnabla variable
    params: Dict[str, Any]      # every nnabla parameter, by full name

    def values(self) -> Params:
        """Parameter values by name under the layer's scope (copies, taken before any forward)."""
        scope = self.props.get("parameter_scope")
        return {name[len(scope) + 1:]: v.d.copy() for name, v in self.params.items()}


def build(case: Case, train: bool) -> Built:
    """Emit the layer on fresh random inputs, then give every parameter known random values."""
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    props = resolved_props(case)
    xs = make_inputs(case, props, rng)
    variables = [nn.Variable.from_numpy_array(x) for x in xs]
    layer, ctx = REGISTRY[case.type], emit_context(train)
    scope = props.get("parameter_scope")
    if scope:
        with nn.parameter_scope(scope):
            y = layer.emit(ctx, variables, props)
    else:
        y = layer.emit(ctx, variables, props)
    params = dict(nn.get_parameters(grad_only=False))
    for name, v in params.items():   # variances must stay positive
        v.d = rng.uniform(0.5, 1.5, v.shape) if name.endswith("bn/var") else rng.randn(*v.shape)
    return Built(props, xs, y, params)


# -- 0. coverage ------------------------------------------------------------------
@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_every_layer_has_a_case(type_name):
    assert any(c.type == type_name for c in CASES), f"add a Case for {type_name} to CASES"
    if type_name in COSTED:
        assert all(c.macs is not None for c in CASES if c.type == type_name)


def test_cases_name_registered_layers():
    assert {c.type for c in CASES} <= set(REGISTRY)
    assert len({str(c) for c in CASES}) == len(CASES), "give cases of one layer distinct ids"


# -- 1. shapes and parameters ------------------------------------------------------
@cases(EMITTED)
@pytest.mark.parametrize("train", [False, True], ids=["validation", "training"])
def test_shape_and_parameters_match_nnabla(case, train):
    layer = REGISTRY[case.type]
    built = build(case, train)
    in_shapes = [tuple(s) for s in case.inputs]
    assert built.y.shape == (BATCH, *layer.infer_shape(in_shapes, built.props))

    scope = built.props.get("parameter_scope")
    specs = layer.parameters(in_shapes, built.props)
    expected = {f"{scope}/{p.name}": (tuple(p.shape), p.trainable) for p in specs}
    actual = {name: (tuple(v.shape), v.need_grad) for name, v in built.params.items()}
    assert actual == expected
    assert (sum(p.size for p in specs if p.trainable)
            == sum(v.size for v in built.params.values() if v.need_grad))


def test_input_layer_creates_the_data_variable():
    case = next(c for c in CASES if c.type == "Input")
    props = resolved_props(case)
    assert REGISTRY["Input"].infer_shape([], props) == (2, 5, 5)
    project = parse_project(project_text(case), "case.yaml")
    inferred = infer(build_graph("Main", project.networks["Main"]), "validation")
    compiled = compile_graph(inferred, BATCH)
    assert compiled.inputs["img"].shape == (BATCH, 2, 5, 5)
    assert compiled.outputs[LAYER_NAME] is compiled.inputs["img"]


# Kernels nnabla refuses when it builds the graph: the shape rule must refuse them first, so that
# `nncgraph check` reports them instead of the compiler failing inside nnabla.
@pytest.mark.parametrize("type_name, in_shape, props", [
    ("MaxPooling", (3, 8), {"kernel_shape": [2], "padding": [0]}),
    ("AveragePooling", (3, 8), {"kernel_shape": [2], "padding": [0]}),
    ("SumPooling", (2, 4, 4, 4, 4), {"kernel_shape": [2, 2, 2, 2], "padding": [0, 0, 0, 0]}),
    ("DepthwiseConvolution", (2, 5, 5, 5), {"kernel_shape": [3, 3, 3], "strides": [1, 1, 1],
                                            "dilation": [1, 1, 1]}),
], ids=["MaxPooling-1d", "AveragePooling-1d", "SumPooling-4d", "DepthwiseConvolution-3d"])
def test_shape_rule_rejects_what_nnabla_cannot_build(type_name, in_shape, props):
    layer = REGISTRY[type_name]
    p = layer.resolve({k: layer.props[k].coerce(v) for k, v in props.items()}, LAYER_NAME)
    with pytest.raises(ShapeError):
        layer.infer_shape([in_shape], p)
    nn.clear_parameters()
    with nn.parameter_scope(LAYER_NAME), pytest.raises(RuntimeError):
        layer.emit(emit_context(train=False), [nn.Variable((BATCH, *in_shape))], p)


# -- 2. values -----------------------------------------------------------------------
# nnabla's CPU kernels of convolution, deconvolution and pooling reject channel_last at forward
# time (setup and shapes work), so those values are checked only where a GPU context exists.
NO_CPU_FORWARD = pytest.mark.xfail(raises=RuntimeError, strict=True,
                                   reason="nnabla has no channel_last convolution/pooling on CPU")


def value_params():
    """(case, train) pairs; Dropout's random training output is checked by test_dropout_training."""
    for c in EMITTED:
        for train in (False, True):
            if not (train and c.type == "Dropout"):
                marks = [NO_CPU_FORWARD] if c.props.get("channel_last") else []
                yield pytest.param(c, train, id=f"{c}-{'training' if train else 'validation'}", marks=marks)


@pytest.mark.parametrize("case, train", list(value_params()))
def test_values_match_reference(case, train):
    built = build(case, train)
    values = built.values()       # before forward: BatchNormalization updates its running statistics
    if built.y.parent is not None:  # Dropout's validation variant returns its input variable itself
        built.y.forward()
    ref = case.train_ref if train and case.train_ref else case.ref
    expected = ref([x.astype(np.float64) if not case.exact else x for x in built.xs],
                   {k: v.astype(np.float64) for k, v in values.items()})
    if case.exact:
        np.testing.assert_array_equal(built.y.d, expected)
    else:
        np.testing.assert_allclose(built.y.d, expected, rtol=RTOL, atol=ATOL)


def test_dropout_training():
    case = next(c for c in CASES if c.type == "Dropout")
    built = build(case, train=True)
    built.y.forward()
    x, y, p = built.xs[0], built.y.d, case.props["p"]
    dropped = y == 0
    assert 0.1 < dropped.mean() < 0.4           # about p = 0.25 of the 600 values
    np.testing.assert_allclose(y[~dropped], x[~dropped] / (1 - p), rtol=RTOL, atol=ATOL)


def test_batch_normalization_training_updates_running_mean():
    case = next(c for c in CASES if c.type == "BatchNormalization")
    built = build(case, train=True)
    old = built.values()["bn/mean"]
    built.y.forward()
    batch_mean = built.xs[0].mean(axis=(0, 1, 3), keepdims=True)
    decay = case.props["decay_rate"]    # running = decay * running + (1 - decay) * batch
    running = built.params[f"{LAYER_NAME}/bn/mean"].d
    np.testing.assert_allclose(running, decay * old + (1 - decay) * batch_mean, rtol=RTOL, atol=ATOL)


# -- 3. YAML round trip ----------------------------------------------------------------
def project_text(case: Case) -> str:
    """A one-network project: one Input per input, then the layer under test."""
    network = [{"type": "Input", "name": f"in{i}", "size": list(s), "dataset": f"x{i}"}
               for i, s in enumerate(case.inputs)]
    entry = {"type": case.type, "name": LAYER_NAME}
    if len(case.inputs) > 1:
        entry["input"] = [n["name"] for n in network]
    network.append({**entry, **case.props})
    return yaml.safe_dump({"name": "case", "network": network}, sort_keys=False, default_flow_style=None)


def layer_props(project) -> Dict[str, Any]:
    spec = next(s for s in project.networks["Main"] if s.name == LAYER_NAME)
    return REGISTRY[spec.type].resolve(spec.props, spec.name)


@cases(CASES)
def test_yaml_round_trip(case):
    first = parse_project(project_text(case), "case.yaml")
    assert layer_props(first) == resolved_props(case)
    rendered = render_yaml(first)
    second = parse_project(rendered, "case.yaml")
    assert render_yaml(second) == rendered
    assert layer_props(second) == layer_props(first)


# -- 4. cost -----------------------------------------------------------------------------
@cases([c for c in CASES if c.macs is not None])
def test_macs(case):
    layer = REGISTRY[case.type]
    props = resolved_props(case)
    in_shapes = [tuple(s) for s in case.inputs]
    assert layer.macs(in_shapes, layer.infer_shape(in_shapes, props), props) == case.macs
