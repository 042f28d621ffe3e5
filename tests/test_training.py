"""Training end to end on small real PNG datasets, through the CLI a user runs."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, tiny_project, write_digits
from nncgraph.optimizers import OPTIMIZERS

pytestmark = pytest.mark.e2e


def read_metrics(run):
    with open(os.path.join(run, "metrics.csv")) as f:
        return list(csv.DictReader(f))


@pytest.fixture
def tiny(tmp_path):
    train = write_digits(str(tmp_path / "train"), n=48, seed=1)
    valid = write_digits(str(tmp_path / "valid"), n=13, seed=2)     # 13: not a multiple of the batch (8)
    return str(tmp_path), os.path.relpath(train, tmp_path), os.path.relpath(valid, tmp_path)


def test_run_learns_and_writes_the_run_folder(tiny):
    folder, train, valid = tiny
    project = tiny_project(folder, train, valid, epochs=6)
    run = os.path.join(folder, "run")
    status, out, err = run_cli("run", project, "-o", run)
    assert status == 0, err
    assert "run folder:" in out and "validation accuracy" in out
    rows = read_metrics(run)
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert float(rows[-1]["cost"]) < float(rows[0]["cost"])
    assert float(rows[-1]["valid_error"]) <= 0.2               # the bands are easy to tell apart
    # every validation sample counted exactly once: the error is k/13
    for r in rows:
        assert abs(float(r["valid_error"]) * 13 - round(float(r["valid_error"]) * 13)) < 1e-6
    for name in ("project.yaml", "learning_curve.png", "result.json", "checkpoints/last.h5",
                 "checkpoints/best.h5"):
        assert os.path.getsize(os.path.join(run, name)) > 0, name
    assert Image.open(os.path.join(run, "learning_curve.png")).size[0] > 500
    result = json.load(open(os.path.join(run, "result.json")))
    assert result["valid_samples"] == 13 and result["train_samples"] == 48


def test_same_seed_gives_the_same_metrics(tiny):
    folder, train, valid = tiny
    project = tiny_project(folder, train, valid, epochs=2, network="""
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
          - {type: BatchNormalization}
          - {type: ReLU}
          - {type: Dropout, p: 0.3}
          - {type: Affine, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        """)
    runs = []
    for i in range(2):
        run = os.path.join(folder, f"run{i}")
        status, _, err = run_cli("run", project, "-o", run)
        assert status == 0, err
        runs.append([{k: v for k, v in r.items() if "seconds" not in k} for r in read_metrics(run)])
    assert runs[0] == runs[1]


def test_validation_error_from_the_best_checkpoint_is_reproducible(tiny):
    """best.h5 holds the parameters that scored the best validation error."""
    from nncgraph.engines import make_engine
    from nncgraph.graph.ir import build_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive
    from nncgraph.project.load import load_project
    from nncgraph.train.data_binding import bind_dataset
    from nncgraph.train.evaluation import evaluate

    folder, train, valid = tiny
    project_path = tiny_project(folder, train, valid, epochs=3)
    run = os.path.join(folder, "run")
    assert run_cli("run", project_path, "-o", run)[0] == 0
    result = json.load(open(os.path.join(run, "result.json")))
    project = load_project(project_path)
    graph = infer(derive(build_graph("Main", project.networks["Main"]), "validation"), "validation")
    engine = make_engine(project.context)
    executor = engine.compile(graph, 8)
    engine.load_parameters(os.path.join(run, "checkpoints", "best.h5"))
    _, error = evaluate(executor, bind_dataset(project, "validation", graph), 8)
    assert error == pytest.approx(result["best_valid_error"], abs=1e-9)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_trains(tmp_path, optimizer):
    train = write_digits(str(tmp_path / "d"), n=32, seed=3)
    rates = {"Sgd": "learning_rate: 0.5", "Momentum": "learning_rate: 0.1", "Nesterov": "learning_rate: 0.1",
             "Adagrad": "learning_rate: 0.1", "Adadelta": "learning_rate: 1.0", "RMSprop": "learning_rate: 0.01"}
    extra = ", " + rates[optimizer] if optimizer in rates else ""
    project = tiny_project(str(tmp_path), os.path.relpath(train, tmp_path), epochs=4)
    text = open(project).read().replace(
        "training: {max_epoch: 4, batch_size: 8, seed: 1}",
        "training:\n  max_epoch: 4\n  batch_size: 8\n  seed: 1\n"
        f"  optimizer: {{type: {optimizer}{extra}, weight_decay: 0.0001}}\n"
        "  lr_scheduler: {type: Step, steps: [3], multiplier: 0.5}\n")
    open(project, "w").write(text)
    run = str(tmp_path / "run")
    status, _, err = run_cli("run", project, "-o", run)
    assert status == 0, err
    rows = read_metrics(run)
    costs = [float(r["cost"]) for r in rows]
    assert np.isfinite(costs).all() and costs[-1] < costs[0], costs
    rates_seen = [float(r["learning_rate"]) for r in rows]
    assert rates_seen[3] == pytest.approx(rates_seen[1] * 0.5)    # Step at epoch 3


def test_regression_loss_reports_the_loss_as_error(tmp_path):
    rng = np.random.RandomState(0)
    rows = ["x__0,x__1,y"]
    for _ in range(40):
        a, b = rng.rand(2)
        rows.append(f"{a},{b},{2 * a - b}")
    os.makedirs(tmp_path / "d")
    (tmp_path / "d" / "r.csv").write_text("\n".join(rows) + "\n")
    project = tiny_project(str(tmp_path), "d/r.csv", "d/r.csv", epochs=30, network="""
        network:
          - {type: Input, name: x, size: [2]}
          - {type: Affine, out_shape: 1}
          - {type: SquaredError, target: y}
        """)
    text = open(project).read().replace("seed: 1}", "seed: 1, optimizer: {type: Adam, alpha: 0.05}}")
    open(project, "w").write(text)
    run = str(tmp_path / "run")
    status, _, err = run_cli("run", project, "-o", run)
    assert status == 0, err
    last = read_metrics(run)[-1]
    assert float(last["valid_error"]) == pytest.approx(float(last["valid_cost"]), rel=1e-6)
    assert float(last["valid_error"]) < 0.05
