"""`nncgraph evaluate` on real runs: NNC's evaluation files, checked against the run itself and NumPy."""
from __future__ import annotations

import csv
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, run_cli, tiny_project, write_digits

# most tests read one run, trained once for the module by the CLI
pytestmark = pytest.mark.e2e

LABELS = ["left", "middle", "right"]
FILES = ("output_result.csv", "metrics.json", "confusion_matrix.csv", "confusion_matrix.png", "per_class.csv",
         "likelihood.png")


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def final_metrics(run):
    with open(os.path.join(run, "metrics.csv")) as f:
        return list(csv.DictReader(f))[-1]


def relabel(csv_path, rows, label):
    """Give some samples a label their image does not show: errors even a perfect model makes."""
    lines = read_rows(csv_path)
    for r in rows:
        lines[r + 1][1] = str(label(int(lines[r + 1][1])))
    with open(csv_path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(lines)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    train = write_digits(str(folder / "train"), n=48, seed=1)
    valid = write_digits(str(folder / "valid"), n=29, seed=2)    # 29: the last batch of 64 is padded
    relabel(valid, [0, 4, 8, 13, 20], lambda y: (y + 1) % 3)
    (folder / "valid" / "labels.txt").write_text("\n".join(LABELS) + "\n")
    project = tiny_project(str(folder), train, valid, epochs=3)
    run = str(folder / "run")
    status, _, err = run_cli("run", project, "-o", run)
    assert status == 0, err
    return run, valid


def numpy_scores(truth, predicted, classes):
    precision, recall = [], []
    for k in range(classes):
        hit = np.sum((truth == k) & (predicted == k))
        precision.append(hit / max(1, np.sum(predicted == k)))
        recall.append(hit / max(1, np.sum(truth == k)))
    return np.array(precision), np.array(recall)


def test_evaluate_last_model_matches_the_run(trained):
    run, valid = trained
    status, out, err = run_cli("evaluate", run, "--model", "last")
    assert status == 0, err
    assert "accuracy" in out and "macro F-measure" in out and "evaluation" in out
    folder = os.path.join(run, "evaluation")
    for name in FILES:
        assert os.path.getsize(os.path.join(folder, name)) > 0, name
    assert not [f for f in os.listdir(folder) if ".tmp-" in f]
    metrics = json.load(open(os.path.join(folder, "metrics.json")))
    assert metrics["samples"] == 29 and metrics["model"].endswith(os.path.join("checkpoints", "last.h5"))
    assert metrics["dataset"] == os.path.abspath(valid)

    # the confusion matrix: label names, every sample once, and the run's own final accuracy
    table = read_rows(os.path.join(folder, "confusion_matrix.csv"))
    assert table[0][1:] == LABELS and [r[0] for r in table[1:]] == LABELS
    matrix = np.array([[int(c) for c in r[1:]] for r in table[1:]])
    assert matrix.sum() == 29
    valid_error = float(final_metrics(run)["valid_error"])
    assert abs(np.trace(matrix) / matrix.sum() - (1 - valid_error)) <= 1e-9
    assert abs(metrics["accuracy"] - (1 - valid_error)) <= 1e-9
    assert abs(metrics["error"] - valid_error) <= 1e-9
    assert 0 < valid_error < 1      # the relabelled rows make the check non-trivial
    assert metrics["confusion_matrix"] == matrix.tolist()

    # output_result.csv: the dataset's columns as written, then y' and the top 3
    dataset = read_rows(valid)
    result = read_rows(os.path.join(folder, "output_result.csv"))
    assert result[0] == dataset[0] + ["y'__0", "y'__1", "y'__2", "top1", "top1_prob", "top2", "top2_prob",
                                      "top3", "top3_prob"]
    assert [r[:2] for r in result[1:]] == dataset[1:]
    probs = np.array([[float(c) for c in r[2:5]] for r in result[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    predicted = np.argmax(probs, axis=1)
    assert [r[5] for r in result[1:]] == [LABELS[k] for k in predicted]
    np.testing.assert_array_equal([float(r[6]) for r in result[1:]], probs.max(axis=1))
    truth = np.array([int(r[1]) for r in result[1:]])
    expected = np.zeros((3, 3), int)
    np.add.at(expected, (truth, predicted), 1)
    np.testing.assert_array_equal(matrix, expected)

    # per-class scores against NumPy, in per_class.csv and metrics.json alike
    precision, recall = numpy_scores(truth, predicted, 3)
    per_class = read_rows(os.path.join(folder, "per_class.csv"))
    assert per_class[0] == ["index", "label", "precision", "recall", "f_measure", "support"]
    assert [r[1] for r in per_class[1:]] == LABELS
    np.testing.assert_allclose([float(r[2]) for r in per_class[1:]], precision, atol=1e-12)
    np.testing.assert_allclose([float(r[3]) for r in per_class[1:]], recall, atol=1e-12)
    assert [int(r[5]) for r in per_class[1:]] == np.bincount(truth, minlength=3).tolist()
    np.testing.assert_allclose([c["precision"] for c in metrics["per_class"]], precision, atol=1e-12)
    np.testing.assert_allclose([c["recall"] for c in metrics["per_class"]], recall, atol=1e-12)
    f_measure = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0)
    assert abs(metrics["macro"]["f_measure"] - f_measure.mean()) <= 1e-12
    assert abs(metrics["macro"]["precision"] - precision.mean()) <= 1e-12

    # the likelihood graph's counts: every sample once, split by right and wrong
    likelihood = metrics["likelihood"]
    assert len(likelihood["bins"]) == 21 and likelihood["bins"][0] == 0 and likelihood["bins"][-1] == 1
    assert sum(likelihood["correct"]) + sum(likelihood["incorrect"]) == 29
    assert sum(likelihood["correct"]) == np.trace(matrix)
    for name in ("confusion_matrix.png", "likelihood.png"):
        assert Image.open(os.path.join(folder, name)).size[0] >= 300


def test_another_dataset_keeps_its_columns_and_defaults_to_best(trained, tmp_path):
    run, valid = trained
    folder = tmp_path / "other"
    shutil.copytree(os.path.join(os.path.dirname(valid), "img"), folder / "img")
    # extra columns and number text that float() would rewrite: all must come back as written
    lines = ['x:image,y:label,id,weight']
    lines += [f"img/{i}.png,{' ' + str(i % 3) if i == 2 else i % 3},{i:03d},{'1.50' if i % 2 else '2e0'}"
              for i in range(7)]
    (folder / "test.csv").write_text("\n".join(lines) + "\n")
    status, out, err = run_cli("evaluate", run, "--dataset", folder / "test.csv")
    assert status == 0, err
    out_dir = os.path.join(run, "evaluation-test")
    assert "evaluation-test" in out
    result = read_rows(os.path.join(out_dir, "output_result.csv"))
    assert result[0][:4] == ["x:image", "y:label", "id", "weight"]
    assert [",".join(r[:4]) for r in result[1:]] == lines[1:]
    # no labels.txt beside this CSV: labels are numbers
    assert read_rows(os.path.join(out_dir, "confusion_matrix.csv"))[0] == ["true \\ predicted", "0", "1", "2"]
    assert {r[result[0].index("top1")] for r in result[1:]} <= {"0", "1", "2"}
    metrics = json.load(open(os.path.join(out_dir, "metrics.json")))
    assert metrics["model"].endswith(os.path.join("checkpoints", "best.h5")) and metrics["samples"] == 7


def test_user_errors_are_one_line_with_a_fix(trained, tmp_path):
    run, _ = trained
    bare = tmp_path / "bare"
    bare.mkdir()
    no_params = tmp_path / "no_params"
    no_params.mkdir()
    shutil.copy(os.path.join(run, "project.yaml"), no_params)
    only_last = tmp_path / "only_last"
    shutil.copytree(run, only_last)
    os.remove(only_last / "checkpoints" / "best.h5")
    cases = [((tmp_path / "missing",), "does not exist"), ((bare,), "no project.yaml"),
             ((no_params,), "no trained parameters"), ((only_last, "--model", "best"), "no best model"),
             ((run, "--dataset", tmp_path / "nope.csv"), "does not exist")]
    try:
        import nnabla_ext.cuda  # noqa: F401
    except ImportError:         # here the GPU context must be refused plainly
        cases.append(((run, "--context", "cudnn"), "nnabla-ext-cuda120"))
    for args, words in cases:
        status, out, err = run_cli("evaluate", *args)
        assert status == 2, (args, err)
        assert len(err.strip().splitlines()) == 1 and words in err and "Fix:" in err, err
    # with best.h5 gone the default falls back to last.h5
    status, _, err = run_cli("evaluate", only_last)
    assert status == 0, err
    metrics = json.load(open(only_last / "evaluation" / "metrics.json"))
    assert metrics["model"].endswith(os.path.join("checkpoints", "last.h5"))


REGRESSION = """
    network:
      - {type: Input, name: x, size: [1, 8, 8]}
      - {type: Affine, out_shape: 1}
      - {type: SquaredError, target: y}
    """


def test_regression_reports_loss_and_mean_absolute_error(tmp_path):
    train = write_digits(str(tmp_path / "train"), n=30, seed=3)
    valid = write_digits(str(tmp_path / "valid"), n=11, seed=4)
    project = tiny_project(str(tmp_path), train, valid, epochs=2, network=REGRESSION)
    run = str(tmp_path / "run")
    status, out, err = run_cli("run", project, "-o", run)
    assert status == 0, err
    # its error is the loss: 1 - loss would be no accuracy
    valid_error = float(final_metrics(run)["valid_error"])
    assert f"validation error (the loss) {valid_error:.6g} after 2 epochs" in out and "accuracy" not in out
    status, out, err = run_cli("evaluate", run, "--model", "last")
    assert status == 0, err
    folder = os.path.join(run, "evaluation")
    assert sorted(os.listdir(folder)) == ["metrics.json", "output_result.csv"]
    result = read_rows(os.path.join(folder, "output_result.csv"))
    assert result[0] == ["x:image", "y:label", "y'"]
    predicted = np.array([float(r[2]) for r in result[1:]])
    truth = np.array([float(r[1]) for r in result[1:]])
    metrics = json.load(open(os.path.join(folder, "metrics.json")))
    assert metrics["samples"] == 11
    assert abs(metrics["mean_absolute_error"]["y'"] - np.abs(predicted - truth).mean()) <= 1e-6
    assert abs(metrics["loss"] - ((predicted - truth) ** 2).mean()) <= 1e-5
    assert abs(metrics["loss"] - float(final_metrics(run)["valid_cost"])) <= 1e-5
    assert "mean absolute error" in out


def test_a_regression_kfold_reports_the_loss_not_an_accuracy(tmp_path):
    data = write_digits(str(tmp_path / "d"), n=24, seed=3)
    project = tiny_project(str(tmp_path), data, epochs=1, network=REGRESSION)
    status, out, err = run_cli("run", project, "--kfold", "2", "-o", tmp_path / "cv")
    assert status == 0, err
    summary = json.load(open(tmp_path / "cv" / "kfold.json"))
    assert "mean_valid_accuracy" not in summary and all(f["valid_accuracy"] is None for f in summary["folds"])
    errors = [f["valid_error"] for f in summary["folds"]]
    assert summary["mean_valid_error"] == pytest.approx(np.mean(errors))
    assert f"2-fold cross-validation: validation error (the loss) {np.mean(errors):.6g}" in out
    assert "accuracy" not in out


def test_lenet_on_the_bundled_digits(tmp_path):
    """The issue's acceptance: the matrix sums to 1,000 and its accuracy is the run's final one."""
    from nncgraph.data.mnist_sample import write_mnist_sample

    data = write_mnist_sample(str(tmp_path / "mnist"))
    run = str(tmp_path / "run")
    status, _, err = run_cli("run", os.path.join(ROOT, "projects", "lenet-mnist.yaml"), "--epochs", "1",
                             "--dataset", f"training={data['train_csv']}",
                             "--dataset", f"validation={data['valid_csv']}", "-o", run)
    assert status == 0, err
    status, out, err = run_cli("evaluate", run, "--model", "last")
    assert status == 0, err
    folder = os.path.join(run, "evaluation")
    for name in FILES:
        assert os.path.getsize(os.path.join(folder, name)) > 0, name
    table = read_rows(os.path.join(folder, "confusion_matrix.csv"))
    assert table[0][1:] == [str(d) for d in range(10)]     # the sample's labels.txt
    matrix = np.array([[int(c) for c in r[1:]] for r in table[1:]])
    assert matrix.sum() == 1000
    valid_error = float(final_metrics(run)["valid_error"])
    assert abs(np.trace(matrix) / 1000 - (1 - valid_error)) <= 1e-9
    assert f"accuracy {1 - valid_error:.4f}" in out
    assert len(read_rows(os.path.join(folder, "output_result.csv"))) == 1001
