"""Fuzz: generated project files, valid and broken, through what `nncgraph check` and `render` run.

Every case ends in a result or in one clear user error (fuzz_oracle.py). A valid project (a third of the
cases, from fuzz_project_grammar's grammar) must check; whatever checks must also render to YAML that
loads to the same network, and build and run one forward pass in nnabla, as `nncgraph run` would.
"""
from __future__ import annotations

import pytest
from hypothesis import given, note

from fuzz_build import build_and_run_if_small
from fuzz_oracle import examples, outcome, scratch_file
from fuzz_project_grammar import as_yaml, project_texts, valid_projects
from nncgraph.graph.network_table import check_json, check_project, check_text
from nncgraph.project.load import load_project, parse_project
from nncgraph.graph.render import render_yaml

TARGET = "project files"


def check_file(path):
    project = load_project(path)
    results = check_project(project)
    check_text(results)
    check_json(results)
    return project, results


def assert_renders_the_same(project, results, path) -> None:
    """`nncgraph render` writes YAML that loads again to the network `check` showed."""
    rendered = render_yaml(project)
    again = parse_project(rendered, path)
    assert check_json(check_project(again)) == check_json(results), rendered


@pytest.mark.slow
@examples(3.0)
@given(project_texts())
def test_project_file_checks_or_says_why_in_one_line(case):
    data, valid = case
    note(data.decode("utf-8", "replace"))
    path = scratch_file("project.yaml", data)
    done = outcome(TARGET, lambda: check_file(path), valid=valid)
    if done is None:
        return
    project, results = done
    assert_renders_the_same(project, results, path)
    build_and_run_if_small(project, results)


def test_the_grammar_makes_valid_projects_that_check():
    """The grammar's own check: one of its projects, unmutated, checks (the fuzz test relies on that to
    tell a false refusal from a broken input)."""
    from hypothesis import find

    doc = find(valid_projects(), lambda d: any(layer.get("type") == "Unit" for layer in
                                               d.get("network", d.get("networks", {}).get("Main", []))))
    path = scratch_file("grammar.yaml", as_yaml(doc, "layers").encode())
    project, results = check_file(path)
    assert "Main" in results and project.units
