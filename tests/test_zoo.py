"""The model zoo: published parameter counts, every variant builds, one training step runs."""
from __future__ import annotations

import glob
import json
import os

import nnabla as nn
import numpy as np
import pytest

from conftest import ROOT, run_cli
from nncgraph.engines.nnabla.graph import compile_graph
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import VARIANTS, derive
from nncgraph.project.load import load_project
from nncgraph.engines.nnabla.solvers import make_solvers
from nncgraph.train.optimizer import learning_rate_multipliers

ZOO = sorted(glob.glob(os.path.join(ROOT, "projects", "*.yaml")))

PUBLISHED_PARAMETERS = {          # torchvision / the papers: trainable parameters
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "squeezenet11": 1_235_496,
    "vgg16": 138_357_544,
    "densenet161": 28_681_000,
    "mobilenet-v1": 4_231_976,
    "resnet20-cifar": 272_474,    # with 1x1 projection shortcuts (the paper's option B)
}


@pytest.mark.e2e
@pytest.mark.parametrize("name, expected", sorted(PUBLISHED_PARAMETERS.items()))
def test_published_parameter_counts(name, expected):
    status, out, err = run_cli("check", os.path.join(ROOT, "projects", f"{name}.yaml"), "--json")
    assert status == 0, err
    variants = json.loads(out)["networks"]["Main"]["variants"]
    assert variants["training"]["total_params"] == expected
    assert variants["runtime"]["total_params"] == expected


@pytest.mark.slow
@pytest.mark.parametrize("path", ZOO, ids=lambda p: os.path.basename(p)[:-5])
def test_every_variant_builds_and_one_step_trains(path):
    project = load_project(path)
    graph = network_graph(project, project.training.network)
    nn.clear_parameters()
    np.random.seed(0)
    built = {}
    for variant in VARIANTS:
        inferred = infer(derive(graph, variant), variant)
        compiled = compile_graph(inferred, batch_size=2)
        for info in inferred.ordered():      # every shape as inferred
            assert compiled.outputs[info.node.name].shape == (2, *info.out_shape), info.node.name
        built[variant] = (inferred, compiled)
    inferred, compiled = built["training"]
    rng = np.random.RandomState(0)
    for name, var in compiled.inputs.items():
        loss_info = next((i for i in inferred.ordered() if i.node.props.get("target") == name), None)
        if loss_info is not None:
            classes = loss_info.node.layer.n_classes(loss_info.in_shapes[0], loss_info.node.props)
            var.d = rng.randint(0, classes, var.shape)
        else:
            var.d = rng.rand(*var.shape)
    live = {k: v for k, v in nn.get_parameters().items()}
    solvers = make_solvers(project.training.optimizer, live, learning_rate_multipliers(inferred))
    before = {k: v.d.copy() for k, v in live.items()}
    for _, solver in solvers:
        solver.zero_grad()
    compiled.loss.forward()
    compiled.loss.backward()
    for _, solver in solvers:
        solver.update()
    assert np.isfinite(compiled.loss.d)
    moved = [k for k, v in live.items() if not np.array_equal(v.d, before[k])]
    assert len(moved) == len(live), set(live) - set(moved)
