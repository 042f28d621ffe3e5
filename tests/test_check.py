"""`nncgraph check` on the LeNet project: shapes equal nnabla's, parameter counts equal NNC's."""
from __future__ import annotations

import configparser
import json
import os

import pytest

from conftest import ROOT, run_cli, shared_path

pytestmark = pytest.mark.e2e

LENET = os.path.join(ROOT, "projects", "lenet-mnist.yaml")
NNC_LENET = "image_recognition__MNIST__LeNet.sdcproj"       # in NNC's samples (conftest.shared_path)


def nnc_layers_in_link_order(path):
    """(type, {property: value}) of an NNC single-network project, following its links."""
    cp = configparser.RawConfigParser(strict=False)
    cp.optionxform = str
    cp.read(path)
    layers = {}
    for section in cp.sections():
        if section.startswith("Layer_"):
            s = cp[section]
            props = {s[f"Property_{i}_Name"]: s[f"Property_{i}_Value"] for i in range(int(s["NumProperty"]))}
            layers[s["ID"]] = (s["Type"], props)
    links = {cp[s]["SourceLayerID"]: cp[s]["DestLayerID"] for s in cp.sections() if s.startswith("Link_")}
    start = next(i for i, (t, _) in layers.items() if t == "Input")
    order = [start]
    while order[-1] in links:
        order.append(links[order[-1]])
    return [layers[i] for i in order]


def test_lenet_project_is_nncs_lenet_sample():
    report = json.loads(run_cli("check", LENET, "--json")[1])
    ours = report["networks"]["Main"]["variants"]["training"]["layers"]
    nnc = nnc_layers_in_link_order(shared_path("nnc-samples", NNC_LENET))
    assert [(l["type"], l["name"]) for l in ours] == [(t, p["Name"]) for t, p in nnc]
    for layer, (_, props) in zip(ours, nnc):
        if layer["type"] == "Convolution":
            assert layer["output"][0] == int(props["OutMaps"])
        if layer["type"] == "Affine":
            assert layer["output"] == [int(props["OutShape"])]


def test_parameter_counts_equal_nncs():
    report = json.loads(run_cli("check", LENET, "--json")[1])
    training = report["networks"]["Main"]["variants"]["training"]
    params = {l["name"]: l["params"] for l in training["layers"] if l["params"]}
    # NNC's CostParameter: W + b of each layer (16*1*7*7+16, 30*16*3*3+30, 480*150+150, 150*10+10)
    assert params == {"Convolution": 800, "Convolution_2": 4350, "Affine": 72150, "Affine_2": 1510}
    assert training["total_params"] == 78810
    # NNC's CostMultiplyAdd: output elements x kernel volume x input maps; Affine: inputs x outputs
    assert training["total_macs"] == 16 * 22 * 22 * 49 + 30 * 9 * 9 * 16 * 9 + 480 * 150 + 150 * 10


def test_check_json_has_exactly_the_documented_keys():
    report = json.loads(run_cli("check", LENET, "--json")[1])
    assert list(report) == ["networks"]
    variants = report["networks"]["Main"]["variants"]
    assert list(variants) == ["training", "validation", "runtime"]
    for v in variants.values():
        assert set(v) == {"layers", "total_params", "total_macs"}
        for layer in v["layers"]:
            assert set(layer) == {"name", "type", "inputs", "output", "params", "macs"}
    runtime = [l["type"] for l in variants["runtime"]["layers"]]
    assert runtime[-1] == "Softmax" and "CategoricalCrossEntropy" not in runtime


def test_inferred_shapes_equal_what_nnabla_builds():
    import nnabla as nn

    from nncgraph.engines.nnabla.graph import compile_graph
    from nncgraph.graph.ir import build_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import VARIANTS, derive
    from nncgraph.project.load import load_project

    report = json.loads(run_cli("check", LENET, "--json")[1])["networks"]["Main"]["variants"]
    project = load_project(LENET)
    graph = build_graph("Main", project.networks["Main"])
    nn.clear_parameters()
    for variant in VARIANTS:
        compiled = compile_graph(infer(derive(graph, variant), variant), batch_size=5)
        for layer in report[variant]["layers"]:
            built = compiled.outputs[layer["name"]].shape
            assert built == (5, *layer["output"]), (variant, layer["name"], built)
    built_params = {k: v.size for k, v in nn.get_parameters().items()}
    assert sum(built_params.values()) == report["training"]["total_params"]


def test_check_and_help_do_not_import_nnabla():
    import subprocess
    import sys

    code = ("import sys; from nncgraph.cli.main import main; main(['check', %r]); "
            "assert not [m for m in sys.modules if m.startswith('nnabla')], 'nnabla imported'" % LENET)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout
