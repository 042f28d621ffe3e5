"""A disk that fills up, a read-only disk, a file where an output folder goes, an output in /proc: each is
one line naming the path and what is wrong (exit 2), and what was on disk before is still there, whole.
(A read-only folder for `run -o` is in test_run_folder_safety.py.)

The disks are small tmpfs mounts (tests run as root); where mounting is refused, those tests skip."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import subprocess
import zipfile

import pytest

from conftest import main_in_process, run_cli, tiny_project, write_digits

pytestmark = pytest.mark.e2e        # most tests read or resume one run, trained once for the module


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 2-epoch run, its project, and a folder of class sub-folders for `dataset create`."""
    from nncgraph.cli.main import main

    folder = tmp_path_factory.mktemp("io")
    data = write_digits(str(folder / "d"), n=24)
    project = tiny_project(str(folder), data, data, epochs=2)
    run = folder / "run"
    assert main(["run", project, "-o", str(run)]) == 0
    for label in ("a", "b"):
        (folder / "src" / label).mkdir(parents=True)
        for i in range(3):
            shutil.copy(folder / "d" / "img" / f"{i}.png", folder / "src" / label / f"{i}.png")
    return folder, project, run


@contextlib.contextmanager
def tmpfs(path, size, read_only=False):
    """A tmpfs of `size` at `path` for the block; unmounted afterwards whatever happens."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is refused here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def remount_read_only(path):
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def fill(folder, leave=0):
    """Write one file into `folder` until the disk is full (or only about `leave` bytes are free)."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        chunk = 2 ** 20
        while chunk:
            stat = os.statvfs(folder)
            if leave and stat.f_bavail * stat.f_frsize <= leave:
                break
            try:
                os.write(fd, bytes(min(chunk, max(1, stat.f_bavail * stat.f_frsize - leave))))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                chunk //= 16
    finally:
        os.close(fd)
    return path


def contents(folder, skip=("filler",)):
    """path -> sha256 of every file under `folder`, and every folder's listing."""
    seen = {}
    for parent, dirs, files in os.walk(folder):
        seen[parent] = sorted(d for d in dirs + files if d not in skip)
        for name in files:
            if name not in skip:
                with open(os.path.join(parent, name), "rb") as f:
                    seen[os.path.join(parent, name)] = hashlib.sha256(f.read()).hexdigest()
    return seen


def temporaries(folder):
    return [os.path.join(p, n) for p, dirs, files in os.walk(folder) for n in dirs + files
            if ".tmp-" in n or ".writing-" in n]


def one_line(status, err, *expected):
    """Exit 2, one line, holding each `expected` (case aside: the system's wording or ours)."""
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text.lower() in err.lower(), err


# -- a full disk: run as a user does, in a process of its own (HDF5 keeps a failed file's state in the
# process, and a later h5 read in the same process can crash on it) ---------------------------------
def test_a_new_run_onto_a_disk_too_small_is_one_line_naming_the_path(trained, tmp_path):
    folder, project, _ = trained
    with tmpfs(tmp_path / "small", "128k") as disk:
        status, _, err = run_cli("run", project, "-o", disk / "run")
        one_line(status, err, f"'{disk / 'run'}", "no space")
        assert temporaries(disk) == []


@pytest.mark.slow
@pytest.mark.parametrize("free", [0, 12 * 1024, 24 * 1024, 48 * 1024])
def test_a_resume_onto_a_full_disk_keeps_the_run_whole(trained, tmp_path, free):
    """No space, or too little for all that epoch 3 writes: one line; every file that was there is as it
    was or a whole newer one; no temporaries; and once there is space again the run resumes to the end."""
    _, project, run = trained
    with tmpfs(tmp_path / "disk", "1m") as disk:
        copy = disk / "run"
        shutil.copytree(run, copy)
        before = contents(copy)
        filler = fill(disk, leave=free)
        status, _, err = run_cli("run", project, "--resume", copy, "--epochs", "3")
        one_line(status, err, f"'{copy}", "no space")
        assert temporaries(disk) == []
        after = contents(copy)
        if free == 0:
            assert after == before
        for path, digest in before.items():
            assert path in after, f"{path} was lost"
            if digest != after[path] and os.path.isfile(path):
                assert_whole(path)
        os.remove(filler)
        status, _, err = run_cli("run", project, "--resume", copy, "--epochs", "3")
        assert status == 0, err
        assert [line.split(",")[0] for line in (copy / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]


def assert_whole(path):
    """A file a run writes, changed: it must be a whole one of its kind."""
    if path.endswith(".json"):
        json.loads(open(path).read())
    elif path.endswith(".nnp"):
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
    elif path.endswith(".h5"):
        import h5py

        with h5py.File(path, "r") as f:
            f.visititems(lambda name, item: item[()] if hasattr(item, "shape") else None)
    elif path.endswith(".csv"):
        rows = open(path).read().splitlines()
        assert rows and all(len(r.split(",")) == len(rows[0].split(",")) for r in rows), path


# -- a read-only disk ------------------------------------------------------------------------------
def read_only_commands(folder, project, run, disk):
    return {
        "evaluate": ["evaluate", disk / "run"],
        "export-nnp": ["export", run, "-o", disk / "model.nnp"],
        "export-nntxt": ["export", project, "-o", disk / "model.nntxt"],
        "dataset-create": ["dataset", "create", folder / "src", "-o", disk / "ds", "--width", "8", "--height", "8",
                           "--channels", "1", "--mode", "resize", "--split", "100"],
        "compare": ["compare", run, "-o", disk / "compare"],
        "import": ["import", run / "best.nnp", "-o", disk / "imported.yaml"],
    }


@pytest.mark.parametrize("command", ["evaluate", "export-nnp", "export-nntxt", "dataset-create", "compare", "import"])
def test_an_output_on_a_read_only_disk_is_one_line(trained, tmp_path, capsys, command):
    folder, project, run = trained
    with tmpfs(tmp_path / "ro", "1m") as disk:
        shutil.copytree(run, disk / "run")
        remount_read_only(disk)
        before = contents(disk)
        status, _, err = main_in_process(capsys, *read_only_commands(folder, project, run, disk)[command])
        one_line(status, err, f"'{disk}", "read-only")
        assert contents(disk) == before


# -- a file where an output folder goes ------------------------------------------------------------
def folder_commands(folder, project, run, out):
    return {
        "run": ["run", project, "-o", out],
        "compare": ["compare", run, "-o", out],
        "dataset-create": ["dataset", "create", folder / "src", "-o", out, "--width", "8", "--height", "8",
                           "--channels", "1", "--mode", "resize", "--split", "100"],
        "dataset-kfold": ["dataset", "kfold", folder / "d" / "data.csv", "-k", "2", "-o", out],
        "dataset-mnist-sample": ["dataset", "mnist-sample", "-o", out],
        "search": ["search", project, "-o", out, "--trials", "1"],
    }


FOLDER_COMMANDS = ["run", "compare", "dataset-create", "dataset-kfold", "dataset-mnist-sample", "search"]


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_an_output_folder_that_is_a_file_is_one_line_saying_so(trained, tmp_path, capsys, command):
    folder, project, run = trained
    out = tmp_path / "notes.txt"
    out.write_text("mine\n")
    status, _, err = main_in_process(capsys, *folder_commands(folder, project, run, out)[command])
    one_line(status, err, f"'{out}' is a file, not a folder")
    assert out.read_text() == "mine\n" and sorted(os.listdir(tmp_path)) == ["notes.txt"]


# -- an output in /proc ----------------------------------------------------------------------------
@pytest.mark.parametrize("command", FOLDER_COMMANDS + ["export", "import"])
def test_an_output_in_proc_is_one_line(trained, tmp_path, capsys, command):
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux's /proc")
    folder, project, run = trained
    out = "/proc/nncgraph-test"
    args = {**folder_commands(folder, project, run, out),
            "export": ["export", run, "-o", "/proc/self/nncgraph-test.nnp"],
            "import": ["import", run / "best.nnp", "-o", "/proc/self/nncgraph-test.yaml"]}[command]
    status, _, err = main_in_process(capsys, *args)
    where = out if command in FOLDER_COMMANDS else str(args[-1])
    one_line(status, err, f"'{where}'", "does not let anything be made in it")
    assert not os.path.exists(where)


# -- HDF5 files are built in memory (engines/parameter_file.py): the same files nnabla writes ----------------
def _h5_tree(path):
    import h5py

    tree = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: tree.__setitem__(name, (dict(item.attrs), (
            item[()].tolist(), str(item.dtype)) if isinstance(item, h5py.Dataset) else None)))
    return tree


@pytest.mark.parametrize("solver_type", ["Adam", "Momentum", "Sgd"])
def test_solver_states_built_in_memory_are_the_file_save_states_writes(tmp_path, solver_type):
    import nnabla as nn
    import nnabla.parametric_functions as PF
    import nnabla.solvers as S
    import numpy as np

    from nncgraph.engines.nnabla.solver_states import solver_states_h5

    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).rand(2, 1, 4, 4).astype(np.float32))
    loss = nn.functions.mean(PF.affine(PF.convolution(x, 2, (3, 3), name="conv"), 3, name="fc"))
    solver = getattr(S, solver_type)()
    solver.set_parameters(nn.get_parameters())
    for _ in range(2):
        loss.forward()
        solver.zero_grad()
        loss.backward()
        solver.update()
    solver.save_states(str(tmp_path / "nnabla.h5"))
    (tmp_path / "ours.h5").write_bytes(solver_states_h5(solver))
    assert _h5_tree(tmp_path / "ours.h5") == _h5_tree(tmp_path / "nnabla.h5")
    again = getattr(S, solver_type)()
    again.set_parameters(nn.get_parameters())
    again.load_states(str(tmp_path / "ours.h5"))
    for name, state in solver.get_states().items():
        assert again.get_states()[name].t == state.t == 2
        for key, value in state.pstate.items():
            assert np.array_equal(again.get_states()[name].pstate[key].d, value.d)
    nn.clear_parameters()
