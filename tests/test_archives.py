"""A damaged or hostile .nnp is one line naming the archive (and member, and line), exit 2, for both
commands that read one: `nncgraph import X.nnp` (its .nntxt) and `nncgraph run` with `init_from: X.nnp`
(its parameter.h5). A zip bomb is refused from its directory, before its member is unpacked: memory stays
small. evaluate and infer read the run's .h5 checkpoints, never best.nnp, so a bomb there changes nothing."""
from __future__ import annotations

import os
import shutil
import tracemalloc
import zipfile

import pytest

from conftest import main_in_process, tiny_project, write_digits

NNTXT, H5 = "network.nntxt", "parameter.h5"
# a member's stated size must be refused unread: far below what unpacking it would take
MEMORY_CEILING = 32 * 2 ** 20
pytestmark = pytest.mark.e2e        # every test damages the .nnp of one run, trained once for the module


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 2-epoch run (best.nnp inside), and a project that starts from an .nnp by init_from."""
    from nncgraph.cli.main import main

    folder = tmp_path_factory.mktemp("archives")
    data = write_digits(str(folder / "d"), n=24)
    project = tiny_project(str(folder), data, data, epochs=2)
    run = folder / "run"
    assert main(["run", project, "-o", str(run)]) == 0
    init = folder / "init"
    init.mkdir()
    tiny_project(str(init), data, data, epochs=1, extra="init_from: {path: model.nnp}\n")
    return folder, run


def members(nnp):
    with zipfile.ZipFile(nnp) as z:
        return {name: z.read(name) for name in z.namelist()}


def rebuild(source, target, replaced=None, declared=None):
    """`source`'s members into `target`, with `replaced` {name: bytes}; `declared` {name: size} makes the
    zip's directory state that unpacked size instead of the true one (the local header keeps the truth)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in {**members(source), **(replaced or {})}.items():
            z.writestr(name, data)
        for name, size in (declared or {}).items():
            z.getinfo(name).file_size = size      # the central directory is written from this on close
    return str(target)


def zeros_bomb(source, target, megabytes=200):
    """`source` with its .nntxt and .h5 each replaced by `megabytes` MB of zeros, deflated as they stream
    (about 1,030:1: a few hundred KB on disk, never the whole in memory)."""
    chunk = bytes(2 ** 20)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members(source).items():
            if name not in (NNTXT, H5):
                z.writestr(name, data)
                continue
            with z.open(name, "w", force_zip64=True) as f:
                for _ in range(megabytes):
                    f.write(chunk)
    return str(target)


def reading(command, nnp, trained, tmp_path):
    """The command line that reads `nnp`: import it, or run a project whose init_from names it."""
    folder, _ = trained
    if command == "import":
        return ["import", nnp, "-o", tmp_path / "imported.yaml"]
    shutil.copy(nnp, folder / "init" / "model.nnp")
    return ["run", folder / "init" / "project.yaml", "-o", tmp_path / "run"]


def one_line(status, err, *expected):
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err


def measured(capsys, args):
    """main_in_process(args), and the most memory Python held meanwhile beyond what it held before."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = main_in_process(capsys, *args)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return result, peak


# the member each command reads, and the most it may declare
READS = {"import": (NNTXT, "256.0 MiB"), "init_from": (H5, "4.0 GiB")}


@pytest.mark.parametrize("command", sorted(READS))
def test_a_member_declaring_a_huge_size_is_refused_unread(trained, tmp_path, capsys, command):
    _, run = trained
    member, limit = READS[command]
    nnp = rebuild(run / "best.nnp", tmp_path / "huge.nnp", declared={member: 50 * 2 ** 30})
    (status, _, err), peak = measured(capsys, reading(command, nnp, trained, tmp_path))
    where = nnp if command == "import" else str(trained[0] / "init" / "model.nnp")
    one_line(status, err, f"{where}:{member}:", "declares 50.0 GiB unpacked", f"more than the {limit} a member may hold")
    assert peak < MEMORY_CEILING, peak


@pytest.fixture(scope="module")
def bomb(trained, tmp_path_factory):
    _, run = trained
    return zeros_bomb(run / "best.nnp", tmp_path_factory.mktemp("bomb") / "bomb.nnp")


@pytest.mark.parametrize("command", sorted(READS))
def test_a_member_of_absurd_compression_ratio_is_refused_unread(trained, bomb, tmp_path, capsys, command):
    member, _ = READS[command]
    assert os.path.getsize(bomb) < 2 ** 20       # 400 MB of zeros, in well under a megabyte
    (status, _, err), peak = measured(capsys, reading(command, bomb, trained, tmp_path))
    where = bomb if command == "import" else str(trained[0] / "init" / "model.nnp")
    one_line(status, err, f"{where}:{member}:", "200.0 MiB unpacked from", "zip bomb", "not read")
    assert peak < MEMORY_CEILING, peak
    assert not (tmp_path / "imported.yaml").exists() and not (tmp_path / "run" / "metrics.csv").exists()


@pytest.mark.parametrize("command", sorted(READS))
def test_a_member_unpacking_to_more_than_it_declares_is_one_line(trained, tmp_path, capsys, command):
    _, run = trained
    member, _ = READS[command]
    nnp = rebuild(run / "best.nnp", tmp_path / "liar.nnp", declared={member: 100})
    status, _, err = main_in_process(capsys, *reading(command, nnp, trained, tmp_path))
    one_line(status, err, f":{member}:", "member is damaged")


def nntxt_of(run):
    return members(run / "best.nnp")[NNTXT].decode("utf-8")


def test_a_non_utf8_nntxt_member_names_archive_member_and_line(trained, tmp_path, capsys):
    _, run = trained
    lines = nntxt_of(run).split("\n")
    lines[12] = '  name: "M\xe4in"'        # line 13, in Latin-1
    nnp = rebuild(run / "best.nnp", tmp_path / "latin1.nnp", {NNTXT: "\n".join(lines).encode("latin-1")})
    status, _, err = main_in_process(capsys, "import", nnp, "-o", tmp_path / "x.yaml")
    one_line(status, err, f"{nnp}:{NNTXT}:13:", "not UTF-8 text", "0xe4")


def _function_line(text, function_name):
    lines = text.split("\n")
    return next(i for i, line in enumerate(lines, 1) if line == f'    name: "{function_name}"'
                and lines[i - 2] == "  function {")


@pytest.mark.parametrize("damage", ["undeclared-variable", "no-network", "missing-network", "impossible-shape",
                                    "not-protobuf"])
def test_a_meaningless_nntxt_member_names_archive_member_and_line(trained, tmp_path, capsys, damage):
    _, run = trained
    text = nntxt_of(run)
    line, expected = None, ()
    if damage == "undeclared-variable":       # the ReLU of network Main reads a variable nothing declares
        relu = '    name: "@Main/ReLU"\n    type: "ReLU"\n    input: "@Main/Convolution_out"'
        assert relu in text
        text = text.replace(relu, relu.replace("@Main/Convolution_out", "ghost"), 1)
        line = _function_line(text, "@Main/ReLU")
        expected = ("variable 'ghost'", "network 'Main' does not declare")
    elif damage == "no-network":
        kept = text.split("\n")
        text = "\n".join(kept[:11])            # global_config and training_config only
        expected = ("defines no network",)
    elif damage == "missing-network":
        text = text.replace('network_name: "Main"', 'network_name: "Elsewhere"', 1)
        expected = ("runs network 'Elsewhere', which the file does not define",)
    elif damage == "impossible-shape":
        text = text.replace("dim: 8", "dim: -7", 1)
        expected = ("variable 'x' of network 'Main' has shape [-1, 1, -7, 8]",)
    else:
        text = text.replace("network {", "network {{", 1)
        line, expected = 12, ("not an nnabla network definition",)
    nnp = rebuild(run / "best.nnp", tmp_path / f"{damage}.nnp", {NNTXT: text.encode("utf-8")})
    status, _, err = main_in_process(capsys, "import", nnp, "-o", tmp_path / "x.yaml")
    one_line(status, err, f"{nnp}:{NNTXT}" + (f":{line}:" if line else ":"), *expected)
    assert not (tmp_path / "x.yaml").exists()


def not_a_zip(source, target):
    target.write_text("name: not an archive\n")


def truncated(source, target):
    data = open(source, "rb").read()
    target.write_bytes(data[:len(data) * 2 // 3])


@pytest.mark.parametrize("command", sorted(READS))
@pytest.mark.parametrize("damage", [not_a_zip, truncated], ids=["not-a-zip", "truncated"])
def test_a_file_that_is_no_whole_zip_is_one_line(trained, tmp_path, capsys, command, damage):
    _, run = trained
    nnp = tmp_path / "broken.nnp"
    damage(run / "best.nnp", nnp)
    status, _, err = main_in_process(capsys, *reading(command, str(nnp), trained, tmp_path))
    one_line(status, err, "model.nnp" if command == "init_from" else str(nnp))
    assert "not an .nnp (zip) file" in err or "member is damaged" in err, err


def test_evaluate_and_infer_read_the_checkpoints_not_best_nnp(trained, bomb, tmp_path, capsys):
    folder, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.copy(bomb, copy / "best.nnp")
    status, _, err = main_in_process(capsys, "evaluate", copy)
    assert status == 0, err
    status, out, err = main_in_process(capsys, "infer", copy, folder / "d" / "img" / "0.png")
    assert status == 0 and "0.png" in out, err
