"""The nntxt import refuses, in one line naming the argument, the normalization and pre-process
functions whose argument values no NNC property holds.

Each .nntxt is written by nnabla's create_proto from a one-function graph made with nnabla's own
functions. Where nnabla itself refuses the value when building the graph (FusedBatchNormalization
knows only relu), the written argument is changed before the file is written, as another writer
could have written it.
"""
from __future__ import annotations

import os

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import pytest
from google.protobuf import text_format

from test_layer_harness import BATCH
from test_layer_nntxt import import_layers

from nncgraph.errors import UserError


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def write_nntxt(folder, make, *sample_shape, variable_batch_size=True, edit=None) -> str:
    """The .nntxt of y = make(x) for one input x of (BATCH, *sample_shape)."""
    from nnabla.utils.save import create_proto

    x = nn.Variable((BATCH, *sample_shape))
    with nn.parameter_scope("layer"):
        y = make(x)
    proto = create_proto({"networks": [{"name": "Main", "batch_size": BATCH, "outputs": {"y": y},
                                        "names": {"x0": x}}]},
                         include_params=False, variable_batch_size=variable_batch_size)
    function, = proto.network[0].function
    if edit:
        edit(getattr(function, function.WhichOneof("parameter")))
    path = os.path.join(folder, "layer.nntxt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text_format.MessageToString(proto))
    return path


def refusal(path, folder) -> str:
    with pytest.raises(UserError) as info:
        import_layers(path, folder)
    message = str(info.value)
    assert "\n" not in message
    return message


def set_nonlinearity(args):
    args.nonlinearity = "sigmoid"


# name: (the graph, its input sample shape, write_nntxt options, the function type, what the refusal says)
REFUSED = {
    "fused-bn-nonlinearity": (
        lambda x: PF.fused_batch_normalization(x), (2, 3), {"edit": set_nonlinearity},
        "FusedBatchNormalization", "nonlinearity 'sigmoid'"),
    "group-no-scale": (
        lambda x: PF.group_normalization(x, 2, no_scale=True), (4, 3), {},
        "GroupNormalization", "no_scale/no_bias"),
    "instance-no-bias": (
        lambda x: PF.instance_normalization(x, no_bias=True), (2, 3), {},
        "InstanceNormalization", "no_scale/no_bias"),
    "layer-no-scale": (
        lambda x: PF.layer_normalization(x, no_scale=True), (2, 3), {},
        "LayerNormalization", "no_scale/no_bias"),
    # two sample axes beside the batch axis: NNC's BatchAxis holds one
    "layer-two-batch-axes": (
        lambda x: PF.layer_normalization(x, batch_axis=[0, 1, 2]), (2, 3, 4), {},
        "LayerNormalization", "batch_axis [0, 1, 2]"),
    # statistics across the minibatch: the batch axis is not among nnabla's batch axes
    "group-batch-axis-without-batch": (
        lambda x: PF.group_normalization(x, 2, channel_axis=1, batch_axis=2), (4, 3), {},
        "GroupNormalization", "batch_axis [2]"),
    "instance-batch-axis-without-batch": (
        lambda x: PF.instance_normalization(x, batch_axis=[2]), (2, 3), {},
        "InstanceNormalization", "batch_axis [2]"),
    # nnabla accepts a shape with the batch size in front
    "crop-shape-with-batch": (
        lambda x: F.random_crop(x, shape=(BATCH, 2, 4, 5), seed=1), (2, 6, 7), {},
        "RandomCrop", f"shape [{BATCH}, 2, 4, 5] for input [2, 6, 7] names the batch axis"),
    "augmentation-shape-with-batch": (
        lambda x: F.image_augmentation(x, shape=(BATCH, 2, 4, 5), seed=1), (2, 6, 7), {},
        "ImageAugmentation", f"shape [{BATCH}, 2, 4, 5] for input [2, 6, 7] names the batch axis"),
    "shift-constant": (
        lambda x: F.random_shift(x, shifts=(1, 1), border_mode="constant", constant_value=0.5, seed=1), (5, 6), {},
        "RandomShift", "border_mode 'constant'"),
    # a shift along the batch axis mixes samples
    "shift-batch-axis": (
        lambda x: F.random_shift(x, shifts=(2, 0, 1), seed=1), (5, 6), {},
        "RandomShift", "shifts [2, 0, 1] for input [5, 6] shift the batch axis"),
    # nnabla's writer keeps a base_axis of 0 (it folds only axes before a larger one into the batch)
    "mean-subtraction-base-axis-0": (
        lambda x: PF.mean_subtraction(x, base_axis=0), (2, 3), {},
        "MeanSubtraction", "base_axis 0"),
    # a fixed batch size keeps base_axis 2 as written
    "flip-base-axis": (
        lambda x: F.random_flip(x, axes=[2], base_axis=2, seed=1), (2, 3), {"variable_batch_size": False},
        "RandomFlip", "base_axis 2"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_argument_without_an_nnc_property_is_refused_in_one_line(name, tmp_path):
    make, shape, options, kind, says = REFUSED[name]
    message = refusal(write_nntxt(str(tmp_path), make, *shape, **options), str(tmp_path))
    assert f"cannot import function '@Main/{kind}' ({kind}): {says}" in message, message


def test_shifts_naming_the_batch_axis_with_zero_come_back_without_it(tmp_path):
    """nnabla's default shifts name every axis, the batch axis with 0: that entry shifts nothing."""
    back, = import_layers(write_nntxt(str(tmp_path), lambda x: F.random_shift(x, shifts=(0, 1, 2), seed=4), 5, 6),
                          str(tmp_path))
    assert (back.type, back.props["shift"], back.props["seed"]) == ("RandomShift", [1, 2], 4)


def test_norm_normalization_without_axes_takes_every_axis(tmp_path):
    """An empty axes list reduces every axis in nnabla: NNC's -1 (the batch axis) and the sample axes."""
    def no_axes(args):
        del args.axes[:]
    path = write_nntxt(str(tmp_path), lambda x: F.norm_normalization(x, axes=[1]), 2, 3, edit=no_axes)
    back, = import_layers(path, str(tmp_path))
    assert (back.type, back.props["axes"]) == ("NormNormalization", [-1, 0, 1])
