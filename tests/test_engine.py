"""The engine boundary (engines/base.py) as the nnabla engine implements it: arrays and NNC names in and out."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

from conftest import write
from nncgraph.engines import make_engine
from nncgraph.engines.batches import padded_batches
from nncgraph.engines.parameter_file import Parameters, parameters_h5
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import derive
from nncgraph.project.load import load_project

BATCH = 6
PROJECT = """
name: e
datasets: {{training: {{csv: data.csv}}}}
network:
  - {{type: Input, name: x, size: [4]}}
  - {{type: Affine, name: a1, out_shape: 5{a1}}}
  - {{type: ReLU, name: r}}
  - {{type: Affine, name: a2, out_shape: 3}}
  - {{type: SquaredError, name: loss, target: t}}
training: {{max_epoch: 1, batch_size: {batch}, seed: 2, optimizer: {{type: Sgd, learning_rate: 0.1}}}}
"""


def project(tmp_path, a1=""):
    return load_project(write(tmp_path / "project.yaml", PROJECT.format(a1=a1, batch=BATCH)))


def variant(p, name):
    return infer(derive(network_graph(p, p.training.network), name), name)


def batch(seed=0):
    rng = np.random.RandomState(seed)
    return {"x": rng.randn(BATCH, 4).astype(np.float32), "t": rng.randn(BATCH, 3).astype(np.float32)}


def weights(params, layer):
    return params[f"{layer}/affine/W"], params[f"{layer}/affine/b"]


def reference(params, x):
    """The network in NumPy: (a1, r, a2)."""
    (w1, b1), (w2, b2) = weights(params, "a1"), weights(params, "a2")
    a1 = x @ w1 + b1
    r = np.maximum(a1, 0)
    return a1, r, r @ w2 + b2


@pytest.fixture
def engine_and_training(tmp_path):
    p = project(tmp_path)
    engine = make_engine(p.context, seed=p.training.seed)
    return p, engine, engine.compile(variant(p, "training"), BATCH)


def test_forward_gives_any_layer_s_output_by_name(engine_and_training):
    _, _, executor = engine_and_training
    assert executor.inputs == {"x": (4,), "t": (3,)}
    data = batch()
    out = executor.forward(data, ["a1", "r", "a2"])
    a1, r, a2 = reference(executor.parameters(), data["x"])
    np.testing.assert_allclose(out["a1"], a1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["r"], r, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["a2"], a2, rtol=1e-5, atol=1e-6)
    out["a2"][:] = 0        # a copy: the next forward is not affected
    np.testing.assert_allclose(executor.forward(data, ["a2"])["a2"], a2, rtol=1e-5, atol=1e-6)


def test_monitor_is_the_per_sample_cost(engine_and_training):
    _, _, executor = engine_and_training
    data = batch()
    *_, a2 = reference(executor.parameters(), data["x"])
    per_sample = ((a2 - data["t"]) ** 2).mean(axis=1)
    monitor = executor.monitor(data)
    assert monitor.shape == (BATCH, 2)
    np.testing.assert_allclose(monitor[:, 0], per_sample, rtol=1e-5)
    np.testing.assert_allclose(monitor[:, 1], per_sample, rtol=1e-5)    # a regression's error is its loss


def test_gradients_with_respect_to_intermediate_layers(engine_and_training):
    """What Grad-CAM needs: d(output . g)/d(layer) for a chosen output gradient g (a class's one-hot)."""
    _, _, executor = engine_and_training
    data = batch(1)
    params = executor.parameters()
    a1, _, _ = reference(params, data["x"])
    w2, _ = weights(params, "a2")
    one_hot = np.zeros((BATCH, 3), np.float32)
    one_hot[:, 1] = 1
    grads = executor.gradients(data, of="a2", wrt=["r", "a1"], output_grad=one_hot)
    d_r = one_hot @ w2.T
    np.testing.assert_allclose(grads["r"], d_r, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads["a1"], d_r * (a1 > 0), rtol=1e-5, atol=1e-6)
    again = executor.gradients(data, of="a2", wrt=["r"], output_grad=one_hot)    # nothing accumulates
    np.testing.assert_allclose(again["r"], d_r, rtol=1e-5, atol=1e-6)
    ones = executor.gradients(data, of="a2", wrt=["x"])       # before every parameter: the data's own
    np.testing.assert_allclose(ones["x"], (np.ones((BATCH, 3)) @ w2.T * (a1 > 0)) @ weights(params, "a1")[0].T,
                               rtol=1e-4, atol=1e-5)
    after = executor.parameters()
    assert all(np.array_equal(after[k], params[k]) for k in params)


def test_a_private_compile_has_its_own_copy_of_the_parameters(engine_and_training, tmp_path):
    p, engine, training = engine_and_training
    validation = engine.compile(variant(p, "validation"), BATCH, private=True)
    assert sorted(validation.parameters()) == sorted(training.parameters()) == sorted(engine.parameters())
    validation.set_parameters(training.parameters())
    w = training.parameters()["a1/affine/W"]
    training.set_parameters({"a1/affine/W": w + 1})
    np.testing.assert_array_equal(validation.parameters()["a1/affine/W"], w)
    np.testing.assert_array_equal(engine.parameters()["a1/affine/W"], w + 1)
    with pytest.raises(ValueError, match=re.escape("has shape [4, 5], not [2]")):
        training.set_parameters({"a1/affine/W": np.zeros(2, np.float32)})


def test_a_step_is_one_sgd_update_and_reports_the_batch_cost(engine_and_training):
    p, engine, executor = engine_and_training
    optimizer = engine.optimizer(executor, p.training.optimizer)
    data = batch(2)
    before = executor.parameters()
    *_, a2 = reference(before, data["x"])
    r = reference(before, data["x"])[1]
    per_sample = optimizer.step(data, 0.1)
    np.testing.assert_allclose(per_sample[:, 0], ((a2 - data["t"]) ** 2).mean(axis=1), rtol=1e-5)
    # the loss is the batch mean of the per-sample mean: d/d(a2) = 2 (a2 - t) / (batch * 3)
    d_a2 = 2 * (a2 - data["t"]) / (BATCH * 3)
    after = executor.parameters()
    np.testing.assert_allclose(after["a2/affine/W"], before["a2/affine/W"] - 0.1 * r.T @ d_a2, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(after["a2/affine/b"], before["a2/affine/b"] - 0.1 * d_a2.sum(0), rtol=1e-4, atol=1e-6)
    assert sorted(optimizer.trained_parameters()) == sorted(before)


def test_a_frozen_layer_is_not_trained(tmp_path):
    p = project(tmp_path, a1=", w_lrate_multiplier: 0")
    engine = make_engine(p.context, seed=1)
    executor = engine.compile(variant(p, "training"), BATCH)
    optimizer = engine.optimizer(executor, p.training.optimizer)
    w = executor.parameters()["a1/affine/W"]
    optimizer.step(batch(), 0.5)
    np.testing.assert_array_equal(executor.parameters()["a1/affine/W"], w)
    assert "a1/affine/W" not in optimizer.trained_parameters()


def test_parameters_round_trip_through_the_run_s_file_by_nnc_name(engine_and_training, tmp_path):
    import nnabla as nn

    p, engine, executor = engine_and_training
    saved = executor.parameters()
    path = tmp_path / "last.h5"
    path.write_bytes(parameters_h5(saved))
    other = make_engine(p.context, seed=99)        # other initial values
    shapes = other.load_parameters(str(path))
    assert shapes == {k: v.shape for k, v in saved.items()}
    runtime = other.compile(variant(p, "runtime"), BATCH)       # reuses the loaded values by name
    assert all(np.array_equal(runtime.parameters()[k], saved[k]) for k in saved)
    # the file is nnabla's own: nnabla reads the same values and need_grad
    nn.clear_parameters()
    nn.load_parameters(str(path))
    assert {k: v.need_grad for k, v in nn.get_parameters(grad_only=False).items()} == {k: True for k in saved}
    fixed = Parameters({"w": np.ones(2, np.float32)}, fixed={"w"})
    path.write_bytes(parameters_h5(fixed))
    nn.clear_parameters()
    nn.load_parameters(str(path))
    assert nn.get_parameters(grad_only=False)["w"].need_grad is False


def test_solver_states_round_trip(engine_and_training, tmp_path):
    p, engine, executor = engine_and_training
    from nncgraph.project.model import OptimizerSpec

    optimizer = engine.optimizer(executor, OptimizerSpec("Momentum", {"learning_rate": 0.1, "momentum": 0.9}, 0.0))
    optimizer.step(batch(), 0.1)
    paths = []
    for i, data in enumerate(optimizer.states()):
        paths.append(str(tmp_path / f"solver_{i}.h5"))
        open(paths[-1], "wb").write(data)
    assert len(paths) == optimizer.n_states == 1
    start = executor.parameters()
    optimizer.step(batch(3), 0.1)
    first = executor.parameters()
    executor.set_parameters(start)
    optimizer.load_states(paths)       # the momentum of the first step is restored
    optimizer.step(batch(3), 0.1)
    assert all(np.array_equal(executor.parameters()[k], first[k]) for k in first)


def test_the_last_batch_is_padded_and_each_sample_given_once():
    arrays = {"x": np.arange(10, dtype=np.uint8).reshape(5, 2), "y": np.arange(5, dtype=np.float32)}
    got = list(padded_batches(arrays, 3, ["x", "y"], scales={"x": 0.5}))
    assert [(start, stop) for start, stop, _ in got] == [(0, 3), (3, 5)]
    last = got[-1][2]
    assert last["x"].dtype == np.float32 and last["x"].shape == (3, 2)
    np.testing.assert_array_equal(last["x"], [[3, 3.5], [4, 4.5], [0, 0]])
    np.testing.assert_array_equal(last["y"], [3, 4, 0])


def test_outside_the_engines_no_module_imports_nnabla():
    """The trainer, the evaluator and the reports speak arrays and NNC names. What still imports nnabla:
    the interop code (nnabla's own file formats: .nnp/.nntxt, its ONNX converter), init_from (reads an
    .nnp's parameter.protobuf). The solvers are the engine's (engines/nnabla/solvers.py)."""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "nncgraph")
    allowed = ("engines/", "interop/", "train/init_from.py")
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if name.endswith(".py") and not path.startswith(allowed):
                text = open(os.path.join(folder, name), encoding="utf-8").read()
                if re.search(r"^\s*(import nnabla|from nnabla)", text, re.M):
                    found.append(path)
    assert found == []
