"""K-fold cross-validation: stratified seeded splits, K trainings, one summary."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from conftest import run_cli, tiny_project, write_digits
from nncgraph.data.kfold import write_kfold
from nncgraph.errors import UserError


def read(path):
    with open(path) as f:
        return list(csv.reader(f))


def test_folds_are_stratified_disjoint_and_cover_every_row(tmp_path):
    source = write_digits(str(tmp_path / "d"), n=30, classes=3)
    folds = write_kfold(source, 5, str(tmp_path / "folds"), seed=4)
    rows = read(source)[1:]
    seen = []
    for fold in folds:
        valid = read(fold["valid_csv"])[1:]
        train = read(fold["train_csv"])[1:]
        assert len(valid) == 6 and len(train) == 24
        assert sorted(r[1] for r in valid) == ["0", "0", "1", "1", "2", "2"]      # two of each class
        # file cells now point from the fold's folder to the same images
        for r in valid:
            assert os.path.isfile(os.path.join(os.path.dirname(fold["valid_csv"]), r[0]))
        seen += [os.path.basename(r[0]) for r in valid]
    assert sorted(seen) == sorted(os.path.basename(r[0]) for r in rows)
    again = write_kfold(source, 5, str(tmp_path / "again"), seed=4)
    assert read(again[2]["valid_csv"]) == read(folds[2]["valid_csv"])


def test_too_many_folds(tmp_path):
    source = write_digits(str(tmp_path / "d"), n=4)
    with pytest.raises(UserError) as info:
        write_kfold(source, 5, str(tmp_path / "f"))
    assert "k = 5 does not fit 4 samples" in str(info.value)


@pytest.mark.e2e
def test_run_kfold_trains_k_times_and_summarizes(tmp_path):
    write_digits(str(tmp_path / "d"), n=30, classes=3)
    project = tiny_project(str(tmp_path), "d/data.csv", epochs=3)
    run = tmp_path / "cv"
    status, out, err = run_cli("run", project, "--kfold", "3", "-o", run)
    assert status == 0, err
    summary = json.load(open(run / "kfold.json"))
    accuracies = [f["valid_accuracy"] for f in summary["folds"]]
    assert len(accuracies) == 3 and all(0 <= a <= 1 for a in accuracies)
    assert summary["mean_valid_accuracy"] == pytest.approx(np.mean(accuracies))
    assert summary["std_valid_accuracy"] == pytest.approx(np.std(accuracies, ddof=1))
    for i in (1, 2, 3):
        assert (run / f"fold_{i}" / "metrics.csv").exists()
        assert f"fold {i}: validation accuracy {accuracies[i - 1]:.4f}" in out
    assert f"{summary['mean_valid_accuracy']:.4f} ± {summary['std_valid_accuracy']:.4f}" in out
    assert len(read(run / "kfold.csv")) == 4


@pytest.mark.e2e
def test_kfold_cli_errors(tmp_path):
    write_digits(str(tmp_path / "d"), n=6)
    project = tiny_project(str(tmp_path), "d/data.csv")
    status, _, err = run_cli("run", project, "--kfold", "1")
    assert status == 2 and "--kfold needs 2 or more folds" in err
    status, _, err = run_cli("dataset", "kfold", tmp_path / "nope.csv", "-k", "3", "-o", tmp_path / "o")
    assert status == 2 and "does not exist" in err and "Traceback" not in err
