"""A damaged run file -- cut in half, garbage, empty, or a folder in its place -- is one line naming it
(exit 2), for every command that reads it: run --resume, evaluate, infer, export, report, compare,
import (.nnp) and search --resume (study.journal). Never a traceback."""
from __future__ import annotations

import os
import shutil

import pytest

from conftest import main_in_process, tiny_project, write_digits

# the module trains one run in process, then damages its files
pytestmark = pytest.mark.slow


def cut_in_half(path):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])


def garbage(path):
    size = max(64, os.path.getsize(path))
    open(path, "wb").write(bytes((i * 37 + 11) % 256 for i in range(size)))


def empty(path):
    open(path, "wb").close()


def directory(path):
    os.remove(path)
    os.makedirs(os.path.join(path, "inside"))


DAMAGES = {"half": cut_in_half, "garbage": garbage, "empty": empty, "directory": directory}

# (command, file it reads): every command with the run files it must read
READERS = [
    ("resume", "checkpoints/resume/state.json"),
    ("resume", "checkpoints/resume/parameters.h5"),
    ("resume", "checkpoints/resume/solver_0.h5"),
    ("evaluate", "checkpoints/best.h5"),
    ("evaluate", "project.yaml"),
    ("evaluate-last", "checkpoints/last.h5"),
    ("infer", "checkpoints/best.h5"),
    ("infer", "project.yaml"),
    ("export", "checkpoints/best.h5"),
    ("export", "project.yaml"),
    ("report", "project.yaml"),
    ("report", "metrics.csv"),
    ("report", "result.json"),
    ("report", "evaluation/metrics.json"),
    ("report", "evaluation/output_result.csv"),
    ("report", "evaluation/per_class.csv"),
    ("report", "evaluation/confusion_matrix.csv"),
    ("compare", "metrics.csv"),
    ("compare", "result.json"),
    ("import", "best.nnp"),
]
# a cut that falls between two rows leaves a well-formed shorter table: nothing can tell it from a whole one
UNDETECTABLE = {("evaluation/confusion_matrix.csv", "half")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corrupt")
    data = write_digits(str(folder / "d"), n=24)
    project = tiny_project(str(folder), data, data, epochs=2)
    run = folder / "run"
    from nncgraph.cli.main import main

    assert main(["run", project, "-o", str(run)]) == 0
    return folder, project, run


def command(name, folder, project, run, tmp):
    image = os.path.join(folder, "d", "img", "0.png")
    return {"resume": ["run", project, "--resume", run, "--epochs", "3"],
            "evaluate": ["evaluate", run],
            "evaluate-last": ["evaluate", run, "--model", "last"],
            "infer": ["infer", run, image],
            "export": ["export", run, "-o", tmp / "out.nnp"],
            "report": ["report", run],
            "compare": ["compare", run, "-o", tmp / "compare"],
            "import": ["import", run / "best.nnp", "-o", tmp / "imported.yaml"]}[name]


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("name, target", READERS, ids=[f"{c}-{f.replace('/', '_')}" for c, f in READERS])
def test_a_damaged_run_file_is_one_line_naming_it(trained, tmp_path, capsys, name, target, damage):
    if (target, damage) in UNDETECTABLE:
        pytest.skip("a cut between two rows leaves a well-formed table")
    folder, project, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    path = copy / target
    DAMAGES[damage](str(path))
    status, _, err = main_in_process(capsys, *command(name, folder, project, copy, tmp_path))
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert os.path.basename(target) in err, err
    if damage == "directory":
        assert "is a directory" in err, err
    else:
        assert "does not exist" not in err, err


def test_a_metrics_row_with_a_word_for_a_number_names_its_line(trained, tmp_path, capsys):
    _, _, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    lines = (copy / "metrics.csv").read_text().splitlines()
    cells = lines[2].split(",")
    cells[1] = "lots"
    lines[2] = ",".join(cells)
    (copy / "metrics.csv").write_text("\n".join(lines) + "\n")
    status, _, err = main_in_process(capsys, "compare", copy, "-o", tmp_path / "c")
    assert status == 2 and f"{copy / 'metrics.csv'}:3:" in err and "'lots' is not a number" in err, err


def test_a_result_json_field_of_the_wrong_kind_is_named(trained, tmp_path, capsys):
    _, _, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    text = (copy / "result.json").read_text()
    (copy / "result.json").write_text(text.replace('"best_valid_error": ', '"best_valid_error": "low", "x": ', 1))
    status, _, err = main_in_process(capsys, "report", copy)
    assert status == 2 and "result.json" in err and "`best_valid_error` is 'low', not a number" in err, err


# -- search --resume: the study journal --------------------------------------------------------
SPACE = """
name: tiny-space
datasets:
  training: {csv: d/data.csv}
  validation: {csv: d/data.csv}
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, out_maps: {search: [2, 4]}, kernel_shape: [3, 3]}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
training: {max_epoch: 1, batch_size: 8}
"""


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    from nncgraph.cli.main import main

    folder = tmp_path_factory.mktemp("search")
    write_digits(str(folder / "d"), n=16)
    project = folder / "project.yaml"
    project.write_text(SPACE.lstrip())
    out = folder / "out"
    assert main(["search", str(project), "-o", str(out), "--trials", "2", "--sampler", "random"]) == 0
    return project, out


def unknown_entry(path):
    with open(path, "a") as f:
        f.write('{"op_code": 5, "worker_id": "w"}\n')


JOURNAL_DAMAGES = {**DAMAGES, "unknown-entry": unknown_entry}
JOURNAL_MESSAGES = {"half": "its last line is cut off", "garbage": "corrupt or truncated", "directory": "is a directory",
                    "empty": "there is no study 'tiny-space' to resume", "unknown-entry": "an entry Optuna cannot apply"}


@pytest.mark.parametrize("damage", sorted(JOURNAL_DAMAGES))
def test_a_damaged_study_journal_is_one_line_naming_it(searched, tmp_path, capsys, damage):
    project, out = searched
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    JOURNAL_DAMAGES[damage](str(copy / "study.journal"))
    status, _, err = main_in_process(capsys, "search", project, "-o", copy, "--trials", "3", "--sampler", "random",
                                     "--resume")
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert JOURNAL_MESSAGES[damage] in err, err
    if damage != "empty":       # an empty journal is a valid one that holds no study
        assert "study.journal" in err, err


@pytest.mark.parametrize("name", ["evaluate", "infer", "export", "report"])
def test_a_project_copy_cut_at_a_line_is_still_found_cut(trained, tmp_path, capsys, name):
    """A cut between two lines of the network leaves valid YAML: a network that stops at a layer. Every
    run's copy ends with `training:` and `context:`, so its absence shows the cut (wherever the cut of
    test_a_damaged_run_file_is_one_line_naming_it falls, which moves with the length of the paths in it)."""
    folder, project, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    lines = (copy / "project.yaml").read_text().splitlines(keepends=True)
    (copy / "project.yaml").write_text("".join(lines[:lines.index("training:\n") - 3]))
    status, _, err = main_in_process(capsys, *command(name, folder, project, copy, tmp_path))
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "project.yaml" in err and "truncated" in err and "`training` section" in err, err


def test_evaluating_a_run_whose_network_has_no_loss_says_so(trained, tmp_path, capsys):
    folder, project, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    text = (copy / "project.yaml").read_text()
    start = text.index("- {type: SoftmaxCrossEntropy")
    end = text.index("training:\n")
    (copy / "project.yaml").write_text(text[:start] + text[end:])
    status, _, err = main_in_process(capsys, "evaluate", copy)
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "has no loss layer, so there is no cost or error to measure" in err and "Traceback" not in err, err
