"""Fuzz: generated project files, valid and broken, through what `nncgraph check` and `render` run.

Every case ends in a result or in one clear user error (fuzz_oracle.py). A valid project (a third of the
cases, from fuzz_project_grammar's grammar) must check; whatever checks must also render to YAML that
loads to the same network, and build and run one forward pass in nnabla, as `nncgraph run` would.
"""
from __future__ import annotations

import logging

logging.getLogger("nnabla").setLevel(logging.WARNING)   # before nnabla's first import

import numpy as np
from hypothesis import given, note

from fuzz_oracle import assert_one_clear_line, examples, outcome, scratch_file
from fuzz_project_grammar import as_yaml, project_texts, valid_projects
from nncgraph.cli.network_table import check_json, check_project, check_text
from nncgraph.errors import UserError
from nncgraph.project.load import load_project, parse_project
from nncgraph.project.render import render_yaml

TARGET = "project files"
# Networks small enough to build and run here in milliseconds; larger ones are only checked.
BUILD_LIMIT = 200_000          # parameters, and values of all layer outputs per sample


def check_file(path):
    project = load_project(path)
    results = check_project(project)
    check_text(results)
    check_json(results)
    return project, results


def outputs_size(results) -> int:
    return sum(int(np.prod(i.out_shape)) for variants in results.values() for g in variants.values()
               for i in g.ordered())


def build_and_run(project, results) -> None:
    """Build the training and validation variants of every network at batch size 2 and run them forward on
    zeros (every label 0, valid for any loss), as `nncgraph run` builds them."""
    import os

    import nnabla as nn

    from nncgraph.compile.nnabla_graph import compile_graph

    for variants in results.values():
        for variant in ("training", "validation"):
            nn.clear_parameters()
            try:
                compiled = compile_graph(variants[variant], 2, os.path.dirname(project.path))
            except UserError as exc:     # a parameter file (w_file) that cannot be used: said clearly
                assert_one_clear_line(exc)
                return
            for variable in compiled.inputs.values():
                variable.d = 0
            consumed = {name for info in variants[variant].ordered() for name in info.node.inputs}
            for name, output in compiled.outputs.items():
                if name not in consumed and output.parent is not None:     # the ends of the graph
                    output.forward()
    nn.clear_parameters()


def assert_renders_the_same(project, results, path) -> None:
    """`nncgraph render` writes YAML that loads again to the network `check` showed."""
    rendered = render_yaml(project)
    again = parse_project(rendered, path)
    assert check_json(check_project(again)) == check_json(results), rendered


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
    params = sum(g.total_params for variants in results.values() for g in variants.values())
    if params <= BUILD_LIMIT and outputs_size(results) <= BUILD_LIMIT:
        build_and_run(project, results)


def test_the_grammar_makes_valid_projects_that_check():
    """The grammar's own check: one of its projects, unmutated, checks (the fuzz test relies on that to
    tell a false refusal from a broken input)."""
    from hypothesis import find

    doc = find(valid_projects(), lambda d: any(layer.get("type") == "Unit" for layer in
                                               d.get("network", d.get("networks", {}).get("Main", []))))
    path = scratch_file("grammar.yaml", as_yaml(doc, "layers").encode())
    project, results = check_file(path)
    assert "Main" in results and project.units
