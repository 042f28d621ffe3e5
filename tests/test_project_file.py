"""Project file: defaults, render round trip, generated schema and docs are current."""
from __future__ import annotations

import json
import os

import jsonschema
import yaml

import pytest

from conftest import ROOT, run_cli, write
from nncgraph.layer_docs import layers_markdown
from nncgraph.project.load import load_project, parse_project
from nncgraph.graph.render import render_yaml
from nncgraph.project.schema import project_schema

LENET = os.path.join(ROOT, "projects", "lenet-mnist.yaml")


def test_checked_in_schema_is_current():
    with open(os.path.join(ROOT, "schemas", "project.schema.json")) as f:
        assert json.load(f) == project_schema(), "run `make docs` to regenerate schemas/"


def test_checked_in_layer_reference_is_current():
    with open(os.path.join(ROOT, "docs", "layers.md")) as f:
        assert f.read().strip() == layers_markdown().strip(), "run `make docs` to regenerate docs/layers.md"


@pytest.mark.slow
def test_every_project_and_its_render_validate_against_the_schema():
    schema = project_schema()
    for name in os.listdir(os.path.join(ROOT, "projects")):
        path = os.path.join(ROOT, "projects", name)
        with open(path) as f:
            jsonschema.validate(yaml.safe_load(f), schema)
        jsonschema.validate(yaml.safe_load(render_yaml(load_project(path))), schema)


@pytest.mark.slow
def test_schema_rejects_an_unknown_property():
    doc = {"network": [{"type": "Convolution", "out_map": 3}]}
    try:
        jsonschema.validate(doc, project_schema())
    except jsonschema.ValidationError:
        return
    raise AssertionError("schema accepted an unknown property")


def test_render_fills_defaults_and_round_trips(tmp_path):
    path = write(tmp_path / "p.yaml", """
        name: mini
        datasets: {training: {csv: d.csv}}
        network:
          - {type: Input, size: [3, 8, 8]}
          - {type: Convolution, out_maps: 4}
          - {type: Convolution, out_maps: 4, border_mode: valid}
          - {type: MaxPooling}
          - {type: Add2, input: [MaxPooling, MaxPooling]}
        training: {optimizer: {type: Momentum}, lr_scheduler: {type: Cosine, warmup_epochs: 1}}
        """)
    text = render_yaml(load_project(path))
    doc = yaml.safe_load(text)
    conv1, conv2 = doc["network"][1], doc["network"][2]
    assert conv1["name"] == "Convolution" and conv2["name"] == "Convolution_2"
    assert conv1["padding"] == [1, 1] and conv2["padding"] == [0, 0]       # derived from border_mode
    assert doc["network"][3]["strides"] == [2, 2]                          # pooling strides = kernel
    assert doc["network"][1]["parameter_scope"] == "Convolution"
    assert doc["training"]["optimizer"] == {"type": "Momentum", "learning_rate": 0.01, "momentum": 0.9,
                                            "weight_decay": 0.0}
    assert doc["training"]["lr_scheduler"] == {"type": "Cosine", "min_rate": 0.0, "warmup_epochs": 1.0}
    assert doc["datasets"]["training"] == {"csv": "d.csv", "shuffle": True, "image_normalization": True}
    assert doc["context"] == {"backend": "cpu", "device_id": 0, "precision": "float"}
    again = render_yaml(parse_project(text, str(tmp_path / "p.yaml")))
    assert again == text


@pytest.mark.e2e
def test_render_cli_prints_the_lenet_project():
    status, out, err = run_cli("render", LENET)
    assert status == 0, err
    doc = yaml.safe_load(out)
    assert doc["name"] == "lenet-mnist"
    assert [l["type"] for l in doc["network"]][:3] == ["Input", "Convolution", "ReLU"]
    assert doc["training"]["optimizer"]["alpha"] == 0.001


@pytest.mark.e2e
def test_several_named_networks_and_a_dag(tmp_path):
    path = write(tmp_path / "p.yaml", """
        name: two
        datasets: {training: {csv: d.csv}}
        networks:
          Small:
            - {type: Input, name: x, size: [4]}
            - {type: Affine, out_shape: 2}
          Skip:
            - {type: Input, name: x, size: [2, 6, 6]}
            - {type: Convolution, name: a, out_maps: 2, kernel_shape: [3, 3]}
            - {type: ReLU, name: r}
            - {type: Add2, name: s, input: [r, x]}
            - {type: Concatenate, name: c, input: [s, x, a]}
        training: {network: Skip}
        """)
    project = load_project(path)
    assert list(project.networks) == ["Small", "Skip"] and project.training.network == "Skip"
    status, out, err = run_cli("check", path, "--json")
    assert status == 0, err
    skip = json.loads(out)["networks"]["Skip"]["variants"]["training"]["layers"]
    assert skip[-1] == {"name": "c", "type": "Concatenate", "inputs": [[2, 6, 6]] * 3, "output": [6, 6, 6],
                        "params": 0, "macs": 0}


@pytest.mark.e2e
def test_layers_cli_lists_and_describes():
    status, out, _ = run_cli("layers", "--json")
    layers = json.loads(out)
    assert status == 0 and len(layers) >= 35
    conv = next(l for l in layers if l["name"] == "Convolution")
    props = {p["name"]: p for p in conv["properties"]}
    assert props["out_maps"]["default"] == 16 and props["out_maps"]["nnc_name"] == "OutMaps"
    assert props["border_mode"]["options"] == ["valid", "full", "same"]
    status, out, _ = run_cli("layers", "MaxPooling")
    assert status == 0 and "ignore_border" in out
