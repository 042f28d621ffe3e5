"""NNC's per-parameter settings: initializer, multiplier, learning-rate multiplier (0 freezes), file."""
from __future__ import annotations

import os

import nnabla as nn
import numpy as np
import pytest

from conftest import write, write_digits
from nncgraph.engines.nnabla.engine import seed_everything
from nncgraph.engines.nnabla.graph import compile_graph
from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import derive
from nncgraph.project.load import load_project
from nncgraph.train.run_folder import RunFolder
from nncgraph.train.trainer import train_project


def make_project(tmp_path, fc_props="", optimizer="{type: Sgd, learning_rate: 0.1}", epochs=1, batch=12):
    write_digits(str(tmp_path / "d"), n=12)
    return load_project(write(tmp_path / "p.yaml", f"""
        name: params
        datasets: {{training: {{csv: d/data.csv}}}}
        network:
          - {{type: Input, name: x, size: [1, 8, 8]}}
          - {{type: Convolution, name: conv, out_maps: 2, kernel_shape: [3, 3]}}
          - {{type: Affine, name: fc, out_shape: 3{fc_props}}}
          - {{type: SoftmaxCrossEntropy, target: y}}
        training: {{max_epoch: {epochs}, batch_size: {batch}, seed: 3, optimizer: {optimizer}}}
        """))


def initial_parameters(project):
    nn.clear_parameters()
    seed_everything(project.training.seed)
    graph = infer(derive(network_graph(project, "Main"), "training"), "training")
    compile_graph(graph, 2, os.path.dirname(project.path))
    return {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}


def trained_parameters(project, tmp_path, name="run"):
    train_project(project, RunFolder(str(tmp_path / name)), log=lambda line: None)
    return _load(tmp_path / name / "checkpoints" / "last.h5")


def _load(path):
    nn.clear_parameters()
    nn.load_parameters(str(path))
    return {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}


def test_initializers_follow_the_properties(tmp_path):
    p = make_project(tmp_path, ", w_initializer: Constant, w_initializer_multiplier: 0.5, "
                               "b_initializer: Uniform, b_initializer_multiplier: 0.01")
    params = initial_parameters(p)
    assert (params["fc/affine/W"] == 0.5).all()
    b = params["fc/affine/b"]
    assert (np.abs(b) <= 0.01).all() and b.std() > 0
    # NNC's default for the convolution: NormalConvolutionGlorot, std = sqrt(2 / (fan_in + fan_out))
    w = params["conv/conv/W"]
    assert w.shape == (2, 1, 3, 3) and (params["conv/conv/b"] == 0).all()


def test_he_initializer_scales_with_fan_in(tmp_path):
    p = make_project(tmp_path, ", w_initializer: NormalAffineHeForward, w_initializer_multiplier: 2.0")
    w = initial_parameters(p)["fc/affine/W"]          # fan-in 2*8*8 = 128: std sqrt(2 / 128) times 2
    assert w.std() == pytest.approx(2 * np.sqrt(2 / 128), rel=0.2)


@pytest.mark.slow
def test_learning_rate_multiplier_zero_freezes(tmp_path):
    p = make_project(tmp_path, ", w_lrate_multiplier: 0", epochs=2, batch=4)
    before = initial_parameters(p)
    after = trained_parameters(p, tmp_path)
    assert (after["fc/affine/W"] == before["fc/affine/W"]).all()
    assert not (after["fc/affine/b"] == before["fc/affine/b"]).all()
    assert not (after["conv/conv/W"] == before["conv/conv/W"]).all()


@pytest.mark.e2e
def test_learning_rate_multiplier_scales_the_step(tmp_path):
    """One SGD step: lr 0.1 with multiplier 0.5 moves W exactly as lr 0.05 does."""
    half = trained_parameters(make_project(tmp_path, ", w_lrate_multiplier: 0.5"), tmp_path, "a")
    plain = trained_parameters(make_project(tmp_path, optimizer="{type: Sgd, learning_rate: 0.05}"), tmp_path, "b")
    np.testing.assert_allclose(half["fc/affine/W"], plain["fc/affine/W"], rtol=1e-5, atol=1e-7)
    assert not np.allclose(half["fc/affine/b"], plain["fc/affine/b"])


@pytest.mark.e2e
def test_parameter_from_a_file(tmp_path):
    values = np.arange(128 * 3, dtype=np.float32).reshape(128, 3) / 100
    np.save(tmp_path / "w.npy", values)
    p = make_project(tmp_path, ", w_file: w.npy")
    np.testing.assert_array_equal(initial_parameters(p)["fc/affine/W"], values)


def test_parameter_file_of_the_wrong_shape(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((5, 3), np.float32))
    p = make_project(tmp_path, ", w_file: w.npy")
    with pytest.raises(UserError) as info:
        initial_parameters(p)
    text = str(info.value)
    assert "layer 'fc' (Affine)" in text and "[5, 3]" in text and "[128, 3]" in text and "p.yaml:" in text


def test_uniform_glorot_initializer(tmp_path):
    p = make_project(tmp_path, ", w_initializer: UniformAffineGlorot, w_initializer_multiplier: 0.5")
    w = initial_parameters(p)["fc/affine/W"]          # limit sqrt(6 / (128 + 3)), halved
    limit = 0.5 * np.sqrt(6 / (128 + 3))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.8 * limit
