"""`nncgraph search --storage postgresql+psycopg2://...`: workers on a real PostgreSQL server share one study.

The server is a throwaway one (tests/pg_server.py): Debian's binaries, a
temporary folder, a Unix socket only. Without PostgreSQL these tests skip
(and fail under CI=true, where .ci/run installs it).
"""
from __future__ import annotations

import csv
import importlib.util
import itertools
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import run_cli, write, write_digits
from pg_server import postgres_or_skip

pytestmark = [pytest.mark.postgres]

SPACE = """
name: shared-space
datasets:
  training: {csv: train/data.csv}
  validation: {csv: valid/data.csv}
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, out_maps: {search: [2, 4, 8]}, kernel_shape: {search: [[3, 3], [5, 5]]}}
  - {type: ReLU}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
training: {max_epoch: 1, batch_size: 8, seed: 1}
"""

TRIALS = 6


def _need_psycopg2():
    if importlib.util.find_spec("psycopg2") is None:
        message = "psycopg2 is missing: `.venv/bin/pip install -e '.[test]'` (psycopg2-binary)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server for this module; stopped (and its folder removed) however tests end."""
    _need_psycopg2()
    server = postgres_or_skip()
    try:
        yield server
    finally:
        server.stop()


_DATABASES = itertools.count()


@pytest.fixture
def pg_url(postgres):
    """A fresh, empty database on the module's server."""
    return postgres.create_database(f"optuna_{next(_DATABASES)}")


def _project(folder):
    # enough images that a trial trains for a moment: the second worker gets to start before the first is done
    write_digits(os.path.join(str(folder), "train"), n=1200)
    write_digits(os.path.join(str(folder), "valid"), n=48, seed=1)
    return write(os.path.join(str(folder), "project.yaml"), SPACE)


def _rows(out):
    with open(os.path.join(str(out), "search.csv")) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("database", ["fresh", "schema-ready"])
def test_two_workers_on_postgresql_share_one_study_without_losing_or_duplicating_trials(tmp_path, pg_url, database):
    """Two machines (two -o folders) start at once on one study; `fresh`: on an empty database, as a first
    search does, so both workers create Optuna's tables at the same moment; `schema-ready`: the tables exist
    (an earlier search made them), so only the sharing of the study is tested."""
    import optuna

    project = _project(tmp_path)
    if database == "schema-ready":
        optuna.storages.RDBStorage(pg_url).engine.dispose()      # creates the tables, no study
    outs = [os.path.abspath(str(tmp_path / f"machine{k}")) for k in (1, 2)]
    logs = [open(tmp_path / f"worker{k}.log", "w+") for k in (1, 2)]
    command = [sys.executable, "-m", "nncgraph", "search", project, "--trials", str(TRIALS),
               "--storage", pg_url, "--study", "shared", "--sampler", "random"]
    workers = [subprocess.Popen(command + ["-o", out], cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT,
                                text=True) for out, log in zip(outs, logs)]
    finished = []                          # worker indices in the order they exited
    try:
        deadline = time.time() + 600
        while len(finished) < 2 and time.time() < deadline:
            for i, w in enumerate(workers):
                if i not in finished and w.poll() is not None:
                    finished.append(i)
            time.sleep(0.05)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read())
        log.close()
    report = "\n".join(f"--- worker {k + 1} (exit {w.returncode}, -o {outs[k]}):\n{outputs[k]}"
                       for k, w in enumerate(workers))
    assert len(finished) == 2, "a worker did not finish in 10 minutes\n" + report
    assert [w.returncode for w in workers] == [0, 0], report

    study = optuna.load_study(study_name="shared", storage=pg_url)
    trials = study.get_trials(deepcopy=False)
    numbers = sorted(t.number for t in trials)
    m = len(numbers)
    # every trial exactly once; each worker stops asking at TRIALS finished-or-running: at most one extra
    assert numbers == list(range(m)), (numbers, report)
    assert TRIALS <= m <= TRIALS + 1, (m, report)
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE or \
            (t.state == optuna.trial.TrialState.FAIL and "invalid" in t.user_attrs), (t.number, t.state, report)
    assert not [t.number for t in trials if "invalid" in t.user_attrs]       # every candidate of this space fits

    # both workers trained: the worker attribute names each process (host:pid)
    pids = {f"{socket.gethostname()}:{w.pid}": out for w, out in zip(workers, outs)}
    assert {t.user_attrs["worker"] for t in trials} == set(pids), report
    for t in trials:
        folder = t.user_attrs["folder"]
        assert folder in outs, (t.number, folder)
        assert folder == pids[t.user_attrs["worker"]], (t.number, folder, t.user_attrs["worker"])
        own = os.path.join(folder, "trials", f"{t.number:04d}")
        assert os.path.isfile(os.path.join(own, "project.yaml")), own
        assert t.user_attrs["candidate"] == open(os.path.join(own, "project.yaml")).read()
        assert t.user_attrs["epochs"] == 1 and 0 <= t.user_attrs["valid_error"] <= 1
        assert t.user_attrs["macs"] > 0 and t.user_attrs["params"] > 0
        other = [o for o in outs if o != folder][0]
        assert not os.path.exists(os.path.join(other, "trials", f"{t.number:04d}")), (t.number, other)
    # nothing trained outside the study: the trial folders of both machines are exactly the study's trials
    on_disk = sorted(int(n) for out in outs if os.path.isdir(os.path.join(out, "trials"))
                     for n in os.listdir(os.path.join(out, "trials")))
    assert on_disk == list(range(m))

    # each worker writes search.csv from the whole study when it stops: the last to finish lists every trial,
    # the other machine's included (its own all trained; the other's last one may still have been training
    # when it read the study, if the other worker was slower to finish its plot than to tell that trial)
    by_number = {t.number: t for t in trials}
    tables = [_rows(out) for out in outs]
    last = finished[-1]
    assert [int(r["trial"]) for r in tables[last]] == list(range(m)), tables[last]
    for k, table in enumerate(tables):
        own = f"{socket.gethostname()}:{workers[k].pid}"
        for r in table:
            t = by_number[int(r["trial"])]
            assert r["worker"] == t.user_attrs["worker"], r
            assert r["state"] == "COMPLETE" or (r["state"] == "RUNNING" and r["worker"] != own), (k, r)
            if r["state"] == "COMPLETE":
                assert r["project"] == os.path.join("trials", f"{t.number:04d}", "project.yaml"), r
                assert float(r["valid_error"]) == pytest.approx(t.user_attrs["valid_error"], rel=1e-5, abs=1e-6)
    # the worker that told the study's last result read it after everything was told: its table is whole
    whole = [k for k, table in enumerate(tables)
             if [(int(r["trial"]), r["state"]) for r in table] == [(n, "COMPLETE") for n in range(m)]]
    assert whole, [[(r["trial"], r["state"], r["worker"]) for r in table] for table in tables]
    assert any(f"{m} trials: {m} trained" in outputs[k] for k in whole), report


def test_an_unreachable_database_is_one_line_and_status_2(tmp_path):
    _need_psycopg2()
    project = write(os.path.join(str(tmp_path), "project.yaml"), SPACE)
    write_digits(os.path.join(str(tmp_path), "train"), n=8)
    write_digits(os.path.join(str(tmp_path), "valid"), n=8, seed=1)
    status, out, err = run_cli("search", project, "-o", tmp_path / "s", "--trials", "1", "--sampler", "random",
                               "--storage", "postgresql+psycopg2://nobody@/nodb?host=/nonexistent",
                               cwd=str(tmp_path))
    assert status == 2, (status, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nncgraph: error: "), err
    assert "Traceback" not in err and "nonexistent" in err
    assert not os.path.exists(tmp_path / "s" / "search.csv")
