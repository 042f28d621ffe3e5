"""The nntxt import refuses, in one line naming it, an argument value of a convolution variant or quantizer
that no NNC property holds; the same function with the value NNC uses imports as the layer.

Each network is one nnabla function written by create_proto as `nncgraph export` writes it (variable
batch size, no parameter values), then read back by the import.
"""
from __future__ import annotations

import logging

logging.getLogger("nnabla").setLevel(logging.WARNING)   # before nnabla's first import

import os

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import numpy as np
import pytest
from google.protobuf import text_format

from test_layer_nntxt import import_layers

from nncgraph.errors import UserError

BATCH = 2


def export(function, sample_shape, folder) -> str:
    """An .nntxt of network Main: y = function(x) for a data variable x of the sample shape."""
    from nnabla.utils.save import create_proto

    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(BATCH, *sample_shape).astype(np.float32))
    with nn.parameter_scope("layer"):
        y = function(x)
    proto = create_proto({"networks": [{"name": "Main", "batch_size": BATCH, "outputs": {"y": y},
                                        "names": {"x": x}}]}, include_params=False, variable_batch_size=True)
    path = os.path.join(folder, "layer.nntxt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text_format.MessageToString(proto))
    return path


def grouped(function, scope, x, group, names):
    """A grouped binary convolution of 4 maps with a 3x3 kernel: PF's binary convolutions give W no group,
    so the parameters (W, Wb, alpha of (4, channels / group, 3, 3) or (4,), then b) are made here."""
    shapes = {"W": (4, x.shape[1] // group, 3, 3), "Wb": (4, x.shape[1] // group, 3, 3), "alpha": (4,), "b": (4,)}
    with nn.parameter_scope(scope):
        params = [nn.parameter.get_parameter_or_create(n, shapes[n]) for n in names + ["b"]]
    return function(x, *params, group=group)


# (id, layer type, sample shape, the function with a value NNC has no property for, with NNC's value, message)
REFUSALS = [
    ("binary-connect-affine-zero-to", "BinaryConnectAffine", (3,),
     lambda x, **kw: PF.binary_connect_affine(x, 2, **kw), {"quantize_zero_to": 0.0}, {"quantize_zero_to": 1.0},
     "quantize_zero_to 0 .NNC's BinaryConnectAffine has no such property: it binarizes zero weights to \\+1."),
    ("binary-weight-affine-zero-to", "BinaryWeightAffine", (3,),
     lambda x, **kw: PF.binary_weight_affine(x, 2, **kw), {"quantize_zero_to": -1.0}, {},
     "quantize_zero_to -1 .NNC's BinaryWeightAffine has no such property"),
    ("binary-connect-convolution-zero-to", "BinaryConnectConvolution", (2, 5, 5),
     lambda x, **kw: PF.binary_connect_convolution(x, 2, (3, 3), **kw), {"quantize_zero_to": 0.5}, {},
     "quantize_zero_to 0.5 .NNC's BinaryConnectConvolution has no such property"),
    ("binary-weight-convolution-zero-to", "BinaryWeightConvolution", (2, 5, 5),
     lambda x, **kw: PF.binary_weight_convolution(x, 2, (3, 3), **kw), {"quantize_zero_to": 0.0}, {},
     "quantize_zero_to 0 .NNC's BinaryWeightConvolution has no such property"),
    ("binary-connect-convolution-group", "BinaryConnectConvolution", (4, 5, 5),
     lambda x, group=1: grouped(F.binary_connect_convolution, "bicon_conv", x, group, ["W", "Wb"]), {"group": 2},
     {"group": 1}, "group 2 .NNC's BinaryConnectConvolution has no group property."),
    ("binary-weight-convolution-group", "BinaryWeightConvolution", (4, 5, 5),
     lambda x, group=1: grouped(F.binary_weight_convolution, "bwn_conv", x, group, ["W", "Wb", "alpha"]),
     {"group": 4}, {}, "group 4 .NNC's BinaryWeightConvolution has no group property."),
    ("pow2-negative-m", "Pow2Quantize", (4,),
     lambda x, **kw: F.pow2_quantize(x, **kw), {"m": -2}, {"m": 0},
     "m -2 .NNC's Pow2Quantize takes a largest exponent of 0 or more."),
]


@pytest.mark.parametrize("kind, shape, function, refused, accepted, message",
                         [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_argument_without_an_nnc_property_is_refused_in_one_line(kind, shape, function, refused, accepted,
                                                                 message, tmp_path):
    with pytest.raises(UserError, match=f"cannot import function .*\\({kind}\\): {message}") as info:
        import_layers(export(lambda x: function(x, **refused), shape, str(tmp_path)), str(tmp_path))
    assert "\n" not in str(info.value)
    back, = import_layers(export(lambda x: function(x, **accepted), shape, str(tmp_path)), str(tmp_path))
    assert back.type == kind


def test_binary_layers_without_a_bias_come_back_without_one(tmp_path):
    """W, Wb and BinaryWeight's alpha come before the bias: a bias is there only beyond them."""
    found = {}
    for kind, function in [("BinaryWeightAffine", lambda x, b: PF.binary_weight_affine(x, 3, with_bias=b)),
                           ("BinaryConnectConvolution",
                            lambda x, b: PF.binary_connect_convolution(x, 2, (1, 1), with_bias=b))]:
        for bias in (True, False):
            back, = import_layers(export(lambda x: function(x, bias), (2, 3, 3), str(tmp_path)), str(tmp_path))
            found[kind, bias] = (back.type, back.props.get("with_bias", True))
    assert found == {("BinaryWeightAffine", True): ("BinaryWeightAffine", True),
                     ("BinaryWeightAffine", False): ("BinaryWeightAffine", False),
                     ("BinaryConnectConvolution", True): ("BinaryConnectConvolution", True),
                     ("BinaryConnectConvolution", False): ("BinaryConnectConvolution", False)}


def test_min_max_quantize_reads_eps_as_epsilon(tmp_path):
    back, = import_layers(export(lambda x: PF.min_max_quantize(x, eps=0.25, decay=0.75, x_min_max=True),
                                 (3,), str(tmp_path)), str(tmp_path))
    assert (back.type, back.props["epsilon"], back.props["decay"], back.props["x_min_max"]) == \
        ("MinMaxQuantize", 0.25, 0.75, True)
