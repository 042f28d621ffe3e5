"""Examples in the README and docs are real: every project example passes `check`."""
from __future__ import annotations

import glob
import os
import re

import pytest

from conftest import ROOT, run_cli

DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "**", "*.yaml"), recursive=True) +
                  glob.glob(os.path.join(ROOT, "projects", "*.yaml")))


def yaml_projects(path):
    text = open(path, encoding="utf-8").read()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if re.search(r"^networks?:", block, re.M)]


def test_docs_contain_project_examples():
    assert sum(len(yaml_projects(p)) for p in DOCS) >= 2


@pytest.mark.parametrize("doc", DOCS, ids=os.path.basename)
def test_doc_examples_check(doc, tmp_path):
    for i, block in enumerate(yaml_projects(doc)):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block)
        status, out, err = run_cli("check", path)
        assert status == 0, (doc, i, err)
        assert "total" in out


@pytest.mark.parametrize("project", EXAMPLES, ids=os.path.basename)
def test_shipped_projects_check(project):
    status, out, err = run_cli("check", project)
    assert status == 0, err


def test_image_experiments_script_prints_its_table(tmp_path):
    """examples/image-experiments: every configuration made, trained one epoch, and tabulated."""
    import subprocess
    import sys

    script = os.path.join(ROOT, "examples", "image-experiments", "run.py")
    proc = subprocess.run([sys.executable, script, "--epochs", "1", "--runs", str(tmp_path / "runs"),
                           "--data", str(tmp_path / "data")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    configs = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(ROOT, "examples", "image-experiments",
                                                                              "*.yaml")))
    assert [line.split()[0] for line in lines[1:]] == configs
    for line in lines[1:]:
        accuracy = float(line.split()[5])
        assert 0.5 < accuracy <= 1.0, line          # digits are easy: one epoch is far above chance
