"""Examples in the README and docs are real: every project example passes `check`."""
from __future__ import annotations

import glob
import os
import re

import pytest

from conftest import ROOT, run_cli

DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
ALL_EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "**", "*.yaml"), recursive=True) +
                      glob.glob(os.path.join(ROOT, "projects", "*.yaml")))
SEARCH_EXAMPLES = [p for p in ALL_EXAMPLES if "{search:" in open(p, encoding="utf-8").read()]
EXAMPLES = [p for p in ALL_EXAMPLES if p not in SEARCH_EXAMPLES]


def yaml_blocks(path):
    text = open(path, encoding="utf-8").read()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if re.search(r"^networks?:", block, re.M)]


def yaml_projects(path):
    """Plain projects; those declaring a search space are checked by test_search_examples_sample."""
    return [block for block in yaml_blocks(path) if "{search:" not in block and "optional:" not in block]


def test_docs_contain_project_examples():
    assert sum(len(yaml_projects(p)) for p in DOCS) >= 2


@pytest.mark.e2e
@pytest.mark.parametrize("doc", DOCS, ids=os.path.basename)
def test_doc_examples_check(doc, tmp_path):
    for i, block in enumerate(yaml_projects(doc)):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block)
        status, out, err = run_cli("check", path)
        assert status == 0, (doc, i, err)
        assert "total" in out


@pytest.mark.e2e
@pytest.mark.parametrize("project", EXAMPLES, ids=os.path.basename)
def test_shipped_projects_check(project):
    status, out, err = run_cli("check", project)
    assert status == 0, err


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_nnabla_files_howto_commands_run(tmp_path):
    """docs/howto-nnabla-files.md: its round trip through nnabla's own CLI, command by command."""
    import subprocess
    import sys

    from nncgraph.data.mnist_sample import write_mnist_sample

    text = open(os.path.join(ROOT, "docs", "howto-nnabla-files.md"), encoding="utf-8").read()
    block, = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "nnabla_cli train" in b]
    os.symlink(os.path.join(ROOT, "projects"), tmp_path / "projects")
    write_mnist_sample(str(tmp_path / "data" / "mnist"))
    bin_dir = os.path.dirname(sys.executable)          # the venv's nncgraph and nnabla_cli
    proc = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "runs" / "lenet" / "best.nnp").is_file()
    assert (tmp_path / "nnabla-train" / "results.nnp").is_file()
    assert sum(1 for _ in open(tmp_path / "nnabla-forward" / "output_result.csv")) == 1001
    assert "total" in proc.stdout and "78,810" in proc.stdout      # `check` of the imported LeNet


@pytest.mark.slow
def test_search_examples_sample_into_valid_candidates(tmp_path):
    """Declared-space examples: every declaration parses, and sampled candidates pass shape inference."""
    import optuna
    import yaml

    from nncgraph.project.search_declarations import declarations
    from nncgraph.search.candidate import build_candidate
    from nncgraph.search.space import sample_candidate, validate_declarations

    blocks = [b for doc in DOCS for b in yaml_blocks(doc) if "{search:" in b]
    blocks += [open(p, encoding="utf-8").read() for p in SEARCH_EXAMPLES]
    assert len(blocks) >= 2
    for block in blocks:
        doc = yaml.safe_load(block)
        found = declarations(doc)
        validate_declarations(found)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(5):
            candidate, _ = sample_candidate(doc, study.ask(), found)
            assert build_candidate(candidate, str(tmp_path / "c.yaml")).macs > 0
