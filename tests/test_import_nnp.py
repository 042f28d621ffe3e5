"""`nncgraph import FILE.nntxt|FILE.nnp`: layers rebuilt from nnabla functions, parameters kept."""
from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import ROOT, run_cli, tiny_project, write_digits

ZOO = ["lenet-mnist", "resnet20-cifar", "squeezenet11", "mobilenet-v1", "vgg-cifar", "face-classifier-small"]


def _check(path):
    """Per-layer output shapes, total parameters and multiply-adds of a project's training variant."""
    from nncgraph.graph.ir import network_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive
    from nncgraph.project.load import load_project

    project = load_project(path)
    inferred = infer(derive(network_graph(project, project.training.network), "training"), "training")
    # what each loss compares: the prediction's shape
    shapes = sorted(tuple(info.in_shapes[0]) for info in inferred.ordered() if info.node.layer.role == "loss")
    return project, inferred, shapes


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_an_exported_zoo_project_imports_to_the_same_network(tmp_path, name):
    from nncgraph.interop.nnp_export import export_project
    from nncgraph.interop.nnp_import import import_nnp

    original = os.path.join(ROOT, "projects", f"{name}.yaml")
    project, inferred, shapes = _check(original)
    export_project(project, str(tmp_path / "m.nnp"), "nnp", base_dir=os.path.dirname(original))
    out = tmp_path / "imported.yaml"
    out.write_text(import_nnp(str(tmp_path / "m.nnp"), str(out)))
    _, again, again_shapes = _check(str(out))
    assert again.total_params == inferred.total_params
    assert sum(i.macs for i in again.ordered()) == sum(i.macs for i in inferred.ordered())
    # the same parameters by name and shape, and the same network output
    assert {n: tuple(p.shape) for n, p in again.parameters.items()} == \
        {n: tuple(p.shape) for n, p in inferred.parameters.items()}
    assert again_shapes == shapes and shapes


@pytest.mark.e2e
def test_imported_best_nnp_starts_from_the_trained_parameters(tmp_path):
    """Import a run's best.nnp; the imported project's model predicts exactly what the run's did."""
    write_digits(str(tmp_path / "d"), n=24)
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=2)
    assert run_cli("run", project, "-o", tmp_path / "run")[0] == 0
    status, out, err = run_cli("import", tmp_path / "run" / "best.nnp", "-o", tmp_path / "imp" / "p.yaml")
    assert status == 0, err
    text = (tmp_path / "imp" / "p.yaml").read_text()
    assert "init_from: {path: ../run/best.nnp}" in text
    # train 1 epoch from the imported parameters: init_from loads every one of them
    status, out, err = run_cli("run", tmp_path / "imp" / "p.yaml", "-o", tmp_path / "run2", "--epochs", "1")
    assert status == 0, err
    assert "init_from: 4 parameters loaded" in out
    # and before training, the imported network computes what the run's own model computes
    import nnabla as nn
    from nncgraph.engines.nnabla.graph import compile_graph
    from nncgraph.evaluate.model import load_model
    from nncgraph.train.init_from import apply_init_from

    imported, inferred, _ = _check(str(tmp_path / "imp" / "p.yaml"))
    from nncgraph.graph.ir import network_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive

    runtime = infer(derive(network_graph(imported, imported.training.network), "runtime"), "runtime")
    nn.clear_parameters()
    compiled = compile_graph(runtime, 6, str(tmp_path / "imp"))
    apply_init_from(imported.init_from, nn.get_parameters(grad_only=False), log=lambda _: None)
    x = np.random.RandomState(2).rand(6, 1, 8, 8).astype(np.float32)
    compiled.inputs["x"].d = x
    out_var = list(compiled.outputs.values())[-1]
    out_var.forward()
    got = out_var.d.copy()
    model = load_model(str(tmp_path / "run"), "best", batch_size=6)
    (_, _, want), = list(model.predict({"x": x}, {}, 6))
    assert np.abs(got - want["y'"]).max() < 1e-6


@pytest.mark.e2e
def test_an_nntxt_without_parameters_keeps_the_initializers(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    network = """
    network:
      - {type: Input, name: x, size: [1, 8, 8]}
      - {type: Convolution, name: c1, out_maps: 4, kernel_shape: [3, 3], w_initializer: NormalConvolutionHeForward,
         w_initializer_multiplier: 2.0}
      - {type: BatchNormalization, name: bn}
      - {type: ReLU}
      - {type: Dropout, p: 0.25}
      - {type: Affine, name: fc, out_shape: 3}
      - {type: SoftmaxCrossEntropy, target: y}
    """
    project = tiny_project(str(tmp_path), "d/data.csv", network=network, epochs=3)
    text = open(project).read().replace("seed: 1}", "seed: 1, optimizer: {type: Momentum, learning_rate: 0.05}, "
                                                    "lr_scheduler: {type: Step, steps: [2], multiplier: 0.5}}")
    open(project, "w").write(text)
    assert run_cli("export", project, "-o", tmp_path / "m.nntxt")[0] == 0
    status, _, err = run_cli("import", tmp_path / "m.nntxt", "-o", tmp_path / "back.yaml")
    assert status == 0, err
    back = (tmp_path / "back.yaml").read_text()
    assert "init_from" not in back
    assert "w_initializer: NormalConvolutionHeForward, w_initializer_multiplier: 2.0" in back
    assert "{type: Dropout, name: Dropout, p: 0.25}" in back
    imported, _, _ = _check(str(tmp_path / "back.yaml"))
    assert imported.training.optimizer.type == "Momentum"
    assert imported.training.optimizer.params["learning_rate"] == 0.05
    assert imported.training.lr_scheduler.type == "Step" and imported.training.lr_scheduler.params["steps"] == [2]
    assert imported.training.max_epoch == 3 and imported.training.batch_size == 8
    status, out, err = run_cli("run", tmp_path / "back.yaml", "-o", tmp_path / "r")
    assert status == 0, err


@pytest.mark.e2e
def test_import_errors_name_the_file_line_and_function(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv")
    assert run_cli("export", project, "-o", tmp_path / "m.nntxt")[0] == 0
    text = (tmp_path / "m.nntxt").read_text()
    # a function nncgraph has no layer for
    bad = text.replace('type: "ReLU"', 'type: "ArgMax"', 1)
    (tmp_path / "bad.nntxt").write_text(bad)
    line = bad.splitlines().index('  function {', bad.splitlines().index('    type: "ArgMax"') - 5) + 2
    status, _, err = run_cli("import", tmp_path / "bad.nntxt", "-o", tmp_path / "x.yaml")
    assert status == 2 and "Traceback" not in err, err
    assert f"bad.nntxt:{line}" in err and "ArgMax" in err and "Fix:" in err.replace("fix:", "Fix:")
    assert not (tmp_path / "x.yaml").exists()
    (tmp_path / "broken.nnp").write_bytes(b"PK\x03\x04 not really")
    status, _, err = run_cli("import", tmp_path / "broken.nnp", "-o", tmp_path / "x.yaml")
    assert status == 2 and "not an .nnp" in err and "Traceback" not in err
    (tmp_path / "keep.yaml").write_text("mine\n")
    status, _, err = run_cli("import", tmp_path / "m.nntxt", "-o", tmp_path / "keep.yaml")
    assert status == 2 and "already exists" in err
    assert (tmp_path / "keep.yaml").read_text() == "mine\n"
