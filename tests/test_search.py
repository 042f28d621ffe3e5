"""`nncgraph search`: declared spaces, results, workers sharing a journal, kill and resume, fidelity."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml

from conftest import ROOT, run_cli, write, write_digits

SPACE = """
name: tiny-space
datasets:
  training: {{csv: d/data.csv}}
  validation: {{csv: d/data.csv}}
network:
  - {{type: Input, name: x, size: [1, 8, 8]}}
  - {{type: Convolution, out_maps: {{search: [2, 4, 8]}}, kernel_shape: {{search: [[3, 3], [5, 5]]}}, border_mode: valid}}
  - {{type: {{search: [ReLU, Tanh]}}}}
  - {{type: Dropout, p: 0.2, optional: true}}
  - {{type: Affine, out_shape: {{search: {{low: 4, high: 16}}}}}}
  - {{type: Affine, out_shape: 3}}
  - {{type: SoftmaxCrossEntropy, target: y}}
training: {{max_epoch: {epochs}, batch_size: 8}}
"""


def space_project(folder, epochs=1, n=24):
    write_digits(os.path.join(str(folder), "d"), n=n)
    return write(os.path.join(str(folder), "project.yaml"), SPACE.format(epochs=epochs))


def rows(out):
    with open(os.path.join(str(out), "search.csv")) as f:
        return list(csv.DictReader(f))


def journal_study(out, name="tiny-space"):
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(os.path.join(str(out), "study.journal")))
    return optuna.load_study(study_name=name, storage=storage)


@pytest.mark.e2e
def test_a_declared_space_search_writes_csv_plot_and_runnable_pareto_projects(tmp_path):
    project = space_project(tmp_path)
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "4")
    assert status == 0, err
    assert "sampler nsga2" in out and "objective error+macs" in out
    table = rows(tmp_path / "s")
    assert [r["trial"] for r in table] == ["0", "1", "2", "3"]
    assert all(r["state"] == "COMPLETE" and r["epochs"] == "1" for r in table)
    assert all(0 <= float(r["valid_error"]) <= 1 and int(r["cost_multiply_add"]) > 0 for r in table)
    pareto = [r for r in table if r["pareto"] == "1"]
    assert pareto
    # the Pareto flag is right: no trial is better in both columns than a flagged one
    for p in pareto:
        assert not any(float(r["valid_error"]) <= float(p["valid_error"]) and
                       int(r["cost_multiply_add"]) <= int(p["cost_multiply_add"]) and
                       (float(r["valid_error"]), int(r["cost_multiply_add"])) !=
                       (float(p["valid_error"]), int(p["cost_multiply_add"])) for r in table)
    files = sorted(os.listdir(tmp_path / "s" / "pareto"))
    assert files == [f"trial_{int(p['trial']):04d}.yaml" for p in pareto]
    assert (tmp_path / "s" / "tradeoff.png").stat().st_size > 5000
    for name in files:        # ready to run: no declarations left, absolute dataset paths
        text = (tmp_path / "s" / "pareto" / name).read_text()
        assert "search" not in yaml.safe_load(text) and "{search" not in text
        status, _, err = run_cli("run", tmp_path / "s" / "pareto" / name, "-o", tmp_path / f"run-{name}",
                                 "--epochs", "1", cwd=str(tmp_path / "s"))
        assert status == 0, err
    # each candidate's own project and run folder are kept
    assert (tmp_path / "s" / "trials" / "0002" / "run" / "metrics.csv").is_file()


@pytest.mark.e2e
def test_candidates_follow_the_declared_values(tmp_path):
    project = space_project(tmp_path)
    assert run_cli("search", project, "-o", tmp_path / "s", "--trials", "5", "--sampler", "random")[0] == 0
    study = journal_study(tmp_path / "s")
    for t in study.trials:
        doc = yaml.safe_load(t.user_attrs["candidate"])
        conv, act = doc["network"][1], doc["network"][2]
        assert conv["out_maps"] == t.params["Convolution.out_maps"] in (2, 4, 8)
        assert conv["kernel_shape"] in ([3, 3], [5, 5])
        assert act["type"] == t.params["layer2.type"]
        types = [l["type"] for l in doc["network"]]
        assert ("Dropout" in types) == t.params["Dropout.keep"]
        affine = next(l for l in doc["network"] if l["type"] == "Affine")
        assert 4 <= affine["out_shape"] <= 16 and affine["out_shape"] == t.params["Affine.out_shape"]


@pytest.mark.e2e
def test_invalid_candidates_cost_no_training(tmp_path):
    """A kernel that does not fit the input fails shape inference: recorded as INVALID, never trained."""
    write_digits(str(tmp_path / "d"), n=16)
    project = write(tmp_path / "p.yaml", SPACE.format(epochs=1).replace("[[3, 3], [5, 5]]", "[[3, 3], [11, 11]]"))
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "3", "--sampler", "random",
                               "--seed", "3")
    assert status == 0, err
    table = rows(tmp_path / "s")
    invalid = [r for r in table if r["state"] == "INVALID"]
    assert invalid and sum(r["state"] == "COMPLETE" for r in table) == 3
    for r in invalid:
        assert "kernel" in r["change"] or "larger" in r["change"] or "shape" in r["change"].lower(), r["change"]
        assert not (tmp_path / "s" / "trials" / f"{int(r['trial']):04d}" / "run").exists()


@pytest.mark.e2e
def test_cost_range_is_checked_before_training(tmp_path):
    project = space_project(tmp_path)
    text = open(project).read() + "search: {macs_range: [null, 2000]}\n"
    open(project, "w").write(text)
    status, _, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "2", "--sampler", "random")
    assert status == 0, err
    trained = [r for r in rows(tmp_path / "s") if r["state"] == "COMPLETE"]
    assert trained and all(int(r["cost_multiply_add"]) <= 2000 for r in trained)
    assert any("outside the cost range" in r["change"] for r in rows(tmp_path / "s") if r["state"] == "INVALID")


@pytest.mark.e2e
def test_two_workers_share_one_journal(tmp_path):
    project = space_project(tmp_path, n=40)
    cmd = [sys.executable, "-m", "nncgraph", "search", project, "-o", str(tmp_path / "s"), "--trials", "6",
           "--sampler", "random"]
    workers = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    study = journal_study(tmp_path / "s")
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(len(numbers))) and 6 <= len(numbers) <= 7       # none lost, none twice
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2             # both trained some
    for t in study.trials:
        assert (tmp_path / "s" / "trials" / f"{t.number:04d}" / "run" / "metrics.csv").is_file()


@pytest.mark.e2e
def test_a_killed_search_resumes_the_same_study(tmp_path):
    project = space_project(tmp_path, epochs=3, n=400)      # trials of a few seconds: a kill lands inside one
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "nncgraph", "search", project, "-o", str(out), "--trials", "4",
                             "--sampler", "random"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and \
            not (out / "trials" / "0001" / "run" / "checkpoints").exists():
        time.sleep(0.05)
    assert proc.poll() is None, "the search ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = journal_study(tmp_path / "s")
    running = [t for t in killed.trials if t.state == optuna.trial.TrialState.RUNNING]
    assert [t.number for t in running] == [1]
    status, out_text, err = run_cli("search", project, "-o", out, "--trials", "4", "--sampler", "random", "--resume")
    assert status == 0, err
    assert "re-running 1 trial(s)" in out_text
    study = journal_study(tmp_path / "s")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 4 and study.trials[1].state == optuna.trial.TrialState.FAIL
    rerun = [t for t in complete if t.user_attrs.get("rerun_of") == 1]
    assert len(rerun) == 1 and rerun[0].params == running[0].params       # the same candidate, trained again
    assert complete[0].number == 0 and complete[0].params == killed.trials[0].params   # trial 0 kept as it was


@pytest.mark.e2e
def test_multi_fidelity_single_objective_stops_some_candidates(tmp_path):
    project = space_project(tmp_path, epochs=9, n=40)
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "8", "--objective", "error",
                               "--sampler", "random", "--fidelity", "1", "--reduction-factor", "3")
    assert status == 0, err
    table = rows(tmp_path / "s")
    epochs = [int(r["epochs"]) for r in table]
    assert set(epochs) <= {1, 3, 9} and 9 in epochs
    assert any(r["state"] == "PRUNED" for r in table)
    assert sum(epochs) < 8 * 9          # the budget the same search spends without fidelity


def test_pareto_promotion_rule():
    from nncgraph.search.fidelity import fronts, promote

    assert fronts([(0.1, 10), (0.2, 5), (0.3, 20), (0.05, 30)]) == [[0, 1, 3], [2]]
    others = [(0.1, 100), (0.2, 50), (0.3, 10), (0.5, 500), (0.6, 600), (0.7, 700)]
    assert promote((0.05, 1000), others, 3)          # best error: on the first front
    assert promote((0.9, 1), others, 3)              # cheapest: on the first front too
    assert not promote((0.65, 650), others, 3)       # dominated by several: stops
    assert promote((0.65, 650), others[:1], 3)       # too few seen at this stage to judge


@pytest.mark.e2e
def test_search_errors(tmp_path):
    project = space_project(tmp_path)
    status, _, err = run_cli("run", project)
    assert status == 2 and "declares a search space" in err and "nncgraph search" in err
    status, _, err = run_cli("search", project, "--sampler", "gp", "-o", tmp_path / "g")
    assert status == 2 and "PyTorch" in err and "Traceback" not in err
    text = open(project).read().replace("{search: [2, 4, 8]}", "{search: []}")
    bad = write(tmp_path / "bad.yaml", text)
    status, _, err = run_cli("search", bad, "-o", tmp_path / "b")
    assert status == 2 and "non-empty list" in err and "bad.yaml:7:" in err and "Traceback" not in err
    reversed_range = write(tmp_path / "rev.yaml", open(project).read().replace("low: 4, high: 16", "low: 16, high: 4"))
    status, _, err = run_cli("search", reversed_range, "-o", tmp_path / "b2")
    assert status == 2 and "low <= high" in err and "rev.yaml:10:" in err
    typo = write(tmp_path / "typo.yaml", open(project).read() + "search: {trails: 5}\n")
    status, _, err = run_cli("search", typo, "-o", tmp_path / "b3")
    assert status == 2 and "unknown search setting(s): trails" in err and "typo.yaml:" in err
    plain = write(tmp_path / "plain.yaml", "name: p\ndatasets: {training: {csv: d/data.csv}}\nnetwork:\n"
                  "  - {type: Input, size: [1, 8, 8]}\n  - {type: Affine, out_shape: 3}\n"
                  "  - {type: SoftmaxCrossEntropy, target: y}\n")
    status, _, err = run_cli("search", plain, "-o", tmp_path / "c")
    assert status == 2 and "no validation dataset" in err
    status, _, err = run_cli("search", project, "-o", tmp_path / "r", "--resume")
    assert status == 2 and "no study" in err


@pytest.mark.e2e
def test_a_search_refuses_a_name_that_leaves_searches_and_a_folder_for_a_project(tmp_path):
    project = space_project(tmp_path)
    escaping = write(tmp_path / "esc.yaml", open(project).read().replace("name: tiny-space", "name: ../../x"))
    status, _, err = run_cli("search", escaping, cwd=str(tmp_path))
    assert status == 2 and "esc.yaml:1:" in err and "the project's `name` names a folder" in err
    assert not (tmp_path / "searches").exists() and not (tmp_path.parent / "x").exists()
    status, _, err = run_cli("search", tmp_path / "d", "-o", tmp_path / "s")
    assert status == 2 and "is a directory" in err and "Traceback" not in err


@pytest.mark.e2e
def test_the_batch_size_and_the_optimizer_settings_can_be_searched(tmp_path):
    project = space_project(tmp_path)
    text = open(project).read().replace(
        "training: {max_epoch: 1, batch_size: 8}",
        "training: {max_epoch: 1, batch_size: {search: [4, 8]},\n"
        "           optimizer: {type: Adam, alpha: {search: {low: 0.0001, high: 0.01, log: true}}}}")
    project = write(tmp_path / "hyper.yaml", text)
    status, _, err = run_cli("run", project, "-o", tmp_path / "r")
    assert status == 2 and "declares a search space" in err
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "3", "--sampler", "random")
    assert status == 0, err
    for t in journal_study(tmp_path / "s").trials:
        doc = yaml.safe_load(t.user_attrs["candidate"])
        assert doc["training"]["batch_size"] == t.params["training.batch_size"] in (4, 8)
        alpha = doc["training"]["optimizer"]["alpha"]
        assert alpha == pytest.approx(t.params["training.optimizer.alpha"], rel=1e-3) and 0.0001 <= alpha <= 0.01
    assert "training.optimizer.alpha=" in rows(tmp_path / "s")[0]["change"]


@pytest.mark.e2e
def test_a_project_that_declares_nothing_is_searched_by_nnc_style_mutation(tmp_path):
    write_digits(str(tmp_path / "d"), n=24)
    project = write(tmp_path / "plain.yaml", """
        name: plain
        datasets: {training: {csv: d/data.csv}, validation: {csv: d/data.csv}}
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Convolution, out_maps: 4, kernel_shape: [3, 3], border_mode: same}
          - {type: ReLU}
          - {type: MaxPooling, kernel_shape: [2, 2]}
          - {type: Affine, out_shape: 8}
          - {type: Tanh}
          - {type: Affine, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        training: {max_epoch: 1, batch_size: 8}
        """)
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "5")
    assert status == 0, err
    assert "NNC-style mutation" in out and "sampler random" in out
    table = rows(tmp_path / "s")
    assert len(table) == 5 and all(r["state"] == "COMPLETE" for r in table)   # invalid mutations are retried
    assert table[0]["change"] == "the project's own network"
    assert all(r["change"].startswith(("from the project's network: ", "from trial ")) for r in table[1:])
    study = journal_study(tmp_path / "s", "plain")
    texts = {t.user_attrs["candidate"].split("\n", 1)[1] for t in study.trials}
    assert len(texts) >= 4                      # the mutations changed the network
    status, _, err = run_cli("search", project, "-o", tmp_path / "t", "--sampler", "tpe")
    assert status == 2 and "declares none" in err


def test_unit_arguments_and_repeat_counts_can_be_searched(tmp_path):
    doc = yaml.safe_load("""
        name: units
        units:
          Block:
            args: {maps: {search: [2, 4]}}
            layers:
              - {type: Convolution, out_maps: $maps, kernel_shape: [3, 3], border_mode: same}
              - {type: ReLU}
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Unit, unit: Block, name: stage, repeat: {search: [1, 2, 3]}}
          - {type: Affine, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        """)
    from nncgraph.project.search_declarations import declarations
    from nncgraph.search.candidate import build_candidate
    from nncgraph.search.space import sample_candidate

    found = declarations(doc)
    assert sorted(d.name for d in found) == ["Block.maps", "stage.repeat"]
    seen = set()
    for repeat in (1, 2, 3):
        for maps in (2, 4):
            trial = optuna.trial.FixedTrial({"Block.maps": maps, "stage.repeat": repeat})
            candidate, chosen = sample_candidate(doc, trial, found)
            built = build_candidate(candidate, str(tmp_path / "c.yaml"))
            # each repeat is a 3x3 convolution over `maps` channels: the parameters tell both choices apart
            seen.add(built.params)
            assert chosen == {"Block.maps": maps, "stage.repeat": repeat}
    assert len(seen) == 6


def test_the_gp_sampler_models_a_declared_space(tmp_path):
    """Optuna's GPSampler needs PyTorch, the optional .[gp] extra (about 5.5 GB): not installed in CI."""
    pytest.importorskip("torch", reason="the optional .[gp] extra (PyTorch) is not installed")
    project = space_project(tmp_path)
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "12", "--sampler", "gp",
                               "--objective", "error")
    assert status == 0, err
    assert "sampler gp" in out
    study = journal_study(tmp_path / "s")
    # past GPSampler's 10 random start-up trials the Gaussian process proposes the candidates
    assert len(study.trials) == 12 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


@pytest.mark.e2e
def test_two_objective_fidelity_promotes_by_pareto_rank(tmp_path):
    """Each candidate went past 1 epoch exactly when the Pareto-rank rule says it should."""
    from nncgraph.search.fidelity import promote

    project = space_project(tmp_path, epochs=3, n=40)
    status, _, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "9", "--sampler", "random",
                             "--fidelity", "1", "--reduction-factor", "3")
    assert status == 0, err
    trials = sorted(journal_study(tmp_path / "s").trials, key=lambda t: t.number)
    decisions = []
    for i, t in enumerate(trials):
        others = [(u.user_attrs["error@1"], u.user_attrs["macs"]) for u in trials[:i]]
        expected = promote((t.user_attrs["error@1"], t.user_attrs["macs"]), others, 3)
        decisions.append(expected)
        assert (t.user_attrs["epochs"] == 3) == expected
        assert t.state == (optuna.trial.TrialState.COMPLETE if expected else optuna.trial.TrialState.PRUNED)
    assert not all(decisions)           # the rule did stop some
