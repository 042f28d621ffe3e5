"""`nncgraph export` and the run folder's best/last.nnp, checked with nnabla's own tools."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, run_cli, tiny_project, write_digits

pytestmark = pytest.mark.e2e

NNABLA_CLI = os.path.join(os.path.dirname(sys.executable), "nnabla_cli")


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    from nncgraph.data.mnist_sample import write_mnist_sample

    return write_mnist_sample(str(tmp_path_factory.mktemp("mnist")))


def lenet_project(folder, mnist, epochs):
    """projects/lenet-mnist.yaml with its datasets pointed at a fresh copy of the bundled digits."""
    text = open(os.path.join(ROOT, "projects", "lenet-mnist.yaml")).read()
    text = text.replace("../data/mnist/train.csv", mnist["train_csv"]).replace("../data/mnist/valid.csv",
                                                                               mnist["valid_csv"])
    text = text.replace("max_epoch: 10", f"max_epoch: {epochs}")
    path = os.path.join(folder, "lenet.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def nnabla_cli(*args, cwd):
    os.makedirs(os.path.join(cwd, "out"), exist_ok=True)      # nnabla_cli needs its -o folder to exist
    proc = subprocess.run([NNABLA_CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def test_nnabla_cli_trains_our_exported_lenet_nntxt(tmp_path, mnist):
    project = lenet_project(str(tmp_path), mnist, epochs=1)
    status, out, err = run_cli("export", project, "-o", tmp_path / "lenet.nntxt")
    assert status == 0, err
    text = open(tmp_path / "lenet.nntxt").read()
    for name in ("Main", "MainValidation", "MainRuntime"):
        assert f'name: "{name}"' in text
    # every parameter of every network says how nnabla_cli must initialize it
    assert text.count('type: "Parameter"') == text.count("initializer {") == 24
    log = nnabla_cli("train", "-c", "lenet.nntxt", "-o", "out", cwd=tmp_path)
    cost = float(re.search(r"epoch 1 of 1 cost=([0-9.]+)", log).group(1))
    valid = float(re.search(r"valid_error=([0-9.]+)", log).group(1))
    # a untrained 10-class softmax costs ln 10 = 2.30; nncgraph's own first epoch costs ~0.7
    assert cost < 1.0 and valid < 0.5, log[-1500:]
    assert os.path.isfile(tmp_path / "out" / "results.nnp")


def test_nnabla_cli_forward_on_best_nnp_reproduces_our_validation_accuracy(tmp_path, mnist):
    project = lenet_project(str(tmp_path), mnist, epochs=1)
    status, out, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    run = tmp_path / "run"
    assert (run / "best.nnp").is_file() and (run / "last.nnp").is_file()
    result = json.load(open(run / "result.json"))
    ours = 1 - result["final"]["valid_error"]
    nnabla_cli("forward", "-c", run / "best.nnp", "-d", mnist["valid_csv"], "-o", "out", cwd=tmp_path)
    with open(tmp_path / "out" / "output_result.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1000
    probs = np.array([[float(r[f"y'__{k}"]) for k in range(10)] for r in rows])
    labels = np.array([int(r["y:label"]) for r in rows])
    correct = int((probs.argmax(axis=1) == labels).sum())
    assert correct == round(ours * 1000)
    # and the same probabilities as our own evaluation of the best model
    with open(run / "evaluation" / "output_result.csv") as f:
        mine = np.array([[float(r[f"y'__{k}"]) for k in range(10)] for r in csv.DictReader(f)])
    assert np.abs(mine - probs).max() < 1e-5


def test_nnp_loader_runs_the_runtime_network(tmp_path):
    write_digits(str(tmp_path / "d"), n=24)
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=1)
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    from nnabla.utils.nnp_graph import NnpLoader
    import nnabla as nn

    nn.clear_parameters()
    loader = NnpLoader(str(tmp_path / "run" / "last.nnp"))
    assert set(loader.get_network_names()) == {"Main", "MainValidation", "MainRuntime"}
    net = loader.get_network("MainRuntime", batch_size=4)
    x, y = net.inputs["x"], net.outputs["y'"]
    rng = np.random.RandomState(0)
    x.d = rng.rand(*x.shape)
    y.forward()
    # the same network built by nncgraph from the run's project and checkpoint
    from nncgraph.evaluate.model import load_model

    model = load_model(str(tmp_path / "run"), "last", batch_size=4)
    (_, _, got), = list(model.predict({"x": x.d.copy()}, {}, 4))
    assert np.abs(got["y'"] - y.d).max() < 1e-6


def test_export_settings_reach_nnabla(tmp_path):
    """Learning-rate multipliers and epoch-based schedules become nnabla's per-iteration ones."""
    write_digits(str(tmp_path / "d"), n=40)       # 40 rows / batch 8 = 5 iterations per epoch
    network = """
    network:
      - {type: Input, name: x, size: [1, 8, 8]}
      - {type: Convolution, out_maps: 4, kernel_shape: [3, 3], w_lrate_multiplier: 0, b_lrate_multiplier: 0.5}
      - {type: ReLU}
      - {type: Affine, out_shape: 3}
      - {type: SoftmaxCrossEntropy, target: y}
    """
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", network=network, epochs=4)
    text = open(project).read().replace("seed: 1}", "seed: 1, lr_scheduler: {type: Step, steps: [2, 3], "
                                                    "multiplier: 0.5}}")
    open(project, "w").write(text)
    status, out, err = run_cli("export", project, "-o", tmp_path / "t.nntxt")
    assert status == 0, err
    assert "initializers only" in out
    from google.protobuf import text_format
    from nnabla.utils import nnabla_pb2

    proto = text_format.Parse(open(tmp_path / "t.nntxt").read(), nnabla_pb2.NNablaProtoBuf())
    opt, = proto.optimizer
    rates = {p.variable_name: p.learning_rate_multiplier for p in opt.parameter_variable}
    assert rates["Convolution/conv/W"] == 0 and rates["Convolution/conv/b"] == 0.5
    assert rates["Affine/affine/W"] == 1
    assert opt.solver.lr_scheduler_type == "Step"
    assert list(opt.solver.step_scheduler_param.iter_steps) == [10, 15]
    assert opt.solver.step_scheduler_param.gamma == 0.5
    assert proto.training_config.iter_per_epoch == 5 and proto.training_config.max_epoch == 4
    assert [d.name for d in proto.dataset] == ["Training", "Validation"]
    assert [m.name for m in proto.monitor] == ["train_error", "valid_error"]
    assert {d.variable_name: d.data_name for d in opt.data_variable} == {"x": "x", "y": "y"}


def test_export_errors(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv")
    status, _, err = run_cli("export", project, "-o", tmp_path / "model.bin")
    assert status == 2 and "cannot tell the format" in err and "Traceback" not in err
    status, _, err = run_cli("export", project, "-o", tmp_path / "m.nnp", "--model", "best")
    assert status == 2 and "a project file has none" in err
    (tmp_path / "empty").mkdir()
    status, _, err = run_cli("export", tmp_path / "empty", "-o", tmp_path / "m.nnp")
    assert status == 2 and "not a run folder" in err
    assert not (tmp_path / "m.nnp").exists()


def test_a_trained_runs_export_keeps_the_projects_initializers(tmp_path):
    """Exported from a checkpoint, every parameter still says how the project initializes it (NNC's
    BatchNormalization defaults: beta, mean and var Constant 0, gamma Constant 1), not the trained values."""
    write_digits(str(tmp_path / "d"), n=24)
    network = """
    network:
      - {type: Input, name: x, size: [1, 8, 8]}
      - {type: Convolution, name: c, out_maps: 4, kernel_shape: [3, 3]}
      - {type: BatchNormalization, name: bn}
      - {type: ReLU}
      - {type: Affine, out_shape: 3}
      - {type: SoftmaxCrossEntropy, target: y}
    """
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", network=network, epochs=2)
    assert run_cli("run", project, "-o", tmp_path / "run")[0] == 0
    status, _, err = run_cli("export", tmp_path / "run", "-o", tmp_path / "m.nntxt", "--model", "last")
    assert status == 0, err
    from google.protobuf import text_format
    from nnabla.utils import nnabla_pb2

    proto = text_format.Parse(open(tmp_path / "m.nntxt").read(), nnabla_pb2.NNablaProtoBuf())
    inits = {v.name: (v.initializer.type, v.initializer.multiplier) for v in proto.network[0].variable
             if v.type == "Parameter"}
    assert inits["bn/bn/mean"] == ("Constant", 0.0) and inits["bn/bn/var"] == ("Constant", 0.0)
    assert inits["bn/bn/beta"] == ("Constant", 0.0) and inits["bn/bn/gamma"] == ("Constant", 1.0)
    assert inits["c/conv/W"][0] == "NormalConvolutionGlorot"


def test_a_network_without_a_loss_is_refused_in_one_line(tmp_path):
    import nncgraph
    from nncgraph.errors import UserError

    path = tmp_path / "features.yaml"
    path.write_text("name: features\nnetwork:\n  - {type: Input, name: x, size: [1, 8, 8]}\n"
                    "  - {type: Affine, out_shape: 3}\n")
    with pytest.raises(UserError, match="network 'Main' has no loss layer") as caught:
        nncgraph.load(str(path)).export(str(tmp_path / "features.nnp"))
    assert "\n" not in str(caught.value) and not (tmp_path / "features.nnp").exists()
