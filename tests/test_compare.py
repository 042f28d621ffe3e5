"""`nncgraph compare`: several runs' validation error curves on one plot, and their final metrics."""
from __future__ import annotations

import csv
import os

import pytest

from conftest import run_cli, tiny_project, write_digits

pytestmark = pytest.mark.e2e


def _run(tmp_path, name, epochs, train, valid):
    folder = tmp_path / name
    folder.mkdir()
    project = tiny_project(str(folder), train, valid, epochs=epochs)
    status, _, err = run_cli("run", project, "-o", str(folder / "run"))
    assert status == 0, err
    return str(folder / "run")


def _last_valid_error(run_dir):
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        return float(list(csv.DictReader(f))[-1]["valid_error"])


def test_two_runs(tmp_path):
    train = write_digits(str(tmp_path / "train"), n=24)
    valid = write_digits(str(tmp_path / "valid"), n=12, seed=1)
    runs = [_run(tmp_path, "a", 2, train, valid), _run(tmp_path, "b", 3, train, valid)]
    out = tmp_path / "cmp"
    status, stdout, err = run_cli("compare", *runs, "-o", str(out))
    assert status == 0, err
    assert (out / "compare.png").stat().st_size > 1000
    with open(out / "compare.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert [int(r["epochs"]) for r in rows] == [2, 3]
    for row, run_dir in zip(rows, runs):
        assert float(row["final_valid_error"]) == _last_valid_error(run_dir)
        assert float(row["best_valid_error"]) <= float(row["final_valid_error"])
        assert int(row["params"]) > 0 and float(row["seconds"]) > 0 and row["final_train_error"]
    lines = stdout.splitlines()
    assert lines[0].split()[:4] == ["run", "epochs", "final_train_error", "final_valid_error"]
    assert f"{_last_valid_error(runs[1]):.4f}" in lines[2]
    assert not [p for p in os.listdir(out) if ".tmp-" in p]     # atomic writes leave no temporaries

    # default output: ./compare in the working directory
    status, _, err = run_cli("compare", *runs, cwd=str(tmp_path))
    assert status == 0, err
    assert (tmp_path / "compare" / "compare.png").is_file() and (tmp_path / "compare" / "compare.csv").is_file()


def test_not_a_run_folder(tmp_path):
    status, _, err = run_cli("compare", str(tmp_path))
    assert status == 2 and "not a run folder" in err
