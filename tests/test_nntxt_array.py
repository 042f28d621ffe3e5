"""The nntxt import of the array layers (array_ops.py, array_values.py) on what the harness cases do not
write: argument values with no NNC property are refused in one line, and nnabla's other spellings
(negative axes, lists over the batch axis) come back as the NNC property."""
from __future__ import annotations

import os
import re

import nnabla as nn
import nnabla.functions as F
import pytest
from google.protobuf import text_format
from nnabla.utils.save import create_proto
from test_layer_nntxt import import_layers

from nncgraph.errors import UserError
from nncgraph.layers import REGISTRY

BATCH = 2


def nntxt_of(function, shapes, folder) -> str:
    """The .nntxt nnabla writes for y = function(x0, x1, ...) over data of `shapes` (batch first)."""
    xs = [nn.Variable(s) for s in shapes]
    y = function(*xs)
    y = y[0] if isinstance(y, tuple) else y
    proto = create_proto({"networks": [{"name": "Main", "batch_size": BATCH, "outputs": {"y": y},
                                        "names": {f"x{i}": x for i, x in enumerate(xs)}}]},
                         include_params=False, variable_batch_size=True)
    path = os.path.join(folder, "layer.nntxt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text_format.MessageToString(proto))
    return path


# (id, nnabla function type, the function, data shapes, what the refusal names)
REFUSED = [
    ("tile-batch", "Tile", lambda x: F.tile(x, [2, 1, 3]), [(BATCH, 4, 5)], "reps [2, 1, 3] changes the batch axis"),
    ("tile-new-axes", "Tile", lambda x: F.tile(x, [2, 1, 1]), [(BATCH, 3)],
     "reps [2, 1, 1] covers more axes than the input's 2"),
    ("pad-batch", "Pad", lambda x: F.pad(x, (1, 0, 2, 2)), [(BATCH, 3)],
     "pad_width [1, 0, 2, 2] changes the batch axis"),
    ("flip-batch", "Flip", lambda x: F.flip(x, axes=[0, 2]), [(BATCH, 3, 4)], "axis 0 is the batch axis"),
    ("shift-batch", "Shift", lambda x: F.shift(x, shifts=(1, 0, 2)), [(BATCH, 3, 4)],
     "shifts [1, 0, 2] changes the batch axis"),
    ("interpolate-nearest", "Interpolate", lambda x: F.interpolate(x, output_size=(6, 8), mode="nearest"),
     [(BATCH, 3, 4, 5)], "mode nearest (NNC's Interpolate is linear only)"),
    ("interpolate-half-pixel", "Interpolate", lambda x: F.interpolate(x, output_size=(6, 8), half_pixel=True),
     [(BATCH, 3, 4, 5)], "half_pixel true"),
    ("interpolate-channel-last", "Interpolate",
     lambda x: F.interpolate(x, output_size=(6, 8), channel_last=True), [(BATCH, 4, 5, 3)], "channel_last true"),
    # nnabla's default axes are all of them, the batch axis too
    ("clip-grad-by-norm-batch", "ClipGradByNorm", lambda x: F.clip_grad_by_norm(x, 1.0), [(BATCH, 3)],
     "axis 0 is the batch axis"),
    ("top-k-data-smallest", "TopKData", lambda x: F.top_k_data(x, 2, largest=False), [(BATCH, 5)],
     "largest false"),
    ("top-k-data-with-index", "TopKData", lambda x: F.top_k_data(x, 2, with_index=True), [(BATCH, 5)],
     "with_index true"),
    ("top-k-data-batch", "TopKData", lambda x: F.top_k_data(x, 2, base_axis=0), [(BATCH, 5)],
     "base_axis 0 takes the batch axis into each sample"),
    ("top-k-grad-batch", "TopKGrad", lambda x: F.top_k_grad(x, 2, base_axis=0), [(BATCH, 5)],
     "base_axis 0 takes the batch axis into each sample"),
    ("sort-with-index", "Sort", lambda x: F.sort(x, with_index=True), [(BATCH, 5)], "with_index true"),
    ("vat-noise-batch", "VATNoise", lambda x, w: F.vat_noise(x, w, base_axis=0), [(BATCH, 3), (BATCH, 3)],
     "base_axis 0 takes the batch axis into each sample"),
]


@pytest.mark.parametrize("kind, function, shapes, why", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_an_argument_value_with_no_nnc_property_is_refused_in_one_line(kind, function, shapes, why, tmp_path):
    with pytest.raises(UserError, match=f"cannot import function .*\\({kind}\\): {re.escape(why)}") as info:
        import_layers(nntxt_of(function, shapes, str(tmp_path)), str(tmp_path))
    assert "\n" not in str(info.value)


# (id, the function, data shapes, the layer it comes back as)
SPELLINGS = [
    # negative axes count from the end
    ("flip-negative", lambda x: F.flip(x, axes=[-1, 1]), [(BATCH, 3, 4)], ("Flip", {"axes": [1, 0]})),
    ("sort-negative", lambda x: F.sort(x), [(BATCH, 3, 4)], ("Sort", {"axis": 1})),
    ("clip-grad-by-norm-negative", lambda x: F.clip_grad_by_norm(x, 0.5, axes=[-1]), [(BATCH, 3, 4)],
     ("ClipGradByNorm", {"clip_norm": 0.5, "axes": [1]})),
    # lists over every axis lose the batch axis and the leading axes they leave alone
    ("tile-every-axis", lambda x: F.tile(x, [1, 1, 3]), [(BATCH, 4, 5)], ("Tile", {"reps": [3]})),
    ("pad-every-axis", lambda x: F.pad(x, (0, 0, 0, 0, 1, 2)), [(BATCH, 3, 4)], ("Pad", {"pad_width": [1, 2]})),
    ("shift-last-axis", lambda x: F.shift(x, shifts=(2,)), [(BATCH, 3, 4)], ("Shift", {"shift": [2]})),
    ("sort-index", lambda x: F.sort(x, axis=1, with_index=True, only_index=True), [(BATCH, 3, 4)],
     ("Sort", {"axis": 0, "only_index": True})),
]


@pytest.mark.parametrize("function, shapes, expected", [s[1:] for s in SPELLINGS], ids=[s[0] for s in SPELLINGS])
def test_another_nnabla_spelling_comes_back_as_the_nnc_property(function, shapes, expected, tmp_path):
    back, = import_layers(nntxt_of(function, shapes, str(tmp_path)), str(tmp_path))
    kind, props = expected
    assert back.type == kind
    resolved = REGISTRY[kind].resolve(back.props, back.name)     # the import leaves defaults out
    assert {k: resolved[k] for k in props} == props
