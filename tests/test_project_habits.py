"""The project's habits: one version, package metadata in pyproject.toml, a LICENSE, a CHANGELOG, and the
project file's `format:`."""
from __future__ import annotations

import os
import re

import pytest
import yaml

from conftest import ROOT, main_in_process, write
from nncgraph import __version__
from nncgraph.project.load import load_project
from nncgraph.graph.render import render_yaml
from nncgraph.project.sections import FORMAT

NETWORK = "network:\n  - {type: Input, size: [4]}\n  - {type: Affine, out_shape: 2}\n"


def test_version_is_written_once_and_printed(capsys):
    with pytest.raises(SystemExit) as exit_:
        main_in_process(capsys, "--version")
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"nncgraph {__version__}\n"
    pyproject = open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()
    assert 'dynamic = ["version"]' in pyproject and 'version = {attr = "nncgraph.__version__"}' in pyproject
    assert not re.search(r"^version\s*=\s*\"", pyproject, re.M), "the version is nncgraph/__init__.py's"
    assert not os.path.exists(os.path.join(ROOT, "setup.py"))
    changelog = open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8").read()
    assert f"## [{__version__}]" in changelog and "## [Unreleased]" in changelog


def test_license_is_apache_2():
    text = open(os.path.join(ROOT, "LICENSE"), encoding="utf-8").read()
    assert text.startswith("Copyright 2026 The nncgraph Authors.")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert 'license = "Apache-2.0"' in open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()


def test_render_writes_the_format_and_reads_it_back(tmp_path):
    path = write(tmp_path / "p.yaml", "name: p\n" + NETWORK)
    text = render_yaml(load_project(path))
    assert yaml.safe_load(text)["format"] == FORMAT == 1
    assert text.startswith("format: 1\n")
    again = write(tmp_path / "again.yaml", text)
    assert render_yaml(load_project(again)) == text


@pytest.mark.parametrize("value, message", [
    ("2", "p.yaml:1:1: this project file was written by a newer nncgraph (format 2); this one reads format 1. "
          "Fix: upgrade nncgraph"),
    ("1.5", "p.yaml:1:1: the project's `format` must be an integer, got 1.5. Fix: write format: 1, or leave it out."),
    ("'1'", "the project's `format` must be an integer, got '1'."),
    ("0", "the project's `format` must be 1 or more, got 0."),
])
def test_a_format_this_nncgraph_cannot_read_is_one_line(tmp_path, capsys, value, message):
    # a newer file's unknown key is not what the user hears about: the format comes first
    path = write(tmp_path / "p.yaml", f"format: {value}\nname: p\nnew_section: {{}}\n" + NETWORK)
    status, out, err = main_in_process(capsys, "check", path)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_format_1_and_no_format_read_alike(tmp_path):
    plain = load_project(write(tmp_path / "a.yaml", "name: p\n" + NETWORK))
    marked = load_project(write(tmp_path / "b.yaml", "format: 1\nname: p\n" + NETWORK))
    assert render_yaml(plain) == render_yaml(marked)
