"""Fuzz: every registered layer type with generated property values and input shapes.

Each case is a one-layer network (an Input per input, then the layer) as a project file: the layer-harness
case of that type (cases_*.py) with some properties replaced by values of the declared kind (in range and
out of it, options and typos of them) or of any other type, and sometimes other input shapes. It goes
through `load` and `check`; what checks is built and run forward in nnabla. A harness case left as it is
must check (it is valid by construction).
"""
from __future__ import annotations

import glob
import importlib
import os

import pytest
import yaml
from hypothesis import given, note
from hypothesis import strategies as st

from fuzz_build import build_and_run_if_small
from fuzz_oracle import examples, outcome, scratch_file
from fuzz_values import EDGE_FLOATS, EDGE_INTS, ODD_TEXT, typo, values
from nncgraph.graph.network_table import check_project
from nncgraph.layers import REGISTRY
from nncgraph.layers.base import FloatsProp, Prop
from nncgraph.project.load import load_project

pytestmark = pytest.mark.slow

TARGET = "layer properties"
LAYER_NAME = "layer"


def _harness_cases():
    here = os.path.dirname(os.path.abspath(__file__))
    found = []
    for path in sorted(glob.glob(os.path.join(here, "cases_*.py"))):
        found += importlib.import_module(os.path.basename(path)[:-3]).CASES
    return found


CASES = {}
for _case in _harness_cases():
    CASES.setdefault(_case.type, []).append(_case)

small_ints = st.one_of(st.integers(-2, 8), st.sampled_from(EDGE_INTS))


def kind_values(prop: Prop):
    """Values of the property's declared kind, in its range and at and beyond its edges."""
    if isinstance(prop, FloatsProp):
        numbers = st.one_of(st.floats(-4, 4), st.sampled_from(EDGE_FLOATS))
        return st.one_of(st.lists(numbers, max_size=max(4, prop.length + 1)), numbers,
                         st.lists(numbers, min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))))
    kind = prop.kind
    if kind == "option":
        return st.one_of(st.sampled_from(prop.options), st.sampled_from(prop.options).flatmap(typo))
    if kind == "bool":
        return st.booleans()
    if kind == "str":
        return st.one_of(st.sampled_from(["x", "y", "t", "layer", "shared/scope", "in0", "x0"]),
                         st.sampled_from(ODD_TEXT), st.text(max_size=6))
    if kind == "float":
        return st.one_of(st.floats(-3, 3), st.sampled_from(EDGE_FLOATS))
    if kind in ("int", "uint", "pint"):
        return small_ints
    return st.one_of(st.lists(small_ints, max_size=5), st.lists(st.integers(0, 4), min_size=1, max_size=4),
                     small_ints)


@st.composite
def layer_cases(draw, type_name):
    """(layer props, input shapes, whether unchanged from a valid harness case)."""
    case = draw(st.sampled_from(CASES[type_name]))
    props = dict(case.props)
    shapes = [list(s) for s in case.inputs]
    layer = REGISTRY[type_name]
    if not draw(st.integers(0, 3)):
        return props, shapes, True
    for key in draw(st.lists(st.sampled_from(sorted(layer.props)), max_size=4, unique=True)) if layer.props else []:
        props[key] = draw(st.one_of(kind_values(layer.props[key]), kind_values(layer.props[key]), values))
    if layer.props and draw(st.integers(0, 5)) == 0:
        del_key = draw(st.sampled_from(sorted(props) or [None]))
        props.pop(del_key, None)
    if draw(st.integers(0, 3)) == 0:
        lo, hi = (layer.n_inputs, layer.n_inputs) if isinstance(layer.n_inputs, int) else layer.n_inputs
        count = draw(st.integers(max(lo - 1, 0), (hi if hi is not None else lo + 2) + 1))
        shapes = draw(st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=4), min_size=count, max_size=count))
    if draw(st.integers(0, 7)) == 0:
        props[draw(st.one_of(st.sampled_from(sorted(layer.props) or ["x"]).flatmap(typo), st.text(max_size=5)))] = \
            draw(values)
    return props, shapes, False


def project_text(type_name, props, shapes) -> str:
    network = [{"type": "Input", "name": f"in{i}", "size": s, "dataset": f"x{i}"} for i, s in enumerate(shapes)]
    entry = {"type": type_name, "name": LAYER_NAME}
    if len(shapes) > 1 or (not shapes and REGISTRY[type_name].n_inputs != 0):
        entry["input"] = [n["name"] for n in network]
    network.append({**entry, **{k: v for k, v in props.items() if k not in ("type", "name", "input")}})
    return yaml.safe_dump({"name": "case", "network": network}, sort_keys=False, default_flow_style=None,
                          allow_unicode=True)


def check_file(path):
    project = load_project(path)
    return project, check_project(project)


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
@examples(0.04)
@given(data=st.data())
def test_layer_properties_check_or_say_why_in_one_line(type_name, data):
    props, shapes, valid = data.draw(layer_cases(type_name), label="props, input shapes, valid")
    text = project_text(type_name, props, shapes)
    note(text)
    path = scratch_file("layer.yaml", text.encode("utf-8", "surrogatepass"))
    done = outcome(TARGET, lambda: check_file(path), valid=valid)
    if done is not None:
        build_and_run_if_small(*done)
