"""A run never lies: NaN/inf outputs are errors, a diverging cost stops the run, checkpoints stay finite."""
from __future__ import annotations

import csv
import json
import math
import os
import re
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import run_cli, tiny_project, write, write_digits

DIVERGE = "lr_scheduler: {type: Step, multiplier: 1.0e+30, steps: [1]}"


def h5(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def spoil(path, value=np.nan):
    """Overwrite every parameter of an .h5 in place (what a run that saved NaN weights would leave)."""
    import h5py

    with h5py.File(path, "r+") as f:
        f.visititems(lambda name, obj: obj.__setitem__(Ellipsis, value) if isinstance(obj, h5py.Dataset) else None)


def metric_rows(run):
    with open(os.path.join(str(run), "metrics.csv")) as f:
        return list(csv.DictReader(f))


def project_with(folder, training_extra, epochs=3, n_train=48, network=None):
    folder = str(folder)
    write_digits(os.path.join(folder, "t"), n=n_train)
    write_digits(os.path.join(folder, "v"), n=24, seed=1)
    path = tiny_project(folder, "t/data.csv", "v/data.csv", epochs=epochs, **({"network": network} if network else {}))
    text = open(path).read().replace("seed: 1}", "seed: 1" + (", " + training_extra if training_extra else "") + "}")
    open(path, "w").write(text)
    return path


def one_line(err):
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.e2e
def test_a_diverging_run_stops_with_exit_2_and_keeps_epoch_1(tmp_path):
    project = project_with(tmp_path / "a", DIVERGE)
    status, out, err = run_cli("run", project, "-o", tmp_path / "run")
    line = one_line(err)
    assert status == 2, err
    # Adam's 0.001 times 1e30: the rate in force is named, and called too high
    assert re.search(r"cost became nan at epoch 2, iteration \d+; the learning rate 1e\+27 is likely too high",
                     line), line
    assert "validation accuracy" not in out and not (tmp_path / "run" / "result.json").exists()
    rows = metric_rows(tmp_path / "run")
    assert [r["epoch"] for r in rows] == ["1"]           # the finished epoch, its validation included
    assert all(math.isfinite(float(rows[0][k])) for k in ("cost", "train_error", "valid_cost", "valid_error"))

    # what epoch 1 alone writes (the schedule only changes at epoch 2), into a second folder
    reference = project_with(tmp_path / "b", DIVERGE, epochs=1)
    assert run_cli("run", reference, "-o", tmp_path / "ref")[0] == 0
    checkpoints, expected = tmp_path / "run" / "checkpoints", tmp_path / "ref" / "checkpoints"
    for name, want in (("best.h5", "best.h5"), ("last.h5", "last.h5"), ("resume/parameters.h5", "last.h5")):
        got, ref = h5(checkpoints / name), h5(expected / want)
        assert got.keys() == ref.keys() and all(np.isfinite(v).all() for v in got.values())
        assert all(np.array_equal(got[k], ref[k]) for k in ref), name
    assert json.load(open(checkpoints / "resume" / "state.json"))["epoch"] == 1


@pytest.mark.e2e
def test_weights_that_turn_non_finite_in_an_epochs_last_update_stop_the_run(tmp_path):
    """One iteration per epoch: epoch 2's cost is computed on epoch 1's weights (finite); its update is not."""
    project = project_with(tmp_path / "a", "lr_scheduler: {type: Step, multiplier: 1.0e+45, steps: [1]}",
                           n_train=8)
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    line = one_line(err)
    assert status == 2
    assert re.search(r"parameter '[^']+' became (nan|inf) in the last update at epoch 2, iteration 1", line), line
    assert [r["epoch"] for r in metric_rows(tmp_path / "run")] == ["1"]
    assert all(np.isfinite(v).all() for v in h5(tmp_path / "run" / "checkpoints" / "last.h5").values())


def test_the_divergence_message_names_the_likely_cause():
    from nncgraph.finite_checks import diverged
    from nncgraph.project.model import OptimizerSpec

    adam, sgd = OptimizerSpec("Adam", {"alpha": 0.001}, 0.0), OptimizerSpec("Sgd", {"learning_rate": 0.01}, 0.0)

    def text(rate, optimizer=adam, inputs=(), updates=5, epoch=3):
        return str(diverged("cost became nan", epoch, 4, rate, optimizer, bad_inputs=inputs, updates_done=updates,
                            location=None))

    assert text(1e27).startswith("cost became nan at epoch 3, iteration 4; the learning rate 1e+27 is likely "
                                 "too high. The checkpoints of epoch 2 are kept.")
    assert "Adam's usual rate is 0.001" in text(1e27)
    moderate = text(0.002)      # twice Adam's default: no reason to blame the rate first
    assert "the learning rate 0.002 is not unusually high for Adam" in moderate and "the data" in moderate
    assert "likely too high" in text(0.1, sgd) and "not unusually high" in text(0.05, sgd)
    assert "no update had been made yet, so the initial weights" in text(1e27, updates=0, epoch=1)
    assert "No epoch finished, so no checkpoint was written" in text(1e27, updates=0, epoch=1)
    assert "this batch's 'x' holds non-finite values, so the data is the cause" in text(1e27, inputs=["x"])


def test_a_checkpoint_with_non_finite_weights_is_refused_and_the_old_one_kept(tmp_path):
    import nnabla as nn

    from nncgraph.finite_checks import NonFiniteError
    from nncgraph.train.run_folder import RunFolder

    run = RunFolder(str(tmp_path / "run"))
    good = {"w": nn.Variable.from_numpy_array(np.ones((2, 2), np.float32))}
    path = run.save_checkpoint("best", good)
    before = open(path, "rb").read()
    bad = {"w": nn.Variable.from_numpy_array(np.array([[1, np.inf], [0, 0]], np.float32))}
    with pytest.raises(NonFiniteError) as info:
        run.save_checkpoint("best", bad)
    assert "parameter 'w' holds inf" in str(info.value)
    assert open(path, "rb").read() == before
    assert os.listdir(os.path.dirname(path)) == ["best.h5"]      # no temporary file left either


NAN_W = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, name: conv, out_maps: 4, kernel_shape: [3, 3], w_file: w.npy}
  - {type: ReLU}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


@pytest.mark.e2e
def test_a_nan_w_file_is_a_user_error_before_anything_is_written(tmp_path):
    project = project_with(tmp_path, "", network=NAN_W)
    weights = np.full((4, 1, 3, 3), 0.1, np.float32)
    weights[1, 0, 2, 2] = np.nan
    np.save(tmp_path / "w.npy", weights)
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    line = one_line(err)
    assert status == 2
    assert "layer 'conv' (Convolution)" in line and "'conv/conv/W'" in line and "'w.npy'" in line
    assert "1 non-finite value(s)" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.e2e
def test_a_nan_init_from_is_a_user_error_before_anything_is_written(tmp_path):
    source = project_with(tmp_path / "pre", "", epochs=1)
    assert run_cli("run", source, "-o", tmp_path / "pre" / "run")[0] == 0
    spoil(tmp_path / "pre" / "run" / "checkpoints" / "best.h5", np.inf)
    project = project_with(tmp_path / "fine", "")
    with open(project, "a") as f:
        f.write("init_from: {path: ../pre/run, map: {'Convolution/*': 'Convolution/*'}}\n")
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    line = one_line(err)
    assert status == 2
    assert re.search(r"parameter 'Convolution/conv/[Wb]' read from '[^']*checkpoints/best\.h5' holds \d+ "
                     r"non-finite", line), line
    assert not (tmp_path / "run").exists()


# -- metrics ----------------------------------------------------------------------------------------

def compiled_monitor(folder, network=None):
    """The validation graph a run monitors with, built from a real project, with its monitor attached."""
    from nncgraph.engines import make_engine
    from nncgraph.graph.ir import network_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive
    from nncgraph.project.load import load_project

    project = load_project(project_with(folder, "", **({"network": network} if network else {})))
    inferred = infer(derive(network_graph(project, project.training.network), "validation"), "validation")
    return make_engine(project.context, seed=0).compile(inferred, 4, str(folder))     # seeded: weights that predict some 0s


def test_the_monitor_counts_nan_predictions_as_errors(tmp_path):
    """top_n_error compares with NaN and would call a NaN row with label 0 correct (accuracy 1.0)."""
    from nncgraph.train.evaluation import evaluate

    compiled = compiled_monitor(tmp_path)
    rng = np.random.RandomState(0)
    x = rng.rand(10, 1, 8, 8).astype(np.float32)
    y = np.zeros((10, 1), np.float32)               # every label 0: the class argmax(NaN) would name
    _, clean_error = evaluate(compiled, {"x": x, "y": y}, 4)
    x[[1, 6, 9]] = np.nan
    x[3, 0, 0, 0] = np.inf                          # one inf value is enough to spoil a sample
    cost, error = evaluate(compiled, {"x": x[[1, 3, 6, 9]], "y": y[:4]}, 4)
    assert error == 1.0 and math.isnan(cost)
    _, mixed = evaluate(compiled, {"x": x, "y": y}, 4)
    finite = [0, 2, 4, 5, 7, 8]
    _, finite_error = evaluate(compiled, {"x": x[finite], "y": y[finite]}, 4)
    assert mixed == pytest.approx((finite_error * 6 + 4) / 10)
    assert clean_error < 1.0


def test_a_regression_monitor_gives_a_non_finite_prediction_an_infinite_error(tmp_path):
    from nncgraph.train.evaluation import evaluate

    compiled = compiled_monitor(tmp_path, network="""
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Affine, out_shape: 1}
          - {type: SquaredError, target: y}
        """)
    x = np.ones((4, 1, 8, 8), np.float32)
    assert math.isfinite(evaluate(compiled, {"x": x, "y": np.zeros((4, 1), np.float32)}, 4)[1])
    x[2] = np.nan
    assert evaluate(compiled, {"x": x, "y": np.zeros((4, 1), np.float32)}, 4)[1] == math.inf


@pytest.mark.slow
def test_evaluate_metrics_count_non_finite_rows_as_wrong(tmp_path):
    from nncgraph.evaluate.evaluation import _classification, _top_columns, summary_lines

    probs = np.array([[0.8, 0.1, 0.1], [np.nan] * 3, [0.1, 0.8, 0.1], [np.inf, 0, 0], [0.2, 0.2, 0.6],
                      [0.7, 0.2, 0.1]], np.float32)
    truth = np.array([0, 0, 1, 0, 2, 1])
    out = SimpleNamespace(shape=(3,), column="y'")
    m = _classification(None, out, probs, truth, None, str(tmp_path), "t")
    assert m["correct"] == 3 and m["accuracy"] == 0.5              # rows 1 and 3 would be "class 0": wrong
    assert m["confusion_matrix"] == [[1, 0, 0, 2], [1, 1, 0, 0], [0, 0, 1, 0]]
    with open(tmp_path / "confusion_matrix.csv") as f:
        assert next(csv.reader(f)) == ["true \\ predicted", "0", "1", "2", "non-finite"]
    class0 = m["per_class"][0]
    assert class0["support"] == 3 and class0["recall"] == pytest.approx(1 / 3)
    assert class0["precision"] == pytest.approx(1 / 2)             # chosen twice (rows 0 and 5), once right
    assert m["likelihood"]["non_finite"] == 2
    assert sum(m["likelihood"]["correct"]) + sum(m["likelihood"]["incorrect"]) == 4
    _, cells = _top_columns(probs, None)
    assert cells[1] == [""] * 6 and cells[3] == [""] * 6 and cells[0][0] == "0"
    lines = summary_lines({**m, "samples": 6, "loss": None, "error": 0.5, "non_finite_outputs": 2,
                           "model": "m", "dataset": "d", "folder": "f", "files": []})
    assert lines[0].startswith("accuracy 0.5000 (3/6)") and "loss non-finite" in lines[0]
    assert "2 of 6 samples had non-finite outputs" in lines[1]


@pytest.mark.e2e
def test_evaluate_on_a_model_that_outputs_nan_reports_every_sample_wrong(tmp_path):
    project = project_with(tmp_path, "", epochs=1)
    assert run_cli("run", project, "-o", tmp_path / "run")[0] == 0
    spoil(tmp_path / "run" / "checkpoints" / "best.h5")
    status, out, err = run_cli("evaluate", tmp_path / "run")
    assert status == 0, err
    assert "accuracy 0.0000 (0/24)" in out and "24 of 24 samples had non-finite outputs" in out
    metrics = json.load(open(tmp_path / "run" / "evaluation" / "metrics.json"))
    assert metrics["error"] == 1.0 and metrics["loss"] is None and metrics["non_finite_outputs"] == 24
    with open(tmp_path / "run" / "evaluation" / "output_result.csv") as f:
        table = list(csv.DictReader(f))
    assert all(r["top1"] == "" for r in table)


@pytest.mark.e2e
def test_infer_on_a_model_that_outputs_nan_names_no_label_and_exits_2(tmp_path):
    project = project_with(tmp_path, "", epochs=1)
    assert run_cli("run", project, "-o", tmp_path / "run")[0] == 0
    image = next(p for p in sorted((tmp_path).rglob("*.png")))
    status, out, err = run_cli("infer", tmp_path / "run", image, "--model", "best")
    assert status == 0 and out.split("\t")[1] in {str(k) for k in range(10)}, err
    spoil(tmp_path / "run" / "checkpoints" / "best.h5")
    status, out, err = run_cli("infer", tmp_path / "run", image, "--model", "best")
    assert status == 2
    assert out.strip() == f"{image}\tnon-finite output (NaN or inf): no prediction"
    assert "1 of 1 input(s) gave NaN or inf outputs" in one_line(err)
    status, out, _ = run_cli("infer", tmp_path / "run", image, "--model", "best", "--json")
    assert status == 2 and json.loads(out)[0]["label"] is None and json.loads(out)[0]["non_finite"] is True


# -- k-fold and search ------------------------------------------------------------------------------

@pytest.mark.e2e
def test_a_diverging_kfold_stops_naming_the_fold_and_writes_no_summary(tmp_path):
    write_digits(str(tmp_path / "d"), n=30, classes=3)
    project = tiny_project(str(tmp_path), "d/data.csv", epochs=2)
    text = open(project).read().replace("seed: 1}", "seed: 1, " + DIVERGE + "}")
    open(project, "w").write(text)
    status, out, err = run_cli("run", project, "--kfold", "2", "-o", tmp_path / "cv")
    line = one_line(err)
    assert status == 2
    assert "fold 1 of 2: cost became nan at epoch 2" in line, line
    assert not (tmp_path / "cv" / "kfold.json").exists() and not (tmp_path / "cv" / "fold_2").exists()
    assert [r["epoch"] for r in metric_rows(tmp_path / "cv" / "fold_1")] == ["1"]


def test_a_trial_whose_error_is_not_finite_gets_no_score():
    from nncgraph.search.engine import objective_error

    def result(best, final):
        return SimpleNamespace(best_valid_error=best, final={"valid_error": final})

    assert objective_error(result(0.25, 0.5)) == 0.25
    assert objective_error(result(None, 0.5)) == 0.5
    assert objective_error(result(None, float("nan"))) is None     # NaN < anything is False: it would rank best
    assert objective_error(result(None, float("inf"))) is None
    assert objective_error(result(None, None)) is None


def test_the_pareto_front_ignores_non_finite_errors():
    from nncgraph.search.results import _state_name, pareto_trials

    def trial(number, error, macs, **attrs):
        return SimpleNamespace(number=number, state=SimpleNamespace(name="COMPLETE"),
                               user_attrs={"valid_error": error, "macs": macs, **attrs})

    trials = [trial(0, 0.3, 100), trial(1, float("nan"), 10), trial(2, 0.1, 1000)]
    assert [t.number for t in pareto_trials(trials)] == [0, 2]
    assert _state_name(trial(3, None, 5, diverged="cost became nan")) == "DIVERGED"


DIVERGING_SPACE = """
name: tiny-div
datasets:
  training: {csv: d/data.csv}
  validation: {csv: d/data.csv}
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
  - {type: ReLU}
  - {type: Affine, out_shape: 3, w_initializer: Normal, w_initializer_multiplier: {search: [0.1, 1.0e+37]}}
  - {type: SoftmaxCrossEntropy, target: y}
training: {max_epoch: 2, batch_size: 8}
"""


@pytest.mark.e2e
def test_a_search_records_a_diverging_candidate_as_diverged_not_as_a_score(tmp_path):
    """Weights of 1e37 overflow the first forward pass: the trial fails, the search goes on."""
    write_digits(str(tmp_path / "d"), n=24)
    project = write(tmp_path / "p.yaml", DIVERGING_SPACE)
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "3", "--sampler", "random",
                               "--seed", "1")
    assert status == 0, err
    with open(tmp_path / "s" / "search.csv") as f:
        table = list(csv.DictReader(f))
    diverged = [r for r in table if r["change"].endswith("=1e+37")]
    trained = [r for r in table if r["change"].endswith("=0.1")]
    assert diverged and trained and len(table) == 3          # a diverged trial counts toward --trials
    assert all(r["state"] == "DIVERGED" and r["valid_error"] == "" and r["pareto"] == "0" for r in diverged)
    assert all(r["state"] == "COMPLETE" and float(r["valid_error"]) < 1 for r in trained)
    log = open(tmp_path / "s" / "trials" / f"{int(diverged[0]['trial']):04d}" / "train.log").read()
    assert "cost became inf at epoch 1, iteration 1; no update had been made yet" in log


@pytest.mark.e2e
def test_an_infinite_validation_error_never_makes_an_epoch_best(tmp_path):
    """A regression whose validation set holds one sample too large for float32 arithmetic: the
    prediction is inf, so the error is inf -- it is reported, and no epoch is kept as best."""
    rng = np.random.RandomState(0)
    pairs = rng.rand(24, 2)
    write(tmp_path / "t.csv", "x__0,x__1,y\n" + "".join(f"{a},{b},{a + b}\n" for a, b in pairs[:16]))
    write(tmp_path / "v.csv", "x__0,x__1,y\n" + "".join(f"{a},{b},{a + b}\n" for a, b in pairs[16:])
          + "3e38,-3e38,0\n")
    project = write(tmp_path / "p.yaml", """
        name: reg
        datasets:
          training: {csv: t.csv}
          validation: {csv: v.csv}
        network:
          - {type: Input, name: x, size: [2]}
          - {type: Affine, out_shape: 1}
          - {type: SquaredError, target: y}
        training: {max_epoch: 2, batch_size: 4, seed: 1}
        """)
    status, out, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    assert [float(r["valid_error"]) for r in metric_rows(tmp_path / "run")] == [math.inf, math.inf]
    result = json.load(open(tmp_path / "run" / "result.json"))
    assert result["best_epoch"] is None and result["best_valid_error"] is None
    assert not (tmp_path / "run" / "checkpoints" / "best.h5").exists()
    metrics = json.load(open(tmp_path / "run" / "evaluation" / "metrics.json"))      # strict JSON: null, no Infinity
    assert metrics["non_finite_outputs"] == 1 and metrics["error"] is None
    assert metrics["mean_absolute_error"] == {"y'": None}
