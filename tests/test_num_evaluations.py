"""Issue 13, item 7: NNC's executor "Number of Evaluations". nnabla_cli forward (nnabla/utils/cli/forward.py,
`_forward`) runs the executor's network num_evaluations times per batch and sums each output over the passes,
then divides by the count ("mean") or keeps the last pass ("last"); NNC writes RepeatEvaluationType 0 as "mean"
and 1 as "last". In nncgraph that is the project's `evaluation:` section, run by `evaluate` and `infer`
(`--num-evaluations N`), imported from [Executor_N], and written into an .nnp's executor."""
from __future__ import annotations

import csv
import functools
import os

import numpy as np
import pytest
import yaml

from conftest import run_cli
from nncgraph.errors import UserError
from nncgraph.project.load import parse_project
from nncgraph.project.model import EvaluationSpec
from sdcproj_text import line_number, sdcproj
from test_import_sdcproj import assert_shapes_match_nnabla
from test_import_sdcproj_fixtures import CLASSIFIER, checked, comments, import_error, imported, settings

PASSES = 5
# CLASSIFIER with MC dropout before its Affine: NNC's Dropout with SkipAtTest=False stays in MainRuntime
DROPOUT = ("Dropout", "Dropout", {"P": "0.5", "Seed": "-1", "SkipAtTest": "False"}, ["MaxPooling"])
MC_CLASSIFIER = CLASSIFIER[:4] + [DROPOUT, ("Affine", "Affine", CLASSIFIER[4][2], ["Dropout"])] + CLASSIFIER[5:]


def executor(**values):
    """[Executor_0] of settings(), NumEvaluations=5, with `values` changed."""
    return {**settings()["Executor_0"], "NumEvaluations": str(PASSES), **values}


def mc_text(**values):
    return sdcproj({"Main": MC_CLASSIFIER}, settings(Executor_0=executor(**values)), single=True)


# -- the importer ---------------------------------------------------------------------------------------------
def test_the_fixture_imports_with_its_executor_as_the_evaluation_section_and_checks(tmp_path):
    doc, project, text = imported(tmp_path, mc_text())
    assert doc["evaluation"] == {"num_evaluations": PASSES, "repeat": "mean"}
    assert project.evaluation == EvaluationSpec(num_evaluations=PASSES, repeat="mean")
    assert "times per sample" not in comments(text)          # a setting now, not a note
    assert {"type": "Dropout", "skip_at_test": False} in doc["network"]
    layers, report = checked(project, variant="runtime")
    assert "Dropout" in layers and report["total_params"] == 40 + 195     # the MC dropout stays at runtime
    assert_shapes_match_nnabla(project)


def test_repeat_evaluation_type_1_is_last():
    from nncgraph.interop.sdcproj_executor import REPEAT_TYPES

    assert REPEAT_TYPES == {"0": "mean", "1": "last"}     # NNC's editor: the radio buttons Mean, Last


@pytest.mark.parametrize("kind, repeat", [("0", "mean"), ("1", "last"), ("", "mean")])
def test_the_repeat_evaluation_type_imports_as_nnc_writes_it(tmp_path, kind, repeat):
    doc, project, _ = imported(tmp_path, mc_text(RepeatEvaluationType=kind))
    assert doc["evaluation"]["repeat"] == repeat and project.evaluation.repeat == repeat


@pytest.mark.parametrize("count", ["1", "0", "-3"])
def test_one_pass_or_fewer_is_no_section(tmp_path, count):
    doc, project, _ = imported(tmp_path, mc_text(NumEvaluations=count, RepeatEvaluationType="1"))
    assert "evaluation" not in doc          # nnabla's loader runs 0 or less once; one pass is mean and last
    assert project.evaluation == EvaluationSpec(1, "mean")


@pytest.mark.parametrize("key, value, fragment", [
    ("NumEvaluations", "many", "NumEvaluations=many is not a whole number"),
    ("NumEvaluations", "20000", "NumEvaluations=20,000 is more than the 10,000 passes"),
    ("RepeatEvaluationType", "2", "RepeatEvaluationType=2 is neither 0 (mean) nor 1 (last)"),
])
def test_an_executor_value_nncgraph_cannot_run_is_an_error_at_its_line(tmp_path, key, value, fragment):
    text = mc_text(**{key: value})
    message = import_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:{line_number(text, f'{key}={value}')}: "), message
    assert fragment in message and "Fix:" in message and "\n" not in message, message


def test_what_the_evaluation_section_cannot_hold_is_noted(tmp_path):
    text = sdcproj({"Main": MC_CLASSIFIER}, settings(
        Executor_0=executor(NeedBackPropagation="1", Executor_DatasetName="Training"),
        Executor_1={**executor(), "Executor_Name": "Second"}), single=True)
    doc, _, yaml_text = imported(tmp_path, text)
    assert doc["evaluation"] == {"num_evaluations": PASSES, "repeat": "mean"}
    notes = comments(yaml_text)
    assert "executor 'Second' (network 'MainRuntime', [Executor_1]) was not imported" in notes
    assert "back propagation after each pass" in notes and "evaluates dataset 'Training'" in notes
    lines = yaml_text.splitlines()
    # the notes sit right above the section they are about
    assert lines[lines.index("evaluation: {num_evaluations: 5, repeat: mean}") - 1].startswith("#")


def test_nncs_mc_dropout_sample_keeps_its_100_passes(tmp_path):
    from test_import_sdcproj import imported as imported_sample, sample

    project, _ = imported_sample(tmp_path, sample("tutorial__explainable_dl__05_MCdropout.sdcproj"))
    # [Executor_0] NumEvaluations=100, RepeatEvaluationType=1: what NNC's console writes as "last"
    assert project.evaluation == EvaluationSpec(100, "last")
    dropout = next(spec for spec in project.networks["Main"] if spec.type == "Dropout")
    assert dropout.props["skip_at_test"] is False
    assert_shapes_match_nnabla(project)


# -- the project file ----------------------------------------------------------------------------------------
PROJECT = """name: t
network:
  - {type: Input, name: x, size: [1, 4, 4]}
  - {type: Dropout, skip_at_test: false}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def test_the_evaluation_section_defaults_to_one_pass_and_renders_back(tmp_path):
    from nncgraph.graph.render import render_yaml

    assert parse_project(PROJECT, str(tmp_path / "t.yaml")).evaluation == EvaluationSpec(1, "mean")
    project = parse_project(PROJECT + "evaluation: {num_evaluations: 30, repeat: last}\n", str(tmp_path / "t.yaml"))
    assert project.evaluation == EvaluationSpec(30, "last")
    rendered = render_yaml(project)
    assert yaml.safe_load(rendered)["evaluation"] == {"num_evaluations": 30, "repeat": "last"}
    assert parse_project(rendered, str(tmp_path / "t.yaml")).evaluation == project.evaluation


@pytest.mark.parametrize("section, fragment", [
    ("{num_evaluations: 0}", "'num_evaluations' must be 1 or more, got 0"),
    ("{num_evaluations: -1}", "'num_evaluations' must be 1 or more, got -1"),
    ("{num_evaluations: 1000000000}", "'num_evaluations' must be at most 10,000, got 1,000,000,000"),
    ("{num_evaluations: 2.5}", "'num_evaluations' must be an integer, got 2.5"),
    ("{repeat: median}", "'repeat' must be one of 'mean', 'last', got 'median'"),
    ("{repeats: mean}", "unknown evaluation key 'repeats'"),
])
def test_a_bad_evaluation_value_is_an_error_at_its_line(tmp_path, section, fragment):
    with pytest.raises(UserError) as caught:
        parse_project(PROJECT + f"evaluation: {section}\n", str(tmp_path / "t.yaml"))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 't.yaml'}:7:"), message
    assert fragment in message and "Fix:" in message and "\n" not in message, message


@pytest.mark.parametrize("value, fragment", [(0, "must be 1 or more, got 0"), (-1, "must be 1 or more, got -1"),
                                             (10 ** 9, "must be at most 10,000, got 1,000,000,000"),
                                             (10 ** 30, "must be below 2^63"), (True, "must be an integer"),
                                             ("5", "must be an integer")])
def test_a_bad_num_evaluations_override_is_one_line(value, fragment):
    from nncgraph.evaluate.model import evaluation_settings

    with pytest.raises(UserError) as caught:
        evaluation_settings(EvaluationSpec(), value)
    message = str(caught.value)
    assert message.startswith("--num-evaluations ") and fragment in message and "\n" not in message, message
    assert message.endswith("Fix: give the number of passes per batch, 1 to 10,000: e.g. --num-evaluations 30")
    assert evaluation_settings(EvaluationSpec(3, "last"), 7) == EvaluationSpec(7, "last")
    assert evaluation_settings(EvaluationSpec(3, "last")) == EvaluationSpec(3, "last")


# -- the engine: the passes ------------------------------------------------------------------------------------
def _runtime_model(project, evaluation, batch_size=4):
    """A TrainedModel over the project's initial parameters, on an engine seeded as load_model seeds it."""
    from nncgraph.engines import make_engine
    from nncgraph.evaluate.model import TrainedModel
    from nncgraph.graph.variants import variant_graphs

    validation, runtime = variant_graphs(project, "Main", ("validation", "runtime")).values()
    engine = make_engine(project.context, seed=project.training.seed)
    executor = engine.compile(runtime, batch_size)
    return TrainedModel("", project, "", validation, runtime, engine, executor, [], batch_size, evaluation)


def _hand_passes(project, batch, node, n):
    """n forward passes by hand on a fresh engine with the same seed: what NNC's executor loops over."""
    executor = _runtime_model(project, EvaluationSpec()).executor
    return [executor.forward(batch, [node])[node] for _ in range(n)]


def test_the_mean_of_n_passes_is_the_mean_of_n_seeded_passes_and_differs_from_one(tmp_path):
    _, project, _ = imported(tmp_path, mc_text())
    batch = {"x": np.random.RandomState(3).rand(4, 1, 8, 8).astype(np.float32)}
    passes = _hand_passes(project, batch, "Softmax", PASSES)
    assert not np.array_equal(passes[0], passes[1])           # each pass draws a new dropout mask
    # as nnabla_cli forward: summed in float32, then divided by the count
    mean = functools.reduce(np.add, passes) / PASSES
    got = _runtime_model(project, project.evaluation).forward(batch, ["Softmax"])["Softmax"]
    assert got.dtype == np.float32 and np.array_equal(got, mean)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)    # a mean of softmaxes is one
    again = _runtime_model(project, project.evaluation).forward(batch, ["Softmax"])["Softmax"]
    assert np.array_equal(again, got)                          # the seed repeats the whole evaluation
    once = _runtime_model(project, EvaluationSpec(1, "mean")).forward(batch, ["Softmax"])["Softmax"]
    assert np.array_equal(once, passes[0]) and not np.allclose(once, got)
    last = _runtime_model(project, EvaluationSpec(PASSES, "last")).forward(batch, ["Softmax"])["Softmax"]
    assert np.array_equal(last, passes[-1])


def test_a_network_without_random_layers_gives_the_same_outputs_for_any_count(tmp_path):
    _, project, _ = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(), single=True))
    batch = {"x": np.random.RandomState(4).rand(4, 1, 8, 8).astype(np.float32)}
    once = _runtime_model(project, EvaluationSpec(1, "mean")).forward(batch, ["Softmax"])["Softmax"]
    many = _runtime_model(project, EvaluationSpec(7, "mean")).forward(batch, ["Softmax"])["Softmax"]
    np.testing.assert_allclose(many, once, rtol=1e-6)


# -- .nnp export and import ------------------------------------------------------------------------------------
def test_export_writes_the_executor_fields_nnabla_reads_and_import_reads_them_back(tmp_path):
    from nnabla.utils import load as nnabla_load

    from nncgraph.interop.nnp_export import export_project
    from nncgraph.interop.nnp_import import import_nnp

    path = tmp_path / "t.yaml"
    project = parse_project(PROJECT + "evaluation: {num_evaluations: 12, repeat: last}\n", str(path))
    export_project(project, str(tmp_path / "m.nntxt"), "nntxt")
    text = (tmp_path / "m.nntxt").read_text()
    assert "num_evaluations: 12" in text and 'repeat_evaluation_type: "last"' in text
    info = nnabla_load.load([str(tmp_path / "m.nntxt")], prepare_data_iterator=False)
    executor = info.executors["Executor"]
    assert (executor.num_evaluations, executor.repeat_evaluation_type) == (12, "last")   # what forward loops on
    out = tmp_path / "imported.yaml"
    out.write_text(import_nnp(str(tmp_path / "m.nntxt"), str(out)))
    assert yaml.safe_load(out.read_text())["evaluation"] == {"num_evaluations": 12, "repeat": "last"}

    (tmp_path / "std.nntxt").write_text(text.replace('repeat_evaluation_type: "last"',
                                                     'repeat_evaluation_type: "std"'))
    with pytest.raises(UserError) as caught:
        import_nnp(str(tmp_path / "std.nntxt"), str(tmp_path / "std.yaml"))
    message = str(caught.value)
    executor_line = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("executor {"))
    assert message.startswith(f"{tmp_path / 'std.nntxt'}:{executor_line}: ") and "standard deviation" in message
    assert "Fix:" in message
    (tmp_path / "many.nntxt").write_text(text.replace("num_evaluations: 12", "num_evaluations: 20000"))
    with pytest.raises(UserError, match="runs its network 20,000 times per batch"):
        import_nnp(str(tmp_path / "many.nntxt"), str(tmp_path / "many.yaml"))
    (tmp_path / "none.nntxt").write_text(text.replace("num_evaluations: 12", "num_evaluations: 0"))
    # nnabla runs 0 once
    assert "evaluation" not in yaml.safe_load(import_nnp(str(tmp_path / "none.nntxt"), str(tmp_path / "none.yaml")))


# -- a trained fixture, evaluated and inferred ------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from nnc_fixture_run import train_fixture

    folder = tmp_path_factory.mktemp("num_evaluations")
    rows = train_fixture(folder, mc_text())
    return folder, rows


def _hand_mean(run_dir, passes):
    """The validation set's outputs as NNC's executor computes them, from N=1 models run N times by hand."""
    from nncgraph.engines.batches import padded_batches
    from nncgraph.evaluate.model import load_model
    from nncgraph.train.data_binding import bind_dataset

    model = load_model(run_dir, num_evaluations=1)
    data = bind_dataset(model.project, "validation", model.validation)
    out = []
    for start, stop, batch in padded_batches(data.arrays, model.batch_size, model.executor.inputs, data.scales,
                                             data.n_samples):
        runs = [model.executor.forward(batch, ["Softmax"])["Softmax"] for _ in range(passes)]
        out.append((functools.reduce(np.add, runs) / passes)[:stop - start])
    return np.concatenate(out)


def _outputs(metrics):
    with open(os.path.join(metrics["folder"], "output_result.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[f"y'__{k}"]) for k in range(3)] for r in rows], np.float32)


@pytest.mark.e2e      # trains a run (the learning curve's plot starts matplotlib)
def test_the_fixture_trains_and_evaluates_as_the_mean_of_its_seeded_passes(trained):
    import nncgraph

    folder, rows = trained
    assert rows[0]["cost"] > 0
    run = nncgraph.open_run(str(folder / "run"))
    assert run.project.spec.evaluation == EvaluationSpec(PASSES, "mean")     # the run folder keeps the setting
    metrics = run.evaluate()
    assert (metrics["num_evaluations"], metrics["repeat"]) == (PASSES, "mean")
    hand = _hand_mean(run.path, PASSES)
    got = _outputs(metrics)
    assert got.shape == (12, 3) and np.array_equal(got, hand)
    assert metrics["accuracy"] == np.mean(np.argmax(hand, axis=1) == np.arange(12) % 3)
    once = _outputs(run.evaluate(num_evaluations=1))
    assert np.array_equal(once, _hand_mean(run.path, 1)) and not np.allclose(once, got)
    inferred = run.infer([str(folder / "valid" / "data.csv")], num_evaluations=PASSES)
    assert [r["probability"] for r in inferred] == [float(p) for p in hand.max(axis=1)]
    with pytest.raises(UserError, match="--num-evaluations must be 1 or more, got 0"):
        run.infer([str(folder / "valid" / "data.csv")], num_evaluations=0)


@pytest.mark.e2e
@pytest.mark.parametrize("command, value, fragment", [
    ("evaluate", "0", "must be 1 or more, got 0"),
    ("evaluate", "-1", "must be 1 or more, got -1"),
    ("evaluate", str(10 ** 30), "must be below 2^63"),
    ("evaluate", "20000", "must be at most 10,000, got 20,000"),
    ("infer", "0", "must be 1 or more, got 0"),
])
def test_a_bad_count_on_the_cli_is_one_line_and_status_2(trained, command, value, fragment):
    folder, _ = trained
    extra = [str(folder / "valid" / "data.csv")] if command == "infer" else []
    status, out, err = run_cli(command, folder / "run", *extra, "--num-evaluations", value)
    assert status == 2 and out == "", (status, out, err)
    assert err.startswith("nncgraph: error: --num-evaluations ") and fragment in err, err
    assert err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.e2e
def test_the_cli_says_how_many_passes_it_averaged(trained):
    folder, _ = trained
    status, out, err = run_cli("evaluate", folder / "run", "--num-evaluations", "3", "--dataset",
                               folder / "valid" / "data.csv")
    assert status == 0, err
    assert "outputs: the mean of 3 passes per sample" in out
