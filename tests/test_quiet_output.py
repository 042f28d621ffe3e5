"""What a user reads is nncgraph's own lines: nnabla's [INFO] lines and Python warnings (Pillow's
DecompressionBombWarning, ...) only with --verbose (console.py). And a folder named where a file goes
says "is a directory", never "does not exist"."""
from __future__ import annotations

import re
import warnings

import pytest

from conftest import main_in_process, run_cli, tiny_project, write_digits

LIBRARY_LINE = re.compile(r"\[(INFO|DEBUG)\]|\w+Warning\b|warnings\.warn|Traceback")


@pytest.fixture
def project(tmp_path):
    data = write_digits(str(tmp_path / "d"), n=16)
    return tiny_project(str(tmp_path), data, data, epochs=1)


@pytest.mark.e2e
def test_a_run_prints_only_nncgraphs_own_lines(project, tmp_path):
    status, out, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    assert "epoch 1/1" in out and "run folder:" in out
    assert [line for line in (out + err).splitlines() if LIBRARY_LINE.search(line)] == [], out + err


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_what_libraries_print(project, tmp_path, where):
    args = ["run", project, "-o", tmp_path / "run"]
    args = ["--verbose", *args] if where == "before" else [*args, "--verbose"]
    status, out, err = run_cli(*args)
    assert status == 0, err
    assert "[nnabla][INFO]: Initializing CPU extension" in out + err, out + err


@pytest.mark.slow
@pytest.mark.parametrize("verbose", [False, True])
def test_a_decompression_bomb_warning_is_shown_only_with_verbose(tmp_path, capsys, monkeypatch, verbose):
    """8x8 images under a limit of 40 pixels: over the limit (Pillow warns), under twice it (no error)."""
    from PIL import Image

    data = write_digits(str(tmp_path / "d"), n=16)
    project = tiny_project(str(tmp_path), data, data, epochs=1)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        status, out, err = main_in_process(capsys, *(["--verbose"] if verbose else []), "run", project,
                                           "-o", tmp_path / "run")
    assert status == 0, err
    bombs = [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
    if verbose:
        assert bombs, [str(w.message) for w in seen]
    else:
        assert bombs == [] and "DecompressionBomb" not in out + err, [str(w.message) for w in seen]


# -- a directory where a file goes -------------------------------------------------------------------
def directory_cases(tmp_path, project):
    """A folder, and the command lines that name it where a file goes. (init_from takes a run folder.)"""
    folder = tmp_path / "a-folder"
    (folder / "inside").mkdir(parents=True)
    text = open(project).read()
    in_project = tmp_path / "csv-is-folder.yaml"
    in_project.write_text(re.sub(r"training: \{csv: [^}]*\}", f"training: {{csv: {folder}}}", text))
    w_file = tmp_path / "w-file-is-folder.yaml"
    w_file.write_text(text.replace("kernel_shape: [3, 3]}", f"kernel_shape: [3, 3], w_file: {folder}}}"))
    (tmp_path / "a-folder.nnp").mkdir()
    return folder, {
        "project": ["run", folder, "-o", tmp_path / "r"],
        "check-project": ["check", folder],
        "dataset-csv": ["run", in_project, "-o", tmp_path / "r"],
        "--dataset": ["run", project, "--dataset", f"training={folder}", "-o", tmp_path / "r"],
        "w_file": ["run", w_file, "-o", tmp_path / "r"],
        "kfold-csv": ["dataset", "kfold", folder, "-k", "2", "-o", tmp_path / "folds"],
        "import-source": ["import", f"{folder}.nnp", "-o", tmp_path / "p.yaml"],
        "import-output": ["import", f"{folder}.nnp", "-o", folder],
        "export-output": ["export", project, "-o", f"{folder}.nnp"],
    }


DIRECTORY_CASES = ["project", "check-project", "dataset-csv", "--dataset", "w_file", "kfold-csv",
                   "import-source", "import-output", "export-output"]


@pytest.mark.parametrize("case", DIRECTORY_CASES)
def test_a_directory_where_a_file_goes_says_so(project, tmp_path, capsys, case):
    folder, cases = directory_cases(tmp_path, project)
    status, _, err = main_in_process(capsys, *cases[case])
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "is a directory" in err and "does not exist" not in err, err
    assert str(folder) in err, err
