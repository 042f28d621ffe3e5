"""The Python API (nncgraph/api.py): a run is a library call, and the CLI is built on it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import nncgraph
from conftest import ROOT, main_in_process, tiny_project, write_digits
from nncgraph.errors import UserError


@pytest.fixture
def tiny(tmp_path):
    data = write_digits(str(tmp_path / "d"), n=24)
    return tiny_project(str(tmp_path), data, data, epochs=2)


def test_importing_nncgraph_imports_no_nnabla_and_load_and_check_need_none():
    code = ("import sys, nncgraph; p = nncgraph.load('projects/lenet-mnist.yaml'); c = p.check(); "
            "print('nnabla' in sys.modules, c['networks']['Main']['variants']['runtime']['total_params'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "78810"]


def test_check_is_the_data_check_json_prints(tiny, capsys):
    status, out, _ = main_in_process(capsys, "check", tiny, "--json")
    assert status == 0
    assert nncgraph.load(tiny).check() == json.loads(out)


def test_overrides_make_a_new_project_and_leave_the_loaded_one_alone(tiny, tmp_path):
    p = nncgraph.load(tiny)
    other = write_digits(str(tmp_path / "other"), n=12)
    q = p.with_overrides(epochs=5, batch_size=4, seed=7, datasets={"validation": other}, precision="half")
    assert (q.spec.training.max_epoch, q.spec.training.batch_size, q.spec.training.seed) == (5, 4, 7)
    assert q.spec.datasets["validation"].csv == os.path.abspath(other) and q.spec.context.precision == "half"
    assert (p.spec.training.max_epoch, p.spec.training.batch_size, p.spec.training.seed) == (2, 8, 1)
    assert p.spec.datasets["validation"].csv != os.path.abspath(other) and p.spec.context.precision == "float"
    assert nncgraph.load(tiny, epochs=3).spec.training.max_epoch == 3
    with pytest.raises(UserError, match="--epochs must be 1 or more, got 0"):
        p.with_overrides(epochs=0)


def test_train_evaluate_infer_and_open_run(tiny, tmp_path):
    p = nncgraph.load(tiny)
    run = p.train(out=str(tmp_path / "run"), epochs=3, log=lambda line: None)
    assert p.spec.training.max_epoch == 2           # train's overrides made a new project
    assert [row["epoch"] for row in run.metrics] == [1, 2, 3]
    assert run.valid_error == run.metrics[-1]["valid_error"]
    for name in ("report.html", "best.nnp", "last.nnp", "evaluation/metrics.json"):
        assert os.path.isfile(os.path.join(run.path, name)), name
    again = nncgraph.open_run(run.path)
    assert again.metrics == run.metrics and again.result == run.result
    metrics = again.evaluate()
    assert metrics["samples"] == 24 and len(metrics["confusion_matrix"]) == 3
    assert metrics["accuracy"] == pytest.approx(1 - run.result["best_valid_error"])    # of best.h5
    image = os.path.join(tmp_path, "d", "img", "0.png")
    [result] = again.infer([image])
    assert result["input"] == image and result["label"] in (0, 1, 2) and len(result["top"]) == 3
    assert again.infer(image) == [result]


def test_open_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        nncgraph.open_run(str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="no project.yaml, so it is not a run folder"):
        nncgraph.open_run(str(tmp_path))


def test_nncgraph_run_parses_the_project_file_once(tiny, tmp_path, capsys, monkeypatch):
    import nncgraph.project.load as load

    parsed = []
    real = load.parse_project
    monkeypatch.setattr(load, "parse_project", lambda text, path: parsed.append(path) or real(text, path))
    status, out, err = main_in_process(capsys, "run", tiny, "-o", tmp_path / "run")
    assert status == 0, err
    assert "validation accuracy" in out and os.path.isfile(tmp_path / "run" / "report.html")
    assert parsed == [tiny]
