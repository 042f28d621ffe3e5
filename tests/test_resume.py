"""--resume continues a run exactly: parameters, optimizer state, schedule position, shuffling."""
from __future__ import annotations

import csv
import os

import nnabla as nn
import numpy as np

import pytest

from conftest import run_cli, tiny_project, write_digits

pytestmark = pytest.mark.e2e

NO_DROPOUT = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
  - {type: BatchNormalization}
  - {type: ReLU}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def metrics(run):
    with open(os.path.join(run, "metrics.csv")) as f:
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(f)]


def params(path):
    nn.clear_parameters()
    nn.load_parameters(str(path))
    return {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}


def test_stopped_and_resumed_equals_straight_through(tmp_path):
    write_digits(str(tmp_path / "d"), n=40)
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=4)
    text = open(project).read().replace("seed: 1}", "seed: 1, lr_scheduler: {type: Step, steps: [3]}}")
    open(project, "w").write(text)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run_cli("run", project, "-o", straight)[0] == 0
    status, _, err = run_cli("run", project, "-o", resumed, "--epochs", "2")
    assert status == 0, err
    status, out, err = run_cli("run", project, "--resume", resumed, "--epochs", "4")
    assert status == 0, err
    assert "resuming after epoch 2 of 4" in out
    assert metrics(resumed) == metrics(straight)
    a, b = params(straight / "checkpoints" / "last.h5"), params(resumed / "checkpoints" / "last.h5")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_an_interrupted_epoch_is_redone_from_the_resume_point(tmp_path):
    """A kill leaves checkpoints/resume/ of the last trained epoch; metrics.csv may lag behind it."""
    write_digits(str(tmp_path / "d"), n=40)
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=3, network=NO_DROPOUT)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert run_cli("run", project, "-o", full)[0] == 0
    assert run_cli("run", project, "-o", cut, "--epochs", "2")[0] == 0
    with open(cut / "metrics.csv", "w") as f:        # as if killed before epoch 2's row was written
        f.write("epoch,cost\n")
    status, _, err = run_cli("run", project, "--resume", cut)
    assert status == 0, err
    assert metrics(cut) == metrics(full)


def test_resume_errors(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv")
    (tmp_path / "empty").mkdir()
    status, _, err = run_cli("run", project, "--resume", tmp_path / "empty")
    assert status == 2 and "has no resume point" in err and "Traceback" not in err
    status, _, err = run_cli("run", project, "--resume", tmp_path / "nowhere")
    assert status == 2 and "does not exist" in err


def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_metrics(tmp_path):
    """The acceptance: SIGKILL a real `nncgraph run` process during an epoch, then --resume it."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    # 150 iterations per epoch of ~0.5 s: the kill lands inside epoch 3's training
    write_digits(str(tmp_path / "d"), n=1200, size=16)
    network = NO_DROPOUT.replace("[1, 8, 8]", "[1, 16, 16]").replace("out_maps: 4", "out_maps: 16")
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=4, network=network)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert run_cli("run", project, "-o", full)[0] == 0
    proc = subprocess.Popen([sys.executable, "-m", "nncgraph", "run", project, "-o", str(cut)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = cut / "checkpoints" / "resume" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.load(open(state))["epoch"] >= 2:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    time.sleep(0.2)                                      # into epoch 3's iterations
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(metrics(cut)) < 4                          # it really stopped short
    status, out, err = run_cli("run", project, "--resume", cut)
    assert status == 0, err
    assert "resuming after epoch" in out
    assert metrics(cut) == metrics(full)
    a, b = params(full / "checkpoints" / "last.h5"), params(cut / "checkpoints" / "last.h5")
    assert all(np.array_equal(a[k], b[k]) for k in a)
