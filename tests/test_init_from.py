"""Transfer learning with init_from: parameters by name from another run, shapes checked, frozen or not."""
from __future__ import annotations

import os

import nnabla as nn
import numpy as np

import pytest

from conftest import run_cli, tiny_project, write_digits

pytestmark = pytest.mark.e2e

PRETRAIN = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, name: features, out_maps: 4, kernel_shape: [3, 3]}
  - {type: ReLU}
  - {type: Affine, name: head, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def params(path):
    nn.clear_parameters()
    nn.load_parameters(str(path))
    return {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}


def test_fine_tune_a_frozen_feature_layer_with_a_new_head(tmp_path):
    write_digits(str(tmp_path / "d"), n=24)
    pre = tiny_project(str(tmp_path), "d/data.csv", network=PRETRAIN, epochs=3)
    assert run_cli("run", pre, "-o", tmp_path / "pre")[0] == 0
    target = tmp_path / "fine"
    target.mkdir()
    write_digits(str(target / "d"), n=12, seed=5)
    project = tiny_project(str(target), "d/data.csv", epochs=2, network="""
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Convolution, name: features, out_maps: 4, kernel_shape: [3, 3],
             w_lrate_multiplier: 0, b_lrate_multiplier: 0}
          - {type: ReLU}
          - {type: Affine, name: new_head, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        """, extra="init_from: {path: ../pre, map: {'features/*': 'features/*'}}\n")
    status, out, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    assert "init_from: 2 parameters loaded" in out
    source, tuned = params(tmp_path / "pre" / "checkpoints" / "last.h5"), params(tmp_path / "run" / "checkpoints" /
                                                                                   "last.h5")
    for name in ("features/conv/W", "features/conv/b"):
        assert np.array_equal(tuned[name], source[name])        # loaded, then frozen
    assert "new_head/affine/W" in tuned and "head/affine/W" not in tuned


def test_init_from_shape_mismatch_and_unknown_names(tmp_path):
    write_digits(str(tmp_path / "d"), n=12)
    pre = tiny_project(str(tmp_path), "d/data.csv", network=PRETRAIN, epochs=1)
    assert run_cli("run", pre, "-o", tmp_path / "pre")[0] == 0
    wide = PRETRAIN.replace("out_maps: 4", "out_maps: 6")
    (tmp_path / "b").mkdir()
    write_digits(str(tmp_path / "b" / "d"), n=12)
    project = tiny_project(str(tmp_path / "b"), "d/data.csv", network=wide, extra="init_from: ../pre\n")
    status, _, err = run_cli("run", project, "-o", tmp_path / "r1")
    assert status == 2 and "'features/conv/W' has shape [4, 1, 3, 3]" in err and "[6, 1, 3, 3]" in err, err
    project = tiny_project(str(tmp_path / "b"), "d/data.csv", network=PRETRAIN,
                           extra="init_from: {path: ../pre, map: {'feature/*': 'x/*'}}\n")
    status, _, err = run_cli("run", project, "-o", tmp_path / "r2")
    assert status == 2 and "no parameter of the network matches" in err and "Traceback" not in err, err
    assert not os.path.exists(tmp_path / "r2" / "metrics.csv")


def test_init_from_an_nnp_file(tmp_path):
    """An .nnp (ours, or one nnabla_cli/NNC wrote) is a parameter source like a run folder."""
    write_digits(str(tmp_path / "d"), n=12)
    pre = tiny_project(str(tmp_path), "d/data.csv", network=PRETRAIN, epochs=1)
    assert run_cli("run", pre, "-o", tmp_path / "pre")[0] == 0
    assert (tmp_path / "pre" / "last.nnp").is_file()
    (tmp_path / "b").mkdir()
    write_digits(str(tmp_path / "b" / "d"), n=12)
    project = tiny_project(str(tmp_path / "b"), "d/data.csv", network=PRETRAIN, epochs=1,
                           extra="init_from: {path: ../pre/last.nnp, map: {'features/*': 'features/*'}}\n")
    from nncgraph.project.load import load_project
    from nncgraph.train.init_from import read_parameters

    spec = load_project(project).init_from
    loaded = read_parameters(spec.path)
    source = params(tmp_path / "pre" / "checkpoints" / "last.h5")
    assert loaded.keys() == source.keys() and all(np.array_equal(loaded[k], source[k]) for k in source)
    status, out, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    assert "init_from: 2 parameters loaded" in out
    bad = tmp_path / "bad.nnp"
    bad.write_text("not a zip")
    text = open(project).read().replace("../pre/last.nnp", str(bad))
    open(project, "w").write(text)
    status, _, err = run_cli("run", project, "-o", tmp_path / "r2")
    assert status == 2 and "is not an .nnp (zip) file" in err and "Traceback" not in err
