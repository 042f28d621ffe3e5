"""Nothing on disk is lost or clobbered: checks before the first write, folder claims,
dead writers' temporary files, decode workers that die with their parent, --epochs
that trains nothing, and a batch larger than the dataset."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, run_cli, tiny_project, write_digits
from test_resume import NO_DROPOUT, metrics, params

# most tests start runs as processes, or read one run trained by the CLI
pytestmark = pytest.mark.e2e


def snapshot(folder):
    """Every file's bytes and mtime, and every folder's listing and mtime."""
    seen = {}
    for parent, dirs, files in os.walk(folder):
        seen[parent] = (sorted(dirs + files), os.stat(parent).st_mtime_ns)
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                seen[path] = (hashlib.sha256(f.read()).hexdigest(), os.stat(path).st_mtime_ns)
    return seen


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 2-epoch run whose project reads a w_file, and the project."""
    tmp = tmp_path_factory.mktemp("finished")
    write_digits(str(tmp / "d"), n=24)
    write_digits(str(tmp / "other"), n=30, seed=3)
    np.save(tmp / "w.npy", np.full((4, 1, 3, 3), 0.1, np.float32))
    np.save(tmp / "w2.npy", np.full((4, 1, 3, 3), 0.1, np.float32))
    network = NO_DROPOUT.replace("kernel_shape: [3, 3]}", "kernel_shape: [3, 3], w_file: w.npy}")
    project = tiny_project(str(tmp), "d/data.csv", "d/data.csv", network=network)
    run = tmp / "run"
    status, _, err = run_cli("run", project, "-o", run)
    assert status == 0, err
    return tmp, project, run


def variant(tmp, project, name, old, new):
    text = open(project).read()
    assert old in text
    path = tmp / f"{name}.yaml"
    path.write_text(text.replace(old, new))
    return path


def refused(run, *args, expect):
    """`run --resume RUN ARGS` exits 2 with one line containing `expect` (or each of a tuple of them), and RUN
    is as it was."""
    before = snapshot(run)
    status, _, err = run_cli("run", *args, "--resume", run)
    assert status == 2, err
    expected = expect if isinstance(expect, tuple) else (expect,)
    assert all(e in err for e in expected) and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(run) == before


def test_resume_with_an_incompatible_project_leaves_the_run_as_it_was(finished_run):
    tmp, project, run = finished_run
    wider = variant(tmp, project, "wider", "out_shape: 3", "out_shape: 4")
    refused(run, wider, "--epochs", "3", expect="do not match this project's network")
    refused(run, project, "--epochs", "3", "--dataset", f"training={tmp / 'other' / 'data.csv'}",
            expect="dataset 'training'")
    refused(run, project, "--epochs", "3", "--device-id", "1", expect="--device-id 0")
    other_w = variant(tmp, project, "other_w", "w_file: w.npy", "w_file: w2.npy")
    refused(run, other_w, "--epochs", "3", expect="reads `w_file` from")


def test_resume_that_would_train_nothing_is_refused(finished_run):
    _, project, run = finished_run
    refused(run, project, "--epochs", "1", expect="already trained 2 epochs")
    refused(run, project, "--epochs", "2", expect="already trained 2 epochs")   # it finished: nothing to do


def test_resume_of_a_folder_that_is_not_a_run_touches_nothing(finished_run, tmp_path):
    _, project, _ = finished_run
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("keep me")
    refused(folder, project, expect="has no resume point")


@pytest.mark.parametrize("name, damage", [
    ("state.json", lambda p: p.write_text('{"epoch": 2, "rows": [')),
    ("state.json", lambda p: p.write_text('{"epoch": "two"}')),
    ("parameters.h5", lambda p: p.write_bytes(p.read_bytes()[:200])),
    ("solver_0.h5", lambda p: p.write_bytes(b"garbage" * 50)),
])
def test_a_corrupt_resume_point_is_named(finished_run, tmp_path, name, damage):
    import shutil

    _, project, run = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    target = copy / "checkpoints" / "resume" / name
    damage(target)
    refused(copy, project, "--epochs", "3", expect=(f"{target}:", "this run file is corrupt or truncated"))


def test_two_runs_started_together_into_one_folder(tmp_path):
    write_digits(str(tmp_path / "d"), n=400, size=8)
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=6)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nncgraph", "run", project, "-o", str(out)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p, *p.communicate(timeout=600)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [r[2] for r in results]
    winner = next(p for p, _, _ in results if p.returncode == 0)
    loser_err = next(err for p, _, err in results if p.returncode == 2)
    # the loser arrives while the winner runs (the usual case), or, on a loaded machine, after it finished
    assert (f"is in use by another nncgraph run (PID {winner.pid})" in loser_err
            or "already holds files; a new run would overwrite them" in loser_err), loser_err
    assert len(loser_err.strip().splitlines()) == 1, loser_err
    assert [int(r["epoch"]) for r in metrics(out)] == [1, 2, 3, 4, 5, 6]
    assert not [f for f in os.listdir(out) if "lock" in f or ".tmp-" in f]


def test_a_live_claim_refuses_a_resume_and_a_dead_ones_is_taken_over(finished_run, tmp_path):
    import shutil

    from nncgraph.errors import UserError
    from nncgraph.train.run_claim import LOCK, claim_run_folder
    from nncgraph.train.run_folder import RunFolder

    _, project, run = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    claim = claim_run_folder(RunFolder(str(copy)), resume=True)     # this process is the live run
    try:
        with pytest.raises(UserError, match=f"in use by another nncgraph run \\(PID {os.getpid()}\\)"):
            claim_run_folder(RunFolder(str(copy)), resume=True)
        refused(copy, project, "--epochs", "3", expect=f"(PID {os.getpid()})")
    finally:
        claim.release()
    (copy / LOCK).write_text(f"{dead_pid()}\n")          # left by a killed run
    status, out, err = run_cli("run", project, "--epochs", "3", "--resume", copy)
    assert status == 0, err
    assert [int(r["epoch"]) for r in metrics(copy)] == [1, 2, 3]
    assert not (copy / LOCK).exists()


def test_kfold_claims_its_folder_before_writing_the_folds(finished_run, tmp_path):
    from nncgraph.train.run_claim import claim_run_folder
    from nncgraph.train.run_folder import RunFolder

    _, project, _ = finished_run
    out = tmp_path / "cv"
    claim = claim_run_folder(RunFolder(str(out)), resume=False)
    try:
        before = snapshot(out)
        status, _, err = run_cli("run", project, "--kfold", "2", "-o", out)
        assert status == 2 and f"(PID {os.getpid()})" in err, err
        assert snapshot(out) == before
    finally:
        claim.release()


def test_dead_writers_temporaries_are_removed_and_live_ones_kept(finished_run, tmp_path):
    import shutil

    _, project, run = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    dead = dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        leftovers = [copy / f"metrics.csv.tmp-{dead}", copy / "checkpoints" / f"last.h5.tmp-{dead}.h5",
                     copy / "checkpoints" / f"resume.tmp-{dead}"]
        leftovers[0].write_text("half")
        leftovers[1].write_bytes(b"half")
        leftovers[2].mkdir()
        (leftovers[2] / "state.json").write_text("{")
        someone_elses = copy / f"result.json.tmp-{live.pid}"
        someone_elses.write_text("being written")
        status, _, err = run_cli("run", project, "--epochs", "3", "--resume", copy)
        assert status == 0, err
        assert [p for p in leftovers if os.path.exists(p)] == []
        assert someone_elses.read_text() == "being written"
    finally:
        live.kill()
        live.wait()


def _children(pid):
    """PIDs of the live (not zombie) processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux's /proc and 2 CPUs (decoding uses worker processes only then)")
def test_sigkill_during_the_cache_build_leaves_no_workers(tmp_path):
    from PIL import Image

    rng = np.random.RandomState(0)
    (tmp_path / "img").mkdir()
    rows = ["x:image,y:label"]
    for i in range(400):     # noise does not compress: ~1 ms each to decode, so the build goes to workers
        Image.fromarray(rng.randint(0, 256, (256, 256)).astype(np.uint8), "L").save(tmp_path / "img" / f"{i}.png")
        rows.append(f"img/{i}.png,{i % 3}")
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    project = tiny_project(str(tmp_path), "data.csv")
    proc = subprocess.Popen([sys.executable, "-m", "nncgraph", "run", project, "-o", str(tmp_path / "run")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        while proc.poll() is None and not workers:
            workers = _children(proc.pid)
            time.sleep(0.002)
        assert workers, "the run ended before its decode workers could be seen"
        time.sleep(0.05)      # the pool forks all its workers at once: let the rest appear too
        workers = sorted(set(workers) | set(_children(proc.pid)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.05)
        assert [w for w in workers if _alive(w)] == []
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_a_run_killed_inside_an_epoch_resumes_at_that_iteration(tmp_path):
    """resume_every 0.0005 minutes: an in-epoch resume point every 30 ms; SIGKILL after one exists."""
    write_digits(str(tmp_path / "d"), n=1200, size=16)
    network = NO_DROPOUT.replace("[1, 8, 8]", "[1, 16, 16]").replace("out_maps: 4", "out_maps: 16")
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=3, network=network)
    text = open(project).read().replace("seed: 1}", "seed: 1, resume_every: 0.0005}")
    open(project, "w").write(text)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert run_cli("run", project, "-o", full)[0] == 0
    proc = subprocess.Popen([sys.executable, "-m", "nncgraph", "run", project, "-o", str(cut)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = cut / "checkpoints" / "resume" / "state.json"
    state = None
    while proc.poll() is None:
        try:
            state = json.load(open(state_file))
            if state["epoch"] >= 1 and state["in_epoch"] is not None:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before an in-epoch resume point of epoch 2 or later was seen"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    status, out, err = run_cli("run", project, "--resume", cut)
    assert status == 0, err
    assert "resuming at iteration" in out, out
    assert metrics(cut) == metrics(full)
    a, b = params(full / "checkpoints" / "last.h5"), params(cut / "checkpoints" / "last.h5")
    assert a.keys() == b.keys() and all(np.allclose(a[k], b[k], rtol=0, atol=1e-6) for k in a)


def test_resume_every_must_be_positive(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv")
    text = open(project).read().replace("seed: 1}", "seed: 1, resume_every: 0}")
    open(project, "w").write(text)
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 2 and "resume_every must be more than 0" in err, err
    assert not (tmp_path / "run").exists()


def test_a_batch_larger_than_the_dataset_trains_and_counts_each_sample_once(tmp_path):
    write_digits(str(tmp_path / "d"), n=10)
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=3)
    text = open(project).read().replace("batch_size: 8", "batch_size: 32")
    open(project, "w").write(text)
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    rows = metrics(tmp_path / "run")
    assert len(rows) == 3
    for row in rows:
        for key in ("train_error", "valid_error"):
            assert 0 <= float(row[key]) <= 1, row
            # an error over 10 samples counted once each is a multiple of 1/10 (of 32 wrapped ones, not)
            assert abs(float(row[key]) * 10 - round(float(row[key]) * 10)) < 1e-6, row
        assert np.isfinite(float(row["cost"]))


def test_a_read_only_output_folder_is_refused_before_anything_is_written(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv")
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is refused here")
    try:
        status, _, err = run_cli("run", project, "-o", mount / "run")
        assert status == 2 and "cannot write the run folder" in err and "Read-only file system" in err, err
        assert os.listdir(mount) == []
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_new_run_takes_a_folder_holding_only_a_dead_runs_leftovers(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv", epochs=1)
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / f"project.yaml.tmp-{dead_pid()}"
    leftover.write_text("half")
    status, _, err = run_cli("run", project, "-o", out)
    assert status == 0, err
    assert not leftover.exists() and (out / "result.json").exists()


def test_a_run_resumes_from_its_own_project_copy_with_its_w_file(finished_run, tmp_path):
    """The run folder's project.yaml names the w_file by its absolute path, so it fits the resume point."""
    import shutil

    _, _, run = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    status, out, err = run_cli("run", copy / "project.yaml", "--epochs", "3", "--resume", copy)
    assert status == 0, err
    assert "resuming after epoch 2 of 3" in out


def test_a_resume_point_left_by_a_kill_between_a_saves_renames_does_not_stop_the_next_save(finished_run, tmp_path):
    """Killed after `resume` -> `resume.old` and tmp -> `resume`, before `resume.old` was removed: the
    newer `resume` is the point, and the next save replaces the stale `.old` instead of failing on it."""
    import shutil

    tmp, project, run = finished_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.copytree(copy / "checkpoints" / "resume", copy / "checkpoints" / "resume.old")
    status, _, err = run_cli("run", project, "--resume", copy, "--epochs", "3")
    assert status == 0, err
    assert [r["epoch"] for r in metrics(copy)] == ["1", "2", "3"]
    assert not (copy / "checkpoints" / "resume.old").exists()
    assert json.load(open(copy / "checkpoints" / "resume" / "state.json"))["epoch"] == 3
