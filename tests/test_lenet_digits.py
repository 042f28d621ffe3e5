"""The README's promise: LeNet on the bundled real digits reaches 0.97 within 10 epochs."""
from __future__ import annotations

import csv
import os

import pytest
from conftest import ROOT
from nncgraph.data.mnist_sample import write_mnist_sample
from nncgraph.project.load import load_project
from nncgraph.train.run_folder import RunFolder
from nncgraph.train.trainer import train_project

pytestmark = pytest.mark.slow


def test_lenet_reaches_097_on_the_bundled_digits(tmp_path):
    data = write_mnist_sample(str(tmp_path / "mnist"))
    project = load_project(os.path.join(ROOT, "projects", "lenet-mnist.yaml"))
    project.datasets["training"].csv = data["train_csv"]
    project.datasets["validation"].csv = data["valid_csv"]
    assert project.training.max_epoch == 10
    result = train_project(project, RunFolder(str(tmp_path / "run")), log=lambda line: None)
    assert 1 - result.final["valid_error"] >= 0.97
    with open(tmp_path / "run" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    # validation error is k / 1000: every held-back digit counted once
    assert abs(float(rows[-1]["valid_error"]) * 1000 - round(float(rows[-1]["valid_error"]) * 1000)) < 1e-6
