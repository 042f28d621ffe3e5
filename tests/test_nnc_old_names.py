"""NNC issue 13, item 6: older names NNC still loads. nnabla's loader reads the initializers
`NormalConvolutionHe`, `NormalAffineHe` and `NormalCLConvHe` as the He-forward ones they were renamed
to; an .sdcproj (or YAML) that carries them imports, checks and initializes exactly as the new names."""
from __future__ import annotations

import numpy as np
import pytest

from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import derive
from nncgraph.layers import REGISTRY
from nncgraph.project.load import parse_project
from sdcproj_text import sdcproj
from test_import_sdcproj import assert_shapes_match_nnabla
from test_import_sdcproj_fixtures import CLASSIFIER, checked, imported, settings


def _with_initializers(conv: str, affine: str):
    layers = [list(layer) for layer in CLASSIFIER]
    layers[1][2] = {**layers[1][2], "W.Initializer": conv}
    layers[4][2] = {**layers[4][2], "W.Initializer": affine}
    return [tuple(layer) for layer in layers]


def _initial_parameters(project):
    """The parameters nnabla creates for the training network, from one fixed NumPy seed."""
    import nnabla as nn

    from nncgraph.engines.nnabla.graph import compile_graph

    nn.clear_parameters()
    nn.random.seed(7)     # nnabla's initializers draw from nnabla.random.prng
    compile_graph(infer(derive(network_graph(project, "Main"), "training"), "training"), batch_size=2)
    values = {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}
    nn.clear_parameters()
    return values


@pytest.mark.parametrize("old, new", [("NormalConvolutionHe", "NormalConvolutionHeForward"),
                                      ("NormalAffineHe", "NormalAffineHeForward")])
def test_an_old_initializer_name_is_the_he_forward_initializer(old, new):
    prop = REGISTRY["Convolution" if "Convolution" in old else "Affine"].props["w_initializer"]
    assert prop.coerce(old) == new
    assert old in prop.json_schema()["enum"]


def test_a_project_with_the_old_names_imports_checks_and_initializes_as_the_new_ones(tmp_path):
    old = _with_initializers("NormalConvolutionHe", "NormalAffineHe")
    new = _with_initializers("NormalConvolutionHeForward", "NormalAffineHeForward")
    _, project, _ = imported(tmp_path, sdcproj({"Main": old}, settings(), single=True), stem="old")
    _, renamed, _ = imported(tmp_path, sdcproj({"Main": new}, settings(), single=True), stem="new")
    layers = {spec.name: spec for spec in project.networks["Main"]}
    assert REGISTRY["Convolution"].resolve(layers["Convolution"].props, "Convolution")["w_initializer"] == \
        "NormalConvolutionHeForward"
    assert checked(project)[1]["total_params"] == 40 + 195
    assert_shapes_match_nnabla(project)
    got, want = _initial_parameters(project), _initial_parameters(renamed)
    assert sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want)
    # and He-forward it is: the convolution's std is sqrt(2 / (input maps x kernel taps)) = sqrt(2/9)
    w = got["Convolution/conv/W"]
    assert w.shape == (4, 1, 3, 3) and 0.2 < w.std() < 0.8


def test_a_name_nnc_never_had_still_lists_the_options(tmp_path):
    text = ("name: t\nnetwork:\n  - {type: Input, size: [1, 4, 4], dataset: x}\n"
            "  - {type: Convolution, out_maps: 2, kernel_shape: [3, 3], w_initializer: NormalConvolutionHi}\n")
    with pytest.raises(UserError, match="NormalConvolutionHeForward") as info:
        parse_project(text, str(tmp_path / "t.yaml"))
    assert "NormalConvolutionHi" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.e2e      # the learning curve's plot starts matplotlib's font lookup
def test_a_project_with_the_old_names_trains(tmp_path):
    from nnc_fixture_run import train_fixture

    rows = train_fixture(tmp_path, sdcproj({"Main": _with_initializers("NormalConvolutionHe", "NormalAffineHe")},
                                           settings(), single=True))
    assert rows[0]["cost"] > 0
