"""Fuzz: generated NNC projects (.sdcproj), valid and broken, through what `nncgraph import` runs, and the
imported project through what `nncgraph check` runs (so its shapes are inferred).

Every case ends in a result or in one clear user error (fuzz_oracle.py). A valid project (a third of the
cases, from fuzz_sdcproj_grammar: one network or several, with or without settings) must import, and its
import must check, with every layer of the NNC network in the checked network (each copy of a
repeat block's). A changed one has odd
property values, unknown layer types, IDs, links, pins, cycles, counts that lie, missing or repeated
sections and keys, broken lines; an edited one has byte-level damage: truncation, stray (non-UTF-8) bytes,
a byte-order mark, LF or CR line ends.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from fuzz_oracle import examples, outcome, scratch_file
from fuzz_sdcproj_grammar import changed_projects, render, valid_projects
from fuzz_values import edited_text
from nncgraph.graph.network_table import check_json, check_project, check_text
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import parse_project

TARGET = ".sdcproj files"


@st.composite
def sdcproj_files(draw):
    """(bytes, {network: layer names} or None, trained network or None): the names only for a valid file."""
    which = draw(st.sampled_from(["valid", "changed", "edited"]))
    newline = draw(st.sampled_from(["\r\n", "\r\n", "\n"]))      # NNC writes CRLF; a checkout may make LF
    if which == "changed":
        text = render(draw(changed_projects()), newline)
        return text.encode("utf-8", "surrogatepass"), None, None
    sections, names, trained = draw(valid_projects())
    text = render(sections, newline)
    if which == "edited":
        return draw(edited_text(text)), None, None
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8"), names, trained


def import_and_check(path: str):
    """`nncgraph import` (the .sdcproj to YAML text), then `nncgraph check` of that YAML."""
    yaml_text = import_sdcproj(path)
    project = parse_project(yaml_text, os.path.splitext(path)[0] + ".yaml")
    results = check_project(project)
    check_text(results)
    return project, check_json(results)


@pytest.mark.slow
@examples(2.0)
@given(sdcproj_files())
def test_sdcproj_imports_and_checks_or_says_why_in_one_line(case):
    data, names, trained = case
    note(data.decode("utf-8", "replace"))
    path = scratch_file("project.sdcproj", data)
    done = outcome(TARGET, lambda: import_and_check(path), valid=names is not None)
    if done is None or names is None:
        return
    project, report = done
    assert sorted(report["networks"]) == sorted(names)
    for net, layer_names in names.items():
        checked = {l["name"]: l for l in report["networks"][net]["variants"]["training"]["layers"]}
        # a repeat block's layers are checked once per copy, `<RepeatStart>_<copy>/<layer>`; its ends vanish
        written = {n for n in layer_names if not n.startswith(("RepeatStart", "RepeatEnd"))}
        assert {n.rsplit("/", 1)[-1] for n in checked} == written, (net, sorted(checked))
        assert checked["Input"]["output"] in ([1, 8, 8], [6])
        assert checked[layer_names[-1]]["output"] in ([1], [3])     # a loss, or a runtime copy's Softmax/Affine
    if project.training is not None and len(names) > 1:
        assert project.training.network == trained


def test_the_grammar_makes_a_two_network_project_that_imports():
    """The grammar's own check: a generated two-network project with settings imports and checks (the
    fuzz test relies on it to tell a false refusal from a broken input)."""
    from hypothesis import find

    sections, names, trained = find(valid_projects(), lambda p: len(p[1]) == 2 and any(
        s[0] == "Optimizer_0" for s in p[0]))
    path = scratch_file("grammar.sdcproj", render(sections).encode())
    project, report = import_and_check(path)
    assert sorted(report["networks"]) == ["Runtime", "Train"] and project.training.network == trained == "Train"
