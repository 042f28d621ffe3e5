"""Examples in the README and docs are real: every project example passes `check`."""
from __future__ import annotations

import glob
import os
import re

import pytest

from conftest import ROOT, run_cli

DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")) +
                  glob.glob(os.path.join(ROOT, "projects", "*.yaml")))


def yaml_projects(path):
    text = open(path, encoding="utf-8").read()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if "network" in block]


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
