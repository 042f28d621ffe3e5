"""NNC issue 13, item 1: links into any input pin (layers/pins.py).

A loss's target T fed by a layer (a reconstruction target), Sub2's and Div2's R connector linked in
either link order, and parameter pins (Affine's W, Convolution's W and b, BatchNormalization's beta,
gamma, mean and var) fed from Parameter layers that also feed other layers (an L1 penalty summed into
the loss). Each fixture is written as NNC writes it (tests/sdcproj_text.py, with DestPinIndex), imported,
checked against the shapes nnabla builds, and computed or trained."""
from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.graph.render import render_yaml
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import derive, variant_graphs
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import load_project, parse_project
from sdcproj_text import line_number, sdcproj
from test_import_sdcproj import assert_shapes_match_nnabla
from test_import_sdcproj_fixtures import settings

INPUT = ("Input", "x", {"Size": "1,8,8", "Dataset": "x"}, [])

# An autoencoder whose reconstruction loss takes the image itself as its target: T (pin 1) linked from
# the Input layer; NNC still writes the T.Dataset it would use without the link.
AUTOENCODER = [
    INPUT,
    ("Affine", "encode", {"OutShape": "16"}, ["x"]),
    ("Tanh", "code", {}, ["encode"]),
    ("Affine", "decode", {"OutShape": "1,8,8"}, ["code"]),
    ("Sigmoid", "image", {}, ["decode"]),
    ("SquaredError", "reconstruction", {"T.Dataset": "y"}, ["image", ("x", 1)]),
]


def l1_penalty(weight="0.01"):
    """A classifier whose Affine takes W (pin 1) from a Parameter, which also feeds the penalty
    weight * Mean(Abs(W)), a second loss (AbsoluteError against a Constant 0 linked into its T)."""
    return [
        INPUT,
        ("Parameter", "W", {"Size": "64,3", "Initializer": "NormalAffineGlorot"}, []),
        ("Affine", "classify", {"OutShape": "3", "W.File": "", "W.Initializer": "NormalAffineGlorot"},
         ["x", ("W", 1)]),
        ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["classify"]),
        ("Abs", "magnitude", {}, ["W"]),
        ("Mean", "mean", {"Axes": "0,1", "KeepDims": "True"}, ["magnitude"]),
        ("MulScalar", "penalty", {"Value": weight}, ["mean"]),
        ("Constant", "zero", {"Value": "0"}, []),
        ("Reshape", "zero2", {"OutShape": "1,1"}, ["zero"]),
        ("AbsoluteError", "l1", {}, [("zero2", 1), "penalty"]),
    ]


# 2x - (x + 1) and 2x / (x + 1), each link into R (pin 1) written before the one into the main input.
SWAPPED = [
    INPUT,
    ("MulScalar", "double", {"Value": "2"}, ["x"]),
    ("AddScalar", "plus_one", {"Value": "1"}, ["x"]),
    ("Sub2", "difference", {}, [("plus_one", 1), "double"]),
    ("Div2", "ratio", {}, [("plus_one", 1), "double"]),
    ("Add2", "both", {}, ["difference", "ratio"]),
    ("Affine", "classify", {"OutShape": "3"}, ["both"]),
    ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["classify"]),
]


def imported(tmp_path, layers, stem="fixture"):
    """(YAML document, project, .sdcproj path, .sdcproj text) of the import of `layers`."""
    text = sdcproj({"Main": layers}, settings(), single=True)
    source = tmp_path / f"{stem}.sdcproj"
    source.write_text(text, encoding="utf-8")
    yaml_text = import_sdcproj(str(source))
    path = tmp_path / f"{stem}.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    doc = yaml.safe_load(yaml_text)
    return {layer.get("name", layer["type"]): layer for layer in doc["network"]}, load_project(str(path)), \
        source, text


def compiled_validation(project, batch_size=4):
    import nnabla as nn

    from nncgraph.engines.nnabla.graph import compile_graph

    nn.clear_parameters()
    return compile_graph(infer(derive(network_graph(project, "Main"), "validation"), "validation"), batch_size)


# -- a loss's target from a layer ---------------------------------------------------------------------
def test_a_reconstruction_target_is_the_second_input_and_reads_no_dataset_column(tmp_path):
    layers, project, _, _ = imported(tmp_path, AUTOENCODER)
    assert layers["reconstruction"]["input"] == ["image", "x"] and "target" not in layers["reconstruction"]
    assert_shapes_match_nnabla(project)
    variants = variant_graphs(project, "Main")
    assert variants["training"].target_shapes() == {}          # the CSV's `y` column is not read
    info = variants["training"].info["reconstruction"]
    assert info.in_shapes == ((1, 8, 8), (1, 8, 8))
    runtime = variants["runtime"].graph
    assert "reconstruction" not in runtime.by_name and "image" in runtime.by_name
    from nncgraph.evaluate.model import _outputs

    assert [(o.column, o.node, o.target) for o in _outputs(variants["validation"], variants["runtime"])] == \
        [("x'", "image", None)]
    # `nncgraph render` writes the second input and no `target`, and the file loads again
    again = parse_project(render_yaml(project), str(tmp_path / "rendered.yaml"))
    assert network_graph(again, "Main").by_name["reconstruction"].inputs == ("image", "x")
    assert "target" not in network_graph(again, "Main").by_name["reconstruction"].props


def test_the_loss_compares_with_the_linked_layers_values(tmp_path):
    _, project, _, _ = imported(tmp_path, AUTOENCODER)
    compiled = compiled_validation(project)
    x = np.random.RandomState(0).rand(4, 1, 8, 8).astype(np.float32)
    compiled.inputs["x"].d = x
    assert list(compiled.inputs) == ["x"]
    compiled.loss.forward()
    image = compiled.outputs["image"].d
    assert np.allclose(compiled.loss.d, ((image - x) ** 2).mean(), rtol=1e-5)


@pytest.mark.parametrize("network, fragments", [
    ("  - {type: Affine, name: dec, out_shape: [1, 4, 4]}\n  - {type: SquaredError, input: [dec, x], target: y}\n",
     ["reads its target from its second input", "`target`"]),
    ("  - {type: Affine, name: dec, out_shape: [16]}\n  - {type: SquaredError, input: [dec, x]}\n",
     ["target (pin T, the second input) has shape [1, 4, 4]", "must be [16]"]),
])
def test_a_target_from_a_layer_is_checked(tmp_path, network, fragments):
    text = "name: t\nnetwork:\n  - {type: Input, name: x, size: [1, 4, 4]}\n" + network
    with pytest.raises(UserError) as info:
        variant_graphs(parse_project(text, str(tmp_path / "t.yaml")), "Main")
    message = str(info.value)
    assert "\n" not in message and "layer 'SquaredError' (SquaredError)" in message
    for fragment in fragments:
        assert fragment in message, message


# -- Sub2 / Div2: the R pin, whatever the link order -----------------------------------------------
def test_swapped_pins_give_the_subtrahend_and_the_divisor(tmp_path):
    layers, project, _, _ = imported(tmp_path, SWAPPED)
    assert layers["difference"]["input"] == ["double", "plus_one"]
    assert layers["ratio"]["input"] == ["double", "plus_one"]
    assert_shapes_match_nnabla(project)
    compiled = compiled_validation(project)
    x = np.random.RandomState(1).rand(4, 1, 8, 8).astype(np.float32)
    compiled.inputs["x"].d = x
    outputs = [compiled.outputs["difference"], compiled.outputs["ratio"]]
    for out in outputs:
        out.persistent = True
    compiled.outputs["both"].forward()
    assert np.allclose(outputs[0].d, 2 * x - (x + 1), atol=1e-6)     # not (x + 1) - 2x
    assert np.allclose(outputs[1].d, 2 * x / (x + 1), rtol=1e-6)     # not (x + 1) / 2x


# -- parameter pins ------------------------------------------------------------------------------------
def test_a_parameter_linked_into_w_is_the_affines_weight(tmp_path):
    layers, project, _, _ = imported(tmp_path, l1_penalty())
    assert layers["classify"]["w_input"] == "W" and "w_initializer" not in layers["classify"]
    assert layers["l1"]["input"] == ["penalty", "zero2"]
    assert_shapes_match_nnabla(project)
    training = variant_graphs(project, "Main")["training"]
    # the Affine creates only its bias; W is the Parameter's, counted once
    assert [p.name for p in training.info["classify"].params] == ["classify/affine/b"]
    assert training.total_params == 64 * 3 + 3
    compiled = compiled_validation(project)
    import nnabla as nn

    params = nn.get_parameters(grad_only=False)
    assert sorted(params) == ["W/param", "classify/affine/b"]
    x = np.random.RandomState(2).rand(4, 1, 8, 8).astype(np.float32)
    compiled.inputs["x"].d = x
    compiled.outputs["classify"].forward()
    want = x.reshape(4, 64) @ params["W/param"].d + params["classify/affine/b"].d
    assert np.allclose(compiled.outputs["classify"].d, want, atol=1e-5)


def test_two_losses_are_minimized_together(tmp_path):
    """The classification loss plus the penalty: their sum, and the penalty is 0.01 mean |W|."""
    _, project, _, _ = imported(tmp_path, l1_penalty())
    compiled = compiled_validation(project)
    import nnabla as nn

    w = nn.get_parameters(grad_only=False)["W/param"].d
    compiled.inputs["x"].d = np.random.RandomState(3).rand(4, 1, 8, 8)
    compiled.inputs["y"].d = np.array([[0], [1], [2], [0]])
    losses = {info.node.name: var for info, var in compiled.losses}
    for var in losses.values():
        var.persistent = True
    compiled.loss.forward()
    assert np.allclose(losses["l1"].d, 0.01 * np.abs(w).mean(), rtol=1e-5)
    assert np.isclose(compiled.loss.d, losses["loss"].d.mean() + losses["l1"].d.mean(), rtol=1e-6)
    # the runtime variant keeps the classifier, and drops the penalty, which reads no sample
    runtime = variant_graphs(project, "Main")["runtime"].graph
    assert {"W", "classify"} <= set(runtime.by_name) and not {"magnitude", "penalty", "zero"} & set(runtime.by_name)


def test_a_frozen_parameter_linked_into_w_stays_as_it_was_while_the_rest_trains(tmp_path):
    from nncgraph.engines import make_engine

    project = parse_project("""
name: frozen
network:
  - {type: Input, name: x, size: [4]}
  - {type: Parameter, name: P, size: [4, 2], param_lrate_multiplier: 0}
  - {type: Affine, name: fc, input: x, out_shape: 2, w_input: P}
  - {type: SquaredError, target: y}
training: {optimizer: {type: Sgd, learning_rate: 0.5}}
""", str(tmp_path / "frozen.yaml"))
    engine = make_engine(project.context, seed=0)
    executor = engine.compile(variant_graphs(project, "Main")["training"], 2)
    before = executor.parameters()
    rng = np.random.RandomState(6)
    engine.optimizer(executor, project.training.optimizer).step(
        {"x": rng.rand(2, 4).astype(np.float32), "y": rng.rand(2, 2).astype(np.float32)}, 0.5)
    after = executor.parameters()
    assert sorted(after) == ["P/param", "fc/affine/b"]
    assert np.array_equal(after["P/param"], before["P/param"])
    assert not executor.variables["P/param"].need_grad        # frozen: no gradient is even computed for it
    assert not np.allclose(after["fc/affine/b"], before["fc/affine/b"])


STATISTICS = """
name: pins
network:
  - {type: Input, name: x, size: [3, 4, 4]}
  - {type: Parameter, name: beta, size: [1, 3, 1, 1], param_initializer: Constant, param_initializer_multiplier: 0.5}
  - {type: Parameter, name: gamma, size: [1, 3, 1, 1], param_initializer: Constant, param_initializer_multiplier: 2}
  - {type: Parameter, name: mean, size: [1, 3, 1, 1], param_initializer: Constant, param_initializer_multiplier: 0.25}
  - {type: Parameter, name: var, size: [1, 3, 1, 1], param_initializer: Constant, param_initializer_multiplier: 4}
  - {type: Parameter, name: kernel, size: [2, 3, 3, 3]}
  - {type: Parameter, name: shift, size: [2], param_initializer: Constant, param_initializer_multiplier: 1}
  - {type: BatchNormalization, name: bn, input: x, beta_input: beta, gamma_input: gamma, mean_input: mean,
     var_input: var}
  - {type: Convolution, name: conv, out_maps: 2, kernel_shape: [3, 3], w_input: kernel, b_input: shift}
  - {type: SquaredError, target: y}
"""


def test_batch_normalization_and_convolution_take_their_parameters_from_pins(tmp_path):
    project = parse_project(STATISTICS, str(tmp_path / "pins.yaml"))
    assert_shapes_match_nnabla(project)
    compiled = compiled_validation(project, batch_size=2)
    import nnabla as nn
    import nnabla.functions as F

    params = nn.get_parameters(grad_only=False)
    assert sorted(params) == sorted(f"{n}/param" for n in ("beta", "gamma", "mean", "var", "kernel", "shift"))
    x = np.random.RandomState(4).rand(2, 3, 4, 4).astype(np.float32)
    compiled.inputs["x"].d = x
    compiled.outputs["conv"].forward()
    normalized = 0.5 + 2 * (x - 0.25) / np.sqrt(4 + 1e-4)                # running statistics (validation)
    want = F.convolution(nn.Variable.from_numpy_array(normalized), params["kernel/param"], params["shift/param"],
                         pad=(1, 1))
    want.forward()
    assert np.allclose(compiled.outputs["conv"].d, want.d, atol=1e-5)
    # the pins survive `nncgraph render`, which writes every property
    again = parse_project(render_yaml(project), str(tmp_path / "rendered.yaml"))
    assert network_graph(again, "Main").by_name["conv"].pins == {"W": "kernel", "b": "shift"}


def test_imported_links_into_batch_normalization_and_convolution_pins(tmp_path):
    """BatchNormalization's pins 1-4 are beta, gamma, mean, var; Convolution's 1 and 2 are W and b (links in
    any order); the pins' own settings (mean.File, gamma.InitializerMultiplier) are the alternatives the links
    replace."""
    stat = {"Size": "1,1,1,1", "Initializer": "Constant", "InitializerMultiplier": "1"}
    layers = [INPUT] + [("Parameter", name, dict(stat), []) for name in ("b0", "g0", "m0", "v0")] + [
        ("Parameter", "k", {"Size": "2,1,3,3"}, []),
        ("BatchNormalization", "bn", {"mean.File": "", "gamma.InitializerMultiplier": "3"},
         [("v0", 4), "x", ("g0", 2), ("m0", 3), ("b0", 1)]),
        ("Convolution", "conv", {"OutMaps": "2", "KernelShape": "3,3", "WithBias": "False",
                                 "W.Initializer": "Uniform"}, ["bn", ("k", 1)]),
        ("Affine", "classify", {"OutShape": "3"}, ["conv"]),
        ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["classify"]),
    ]
    entries, project, _, _ = imported(tmp_path, layers)
    assert {k: v for k, v in entries["bn"].items() if k.endswith("_input")} == \
        {"beta_input": "b0", "gamma_input": "g0", "mean_input": "m0", "var_input": "v0"}
    assert entries["bn"]["input"] == "x" and entries["conv"]["w_input"] == "k"
    assert "w_initializer" not in entries["conv"]
    assert_shapes_match_nnabla(project)
    training = variant_graphs(project, "Main")["training"]
    assert training.info["bn"].params == () and training.info["conv"].params == ()


def test_a_pin_in_a_unit_names_the_units_own_layer(tmp_path):
    text = """
name: unit-pins
units:
  Dense:
    layers:
      - {type: Parameter, name: weight, size: [16, 4]}
      - {type: Affine, name: fc, input: x, out_shape: 4, w_input: weight}
network:
  - {type: Input, size: [16]}
  - {type: Unit, unit: Dense, name: first}
  - {type: Unit, unit: Dense, name: second, input: Input}
  - {type: Add2, input: [first, second]}
  - {type: SquaredError, target: y}
"""
    graph = network_graph(parse_project(text, str(tmp_path / "u.yaml")), "Main")
    assert graph.by_name["first/fc"].pins == {"W": "first/weight"}
    assert graph.by_name["second/fc"].pins == {"W": "second/weight"}
    assert infer(graph, "training").total_params == 2 * (16 * 4 + 4)


# -- errors ----------------------------------------------------------------------------------------
YAML_HEAD = ("name: t\nnetwork:\n  - {type: Input, name: x, size: [8]}\n"
             "  - {type: Parameter, name: P, size: [8, 3]}\n  - {type: ReLU, name: r, input: x}\n")


@pytest.mark.parametrize("affine, fragments", [
    ("out_shape: 3, wb_input: P", ["unknown property 'wb_input'", "Did you mean 'w_input'"]),
    ("out_shape: 3, w_input: PP", ["`w_input` 'PP' names no layer", "Did you mean 'P'"]),
    ("out_shape: 3, with_bias: false, b_input: P", ["links layer 'P' into pin b", "has no b"]),
    ("out_shape: 4, w_input: P", ["pin W (`w_input`) gets layer 'P' of shape [8, 3], but W has shape [8, 4]",
                                  "size: [8, 4]"]),
    ("out_shape: 3, w_input: r", ["(ReLU) into parameter pin W", "takes a Parameter or Constant"]),
    ("out_shape: 3, w_input: P, w_initializer: Uniform", ["sets both `w_input` and `w_initializer`",
                                                           "param_initializer"]),
])
def test_a_wrong_parameter_pin_is_one_line_naming_the_layer_and_the_pin(tmp_path, affine, fragments):
    text = YAML_HEAD + f"  - {{type: Affine, name: fc, input: x, {affine}}}\n  - {{type: SquaredError, target: y}}\n"
    with pytest.raises(UserError) as info:
        variant_graphs(parse_project(text, str(tmp_path / "t.yaml")), "Main")
    message = str(info.value)
    assert "\n" not in message and "layer 'fc' (Affine)" in message and "Fix:" in message, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("layers, link, fragments", [
    # Affine has pins 0 Input, 1 W, 2 b: 3 is past them
    ([INPUT, ("Parameter", "P", {"Size": "64,3"}, []), ("Affine", "fc", {"OutShape": "3"}, ["x", ("P", 3)])],
     "DestPinIndex=3", ["layer 'fc' (Affine)", "pin 3", "pins 0 Input, 1 W, 2 b only"]),
    ([INPUT, ("ReLU", "r", {}, ["x", ("x", 1)])], "DestPinIndex=1", ["layer 'r' (ReLU)", "pins 0 Input only"]),
    ([INPUT, ("Sub2", "s", {}, [("x", 1)])], "DestPinIndex=1", ["pin 1 (R) but none at pin 0 (Input)"]),
    ([INPUT, ("Sub2", "s", {}, ["x", ("x", 1), ("x", 1)])], None, ["two links end at its pin 1 (R)"]),
    ([INPUT, ("RepeatStart", "r", {"Times": "2"}, ["x", ("x", 1)]), ("ReLU", "a", {}, ["r"]),
      ("RepeatEnd", "e", {}, ["a"])], "DestPinIndex=1", ["layer 'r' (RepeatStart)", "pins 0 Input only"]),
])
def test_a_link_into_a_pin_the_layer_lacks_is_an_error_at_its_line(tmp_path, layers, link, fragments):
    text = sdcproj({"Main": layers}, settings(), single=True)
    source = tmp_path / "bad.sdcproj"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as info:
        import_sdcproj(str(source))
    message = str(info.value)
    assert "\n" not in message and "Fix:" in message, message
    if link is not None:
        assert message.startswith(f"{source}:{line_number(text, link)}:"), message
    for fragment in fragments:
        assert fragment in message, message


def test_a_parameter_of_the_wrong_shape_fails_the_check_of_the_import(tmp_path):
    layers = l1_penalty()
    layers[1] = ("Parameter", "W", {"Size": "63,3"}, [])
    _, project, _, _ = imported(tmp_path, layers)
    with pytest.raises(UserError) as info:
        variant_graphs(project, "Main")
    assert re.search(r"fixture\.yaml:\d+:\d+: layer 'classify' \(Affine\): pin W \(`w_input`\) gets layer 'W' of "
                     r"shape \[63, 3\], but W has shape \[64, 3\]", str(info.value)), str(info.value)


# -- exported and trained --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("layers", [AUTOENCODER, l1_penalty()], ids=["reconstruction", "l1"])
def test_the_exported_nnp_loads_in_nnabla_and_its_runtime_network_predicts_as_ours(tmp_path, layers):
    import nnabla as nn
    from nnabla.utils.nnp_graph import NnpLoader

    from nncgraph.interop.nnp_export import export_project

    _, project, _, _ = imported(tmp_path, layers)
    summary = export_project(project, str(tmp_path / "model.nnp"), "nnp", base_dir=str(tmp_path),
                             runtime_batch_size=4)
    ours = nn.get_parameters(grad_only=False)
    runtime = variant_graphs(project, "Main")["runtime"]
    from nncgraph.engines.nnabla.graph import compile_graph

    x = np.random.RandomState(5).rand(4, 1, 8, 8).astype(np.float32)
    compiled = compile_graph(runtime, 4)         # on the exported parameters, still in the registry
    compiled.inputs["x"].d = x
    want = {}
    for column in summary.outputs:
        node = {"x'": "image", "y'": "Softmax"}[column]
        compiled.outputs[node].forward()
        want[column] = compiled.outputs[node].d.copy()
    assert sorted(ours) == sorted(nn.get_parameters(grad_only=False))
    nn.clear_parameters()
    loader = NnpLoader(str(tmp_path / "model.nnp"))
    net = loader.get_network("MainRuntime", batch_size=4)
    assert list(net.inputs) == ["x"] and sorted(net.outputs) == sorted(want)
    net.inputs["x"].d = x
    for column, var in net.outputs.items():
        var.forward()
        assert np.allclose(var.d, want[column], atol=1e-6), column
    # the training network, at the batch size it was written with (a Parameter's broadcast fixes it)
    assert loader.get_network("Main", batch_size=8).outputs["loss"].shape == ()


@pytest.mark.e2e     # the learning curve's plot starts matplotlib's font lookup
def test_an_autoencoder_with_the_image_as_its_target_learns(tmp_path):
    from nnc_fixture_run import train_fixture

    rows = train_fixture(tmp_path, sdcproj({"Main": AUTOENCODER}, settings(), single=True), epochs=4)
    costs = [row["cost"] for row in rows]
    assert costs == sorted(costs, reverse=True) and costs[-1] < 0.8 * costs[0], costs
    assert rows[-1]["valid_error"] < rows[0]["valid_error"]       # a regression's error is its loss


def _mean_magnitude(run_dir):
    import nnabla as nn

    nn.clear_parameters()
    nn.load_parameters(str(run_dir / "checkpoints" / "last.h5"))
    return float(np.abs(nn.get_parameters(grad_only=False)["W/param"].d).mean())


@pytest.mark.e2e
def test_the_l1_penalty_learns_and_shrinks_the_weights_it_reads(tmp_path):
    from nnc_fixture_run import train_fixture

    magnitudes = {}
    for weight in ("0", "20"):
        folder = tmp_path / f"w{weight}"
        folder.mkdir()
        rows = train_fixture(folder, sdcproj({"Main": l1_penalty(weight)}, settings(), single=True), epochs=4)
        costs = [row["cost"] for row in rows]
        assert costs[-1] < costs[0], costs
        magnitudes[weight] = _mean_magnitude(folder / "run")
    assert magnitudes["20"] < 0.5 * magnitudes["0"], magnitudes       # 0.02 against 0.08


@pytest.mark.e2e
def test_swapped_pins_train_one_step(tmp_path):
    from nnc_fixture_run import train_fixture

    rows = train_fixture(tmp_path, sdcproj({"Main": SWAPPED}, settings(), single=True))
    assert rows[0]["cost"] > 0
