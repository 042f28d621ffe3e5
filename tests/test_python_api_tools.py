"""The API's tools (nncgraph/api_tools.py and the library functions nncgraph exports): compare, structure
search, import, the dataset writers, layer descriptions, the schema; and the CLI commands built on them."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

import nncgraph
from conftest import ROOT, main_in_process, tiny_project, write, write_digits
from nncgraph.errors import UserError


@pytest.fixture
def tiny(tmp_path):
    data = write_digits(str(tmp_path / "d"), n=24)
    return tiny_project(str(tmp_path), data, data, epochs=2)


def test_every_exported_name_is_a_function_or_class_even_after_the_subpackages_are_imported():
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(nncgraph.__path__):       # nncgraph.layers, nncgraph.search, ...
        if module.name != "__main__":
            importlib.import_module(f"nncgraph.{module.name}")
    for name in nncgraph.__all__:
        value = getattr(nncgraph, name)
        assert callable(value) and not isinstance(value, type(nncgraph)), name
    from nncgraph.data import create, kfold, mnist_sample
    from nncgraph.layer_docs import layer_info
    from nncgraph.project.schema import project_schema

    # the API is the library functions themselves, the ones the CLI calls
    assert nncgraph.create_dataset is create.create_dataset and nncgraph.write_kfold is kfold.write_kfold
    assert nncgraph.write_mnist_sample is mnist_sample.write_mnist_sample
    assert nncgraph.layer_info is layer_info and nncgraph.schema is project_schema
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        nncgraph.nothing


@pytest.mark.e2e
def test_importing_nncgraph_loads_no_tool_and_layers_and_schema_import_no_nnabla():
    code = ("import sys, nncgraph; loaded = [m for m in ('nncgraph.api', 'nncgraph.api_tools', 'nncgraph.layer_docs', "
            "'PIL') if m in sys.modules]; n = len(nncgraph.layer_types()); s = nncgraph.schema()['title']; "
            "print(loaded, n > 100, s, 'nnabla' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout
    assert out.split() == ["[]", "True", "nncgraph", "project", "file", "False"]


def test_layer_types_and_layer_info_are_what_nncgraph_layers_json_prints(capsys):
    status, out, _ = main_in_process(capsys, "layers", "--json")
    assert status == 0 and nncgraph.layer_types() == json.loads(out)
    status, out, _ = main_in_process(capsys, "layers", "Convolution", "--json")
    conv = nncgraph.layer_info("Convolution")
    assert status == 0 and conv == json.loads(out)
    assert conv["category"] == "Basic" and conv["nnabla_function"] == "Convolution"
    assert [p["name"] for p in conv["properties"]][:3] == ["out_maps", "kernel_shape", "border_mode"]
    with pytest.raises(UserError, match="unknown layer type 'Convolutoin'.*Convolution"):
        nncgraph.layer_info("Convolutoin")


def test_schema_is_what_nncgraph_schema_prints_and_the_checked_in_file(capsys):
    status, out, _ = main_in_process(capsys, "schema")
    assert status == 0 and nncgraph.schema() == json.loads(out)
    with open(os.path.join(ROOT, "schemas", "project.schema.json"), encoding="utf-8") as f:
        assert nncgraph.schema() == json.load(f)


def test_compare_returns_the_rows_it_writes_and_the_cli_prints_them(tiny, tmp_path, capsys):
    p = nncgraph.load(tiny)
    long = p.train(out=str(tmp_path / "long"), epochs=2, finish=False, log=lambda line: None)
    short = p.train(out=str(tmp_path / "short"), epochs=1, finish=False, log=lambda line: None)
    rows = nncgraph.compare([long.path, short.path], out=tmp_path / "cmp")
    assert [row["epochs"] for row in rows] == [2, 1]
    assert rows[0]["curve"] == [(row["epoch"], row["valid_error"]) for row in long.metrics]
    assert rows[1]["final_valid_error"] == short.metrics[-1]["valid_error"] == rows[1]["best_valid_error"]
    assert rows[0]["params"] == long.result["total_params"] > 0
    with open(tmp_path / "cmp" / "compare.csv") as f:
        written = list(csv.DictReader(f))
    assert [float(r["final_valid_error"]) for r in written] == [r["final_valid_error"] for r in rows]
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 1000
    assert [r["epochs"] for r in nncgraph.compare(short.path, out=str(tmp_path / "one"))] == [1]   # one path
    from nncgraph.report.compare import table_lines

    status, out, err = main_in_process(capsys, "compare", long.path, short.path, "-o", tmp_path / "cmp2")
    assert status == 0, err
    assert out.splitlines()[:3] == table_lines(rows)
    with pytest.raises(UserError, match="not a run folder"):
        nncgraph.compare([str(tmp_path / "d")], out=str(tmp_path / "x"))


def test_import_project_refuses_as_the_cli_does_and_round_trips_an_nntxt(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nntxt = str(tmp_path / "tiny.nntxt")
    nncgraph.load(tiny).export(nntxt, "nntxt")
    target = str(tmp_path / "imported.yaml")
    refusals = [(("tiny.txt", target), "cannot import 'tiny.txt': unknown file type '.txt'"),
                ((nntxt, str(tmp_path)), "is a directory; the imported project is a file"),
                ((str(tmp_path / "missing.nnp"), target), "missing.nnp' does not exist")]
    for (source, out), message in refusals:     # the same UserError from Python as from the CLI
        with pytest.raises(UserError, match=message):
            nncgraph.import_project(source, out)
        status, _, err = main_in_process(capsys, "import", source, "-o", out)
        assert status == 2 and message in err
    os.mkdir(tmp_path / "folder.nntxt")
    with pytest.raises(UserError, match="is a directory, not a .nntxt file"):
        nncgraph.import_project(str(tmp_path / "folder.nntxt"), target)

    assert nncgraph.import_project(nntxt, target) == target
    runtime = nncgraph.load(target).check()["networks"]["Main"]["variants"]["runtime"]
    original = nncgraph.load(tiny).check()["networks"]["Main"]["variants"]["runtime"]
    assert (runtime["total_params"], runtime["total_macs"]) == (original["total_params"], original["total_macs"])
    with pytest.raises(UserError, match="already exists; importing would overwrite it"):
        nncgraph.import_project(nntxt, target)
    write(target, "old")
    assert nncgraph.import_project(nntxt, target, force=True) == target and open(target).read() != "old"
    status, out, err = main_in_process(capsys, "import", "tiny.nntxt", "-o", "again.yaml")
    assert status == 0, err
    assert out == ("wrote again.yaml; `nncgraph check again.yaml` shows its shapes, and `nncgraph run` trains it "
                   "(--dataset NAME=CSV points it at your data)\n")


@pytest.fixture
def captured_search(monkeypatch):
    """run_search replaced by a recorder: what structure_search hands it, without training anything."""
    import nncgraph.search.engine as engine

    calls = []

    def record(project, out, settings, **options):
        calls.append(dict(options, project=project, out=out, settings=settings))
        return {"trials": 0, "complete": 0, "pruned": 0, "diverged": 0, "invalid": 0, "pareto": [],
                "csv": os.path.join(out, "search.csv"), "plot": os.path.join(out, "tradeoff.png"),
                "pareto_dir": os.path.join(out, "pareto")}

    monkeypatch.setattr(engine, "run_search", record)
    return calls


def test_structure_search_merges_the_file_settings_with_the_keywords_as_the_cli_options_do(
        tiny, tmp_path, capsys, monkeypatch, captured_search):
    with open(tiny, "a") as f:
        f.write("search: {trials: 7, time_limit: 30m, fidelity: {min_epochs: 2, reduction_factor: 4}}\n")
    monkeypatch.chdir(tmp_path)
    nncgraph.structure_search(tiny, epochs=3, pruner="hyperband", seed=5, log=len)
    status, out, err = main_in_process(capsys, "search", tiny, "--epochs", "3", "--pruner", "hyperband",
                                       "--seed", "5")
    assert status == 0, err
    api_call, cli_call = captured_search
    assert api_call["log"] is len and cli_call["log"] is print
    for call in captured_search:
        s = call["settings"]
        assert (s.trials, s.time_limit, s.epochs, s.seed) == (7, 1800.0, 3, 5)
        assert (s.fidelity.min_epochs, s.fidelity.reduction_factor, s.fidelity.pruner) == (2, 4, "hyperband")
        assert call["out"] == os.path.join("searches", "tiny")      # the project's name
        assert (call["storage_url"], call["study_name"], call["resume"]) == (None, None, False)
    assert out.splitlines()[0] == ("0 trials: 0 trained, 0 stopped early, 0 diverged (NaN or inf, no score), "
                                   "0 invalid (not trained)")
    assert out.splitlines()[2] == f"search.csv: {os.path.join('searches', 'tiny', 'search.csv')}"
    nncgraph.structure_search(tiny, tmp_path / "s", trials=2, time_limit=90, storage="j.journal", study="st",
                              resume=True)
    s = captured_search[-1]["settings"]
    assert (s.trials, s.time_limit, captured_search[-1]["out"]) == (2, 90.0, str(tmp_path / "s"))
    assert (captured_search[-1]["storage_url"], captured_search[-1]["study_name"]) == ("j.journal", "st")
    assert captured_search[-1]["resume"] is True


def test_structure_search_refuses_bad_settings_before_anything_is_written(tiny, tmp_path, captured_search):
    with pytest.raises(UserError, match="trials must be 1 or more, got 0"):
        nncgraph.structure_search(tiny, str(tmp_path / "s"), trials=0)
    with pytest.raises(UserError, match="unknown objective 'speed'"):
        nncgraph.structure_search(tiny, str(tmp_path / "s"), objective="speed")
    typo = write(str(tmp_path / "typo.yaml"), open(tiny).read() + "search: {trails: 5}\n")
    with pytest.raises(UserError, match="unknown search setting"):
        nncgraph.structure_search(typo, str(tmp_path / "s"))
    escaping = write(str(tmp_path / "esc.yaml"), open(tiny).read().replace("name: tiny", "name: ../x"))
    with pytest.raises(UserError, match="names a folder"):
        nncgraph.structure_search(escaping)
    assert captured_search == [] and not (tmp_path / "s").exists()


def test_structure_search_trains_candidates_and_returns_the_summary(tiny, tmp_path):
    lines = []
    summary = nncgraph.structure_search(tiny, str(tmp_path / "s"), trials=2, epochs=1, log=lines.append)
    assert (summary["trials"], summary["complete"] + summary["invalid"] + summary["diverged"]) == (2, 2)
    assert summary["complete"] >= 1 and summary["pareto"] and set(summary["pareto"]) <= {0, 1}
    with open(summary["csv"]) as f:
        assert len(list(csv.DictReader(f))) == 2
    assert os.path.isfile(summary["plot"]) and lines[0].startswith("study 'tiny' (NNC-style mutation")


def test_write_kfold_and_create_dataset_refuse_bad_arguments_from_python(tmp_path):
    data = write_digits(str(tmp_path / "d"), n=12)
    with pytest.raises(UserError, match="k must be a whole number of folds, got '3'"):
        nncgraph.write_kfold(data, "3", str(tmp_path / "f"))
    folds = nncgraph.write_kfold(data, 3, str(tmp_path / "f"), seed=1)
    assert [(f["n_train"], f["n_valid"]) for f in folds] == [(8, 4)] * 3
    with pytest.raises(UserError, match="--mode must be one of trim, pad, resize"):
        nncgraph.create_dataset(str(tmp_path / "d"), str(tmp_path / "o"), width=8, height=8, channels=1,
                                mode="crop", split="80,20")
