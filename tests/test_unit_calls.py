"""Unit calls in the project file (issue 13, items 4 and 5): arguments of any type passed on through nested
units, `$input_shape[i]` in a network's own layers, and `<layer>.<setting>` keys that set parameter
settings of the unit's layers (NNC's `Convolution.W.File` on a Unit layer)."""
from __future__ import annotations

import numpy as np
import pytest

import nncgraph
from conftest import write, write_digits
from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.graph.render import render_yaml
from nncgraph.graph.shape_pass import infer
from nncgraph.project.load import load_project, parse_project
from nncgraph.train.init_from import read_parameters

# NNC's ImageNet pattern: the training network passes bs: true, the validation one false, and the unit
# passes it on to the unit whose BatchNormalization reads it; an option and a list travel the same way.
NESTED = """
name: nested
datasets: {}
units:
  Conv:
    args: {bs: true, mode: same, k: [3, 3]}
    layers:
      - {type: Convolution, name: conv, out_maps: 4, kernel_shape: $k, border_mode: $mode}
      - {type: BatchNormalization, name: bn, batch_stat: $bs}
  Net:
    args: {net_bs: true}
    layers:
      - {type: Unit, unit: Conv, name: c1, bs: $net_bs, k: [1, 1]}
      - {type: Unit, unit: Conv, name: c2, bs: $net_bs, mode: valid}
networks:
  Main:
    - {type: Input, size: [3, 8, 8]}
    - {type: Unit, unit: Net, name: n, net_bs: true}
  MainValidation:
    - {type: Input, size: [3, 8, 8]}
    - {type: Unit, unit: Net, name: n, net_bs: false}
"""


def line_of(text, needle):
    """The 1-based line of `text` holding `needle`, and the column where it starts."""
    lines = text.lstrip("\n").splitlines()         # as conftest.write writes it
    (hit,) = [(n, line.index(needle) + 1) for n, line in enumerate(lines, start=1) if needle in line]
    return hit


def nodes(project, network="Main"):
    """The network's layers, units expanded, by name, with their properties resolved."""
    return {n.name: n for n in network_graph(project, network).nodes}


def shapes(project, network="Main"):
    return {i.node.name: i.out_shape for i in infer(network_graph(project, network), "training").ordered()}


def test_bool_option_and_list_arguments_pass_through_nested_units(tmp_path):
    project = load_project(write(tmp_path / "p.yaml", NESTED))
    train, valid = nodes(project, "Main"), nodes(project, "MainValidation")
    assert [train[f"n/{c}/bn"].props["batch_stat"] for c in ("c1", "c2")] == [True, True]
    assert [valid[f"n/{c}/bn"].props["batch_stat"] for c in ("c1", "c2")] == [False, False]
    assert (train["n/c1/conv"].props["kernel_shape"], train["n/c1/conv"].props["border_mode"]) == ([1, 1], "same")
    assert (train["n/c2/conv"].props["kernel_shape"], train["n/c2/conv"].props["border_mode"]) == ([3, 3], "valid")
    assert shapes(project)["n/c2/bn"] == (4, 6, 6)


def test_an_argument_of_the_wrong_type_for_the_property_names_the_units_line(tmp_path):
    text = NESTED.replace("net_bs: false}", "net_bs: maybe}")
    with pytest.raises(UserError) as caught:
        network_graph(load_project(write(tmp_path / "p.yaml", text)), "MainValidation")
    message = str(caught.value)
    line, column = line_of(text, "batch_stat: $bs")
    assert message.startswith(f"{tmp_path / 'p.yaml'}:{line}:{column}: layer 'bn' (BatchNormalization)"), message
    assert "property 'batch_stat' must be true or false, got 'maybe'" in message, message


# -- $input_shape in a network's own layers ------------------------------------------------------------
TOP_LEVEL_SHAPES = """
name: shapes
datasets: {}
units:
  Wide:
    args: {maps: 1}
    layers:
      - {type: Convolution, name: conv, out_maps: $maps, kernel_shape: [1, 1]}
network:
  - {type: Input, size: [3, 5, 4]}
  - {type: Convolution, name: double, out_maps: "$input_shape[0] * 2", kernel_shape: [1, 1]}
  - {type: Reshape, name: swap, out_shape: ["$input_shape[1]", "$input_shape[0]", "$input_shape[2]"]}
  - {type: Unit, unit: Wide, name: w, maps: "$input_shape[2] + 1"}
"""


def test_input_shape_works_in_a_networks_own_layers_and_unit_calls(tmp_path):
    project = load_project(write(tmp_path / "p.yaml", TOP_LEVEL_SHAPES))
    got = shapes(project)
    assert got["double"] == (6, 5, 4) and got["swap"] == (5, 6, 4) and got["w/conv"] == (5, 6, 4)
    text = render_yaml(project)                     # expanded: plain numbers, loads again to the same network
    assert "$" not in text
    assert shapes(parse_project(text, str(tmp_path / "p.yaml"))) == got


@pytest.mark.parametrize("value, fragments", [
    ('"$maps * 2"', ["'$maps' is not known here: a network's layers have no arguments", "under `units:`"]),
    ('"$input_shape[5]"', ["reads axis 5 of the layer's input shape [3, 5, 4]"]),
    ('"$input_shap[0]"', ["'$input_shap' is not known here", "Did you mean 'input_shape'?"]),
])
def test_a_bad_dollar_value_in_a_network_is_an_error_at_its_line(tmp_path, value, fragments):
    text = TOP_LEVEL_SHAPES.replace('"$input_shape[0] * 2"', value)
    with pytest.raises(UserError) as caught:
        network_graph(load_project(write(tmp_path / "p.yaml", text)), "Main")
    message = str(caught.value)
    line, column = line_of(text, f"out_maps: {value}")
    assert message.startswith(f"{tmp_path / 'p.yaml'}:{line}:{column}: layer 'double' (Convolution): "), message
    assert "Fix:" in message
    for fragment in fragments:
        assert fragment in message, message


# -- parameter settings from the unit call ----------------------------------------------------------------
SETTINGS = """
name: settings
datasets: {training: {csv: train/data.csv}, validation: {csv: valid/data.csv}}
units:
  Head:
    args: {lr: 1}
    layers:
      - {type: Convolution, name: conv, out_maps: 2, kernel_shape: [3, 3], w_file: conv_a.npy}
      - {type: ReLU}
      - {type: Affine, name: fc, out_shape: 3, w_lrate_multiplier: $lr}
  Twice:
    args: {inner_lr: 0.5}
    layers:
      - {type: Unit, unit: Head, name: h, fc.b_lrate_multiplier: $inner_lr}
  Same:
    layers:
      - {type: Convolution, name: conv, out_maps: 1, kernel_shape: [3, 3], border_mode: same, w_file: conv_c.npy}
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Unit, unit: Head, name: frozen, conv.w_file: null, fc.w_file: fc_w.npy, fc.w_lrate_multiplier: 0,
     fc.b_lrate_multiplier: 0}
  - {type: Unit, unit: Head, name: other, input: x, conv.w_file: conv_b.npy, conv.w_initializer: Uniform}
  - {type: Unit, unit: Twice, name: deep, input: x, h/conv.w_lrate_multiplier: 0, repeat: 1}
  - {type: Unit, unit: Same, name: chain, input: x, conv.w_lrate_multiplier: 2, conv.w_file: "", repeat: 2}
  - {type: Affine, name: chain_fc, out_shape: 3}
  - {type: Add2, input: [frozen, other]}
  - {type: Add2, input: [Add2, deep]}
  - {type: Add2, input: [Add2_2, chain_fc]}
  - {type: SoftmaxCrossEntropy, target: y}
training: {max_epoch: 1, batch_size: 8, optimizer: {type: Sgd, learning_rate: 0.5}}
"""


def write_files(folder):
    rng = np.random.RandomState(3)
    files = {"conv_a.npy": rng.randn(2, 1, 3, 3), "conv_b.npy": rng.randn(2, 1, 3, 3),
             "fc_w.npy": rng.randn(2 * 8 * 8, 3), "conv_c.npy": rng.randn(1, 1, 3, 3)}
    for name, values in files.items():
        np.save(folder / name, values.astype(np.float32))
    return {k: v.astype(np.float32) for k, v in files.items()}


def test_a_unit_call_sets_parameter_settings_of_the_units_layers(tmp_path):
    project = load_project(write(tmp_path / "p.yaml", SETTINGS))
    got = nodes(project)
    frozen = got["frozen/fc"].props
    assert (frozen["w_file"], frozen["w_lrate_multiplier"], frozen["b_lrate_multiplier"]) == ("fc_w.npy", 0, 0)
    assert got["frozen/conv"].props["w_file"] == "conv_a.npy"          # null: the unit's own value
    assert (got["other/conv"].props["w_file"], got["other/conv"].props["w_initializer"]) == ("conv_b.npy", "Uniform")
    assert got["other/fc"].props["w_lrate_multiplier"] == 1               # the argument's default, untouched
    # a layer of a unit inside the unit: the call's path; the inner call's own setting stays
    assert got["deep/h/conv"].props["w_lrate_multiplier"] == 0 and got["deep/h/fc"].props["b_lrate_multiplier"] == 0.5
    # every repetition gets the settings ("" is a value: no file, initialize)
    assert [got[f"chain_{i}/conv"].props["w_lrate_multiplier"] for i in (1, 2)] == [2, 2]
    assert [got[f"chain_{i}/conv"].props["w_file"] for i in (1, 2)] == ["", ""]
    assert got["frozen/conv"].location.line == 7                          # still the unit's layer
    text = render_yaml(project)                                          # expanded, the settings are plain values
    assert "fc.w_lrate_multiplier" not in text and "h/conv.w_lrate_multiplier" not in text
    again = nodes(parse_project(text, str(tmp_path / "p.yaml")))
    assert {n: v.props for n, v in again.items()} == {n: v.props for n, v in got.items()}


def test_frozen_parameters_keep_their_files_through_training_and_the_rest_learns(tmp_path):
    files = write_files(tmp_path)
    write_digits(str(tmp_path / "train"), n=24)
    write_digits(str(tmp_path / "valid"), n=12, seed=1)
    path = write(tmp_path / "p.yaml", SETTINGS)
    run = nncgraph.load(path).train(str(tmp_path / "run"), finish=False, log=lambda line: None)
    assert len(run.metrics) == 1 and np.isfinite(run.metrics[0]["cost"])
    trained = read_parameters(str(tmp_path / "run"))
    assert np.array_equal(trained["frozen/fc/affine/W"], files["fc_w.npy"])
    assert np.array_equal(trained["frozen/fc/affine/b"], np.zeros(3, np.float32))
    assert np.array_equal(trained["deep/h/conv/conv/W"], files["conv_a.npy"])      # frozen through two units
    assert not np.allclose(trained["frozen/conv/conv/W"], files["conv_a.npy"])     # learns from the unit's file
    assert not np.allclose(trained["other/conv/conv/W"], files["conv_b.npy"])      # learns from the call's file
    assert not np.allclose(trained["other/fc/affine/b"], 0)


def assert_setting_error_at_its_key(tmp_path, written, key, unit_layer, fragments):
    """SETTINGS with `written` replaced by `key` fails at `key`'s line and column, naming the calling layer."""
    text = SETTINGS.replace(written, key)
    assert text != SETTINGS
    with pytest.raises(UserError) as caught:
        network_graph(load_project(write(tmp_path / "p.yaml", text)), "Main")
    message = str(caught.value)
    line, column = line_of(text, key)
    assert message.startswith(f"{tmp_path / 'p.yaml'}:{line}:{column}: layer '{unit_layer}' (Unit): "), message
    assert "Fix:" in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("key, fragments", [
    ("fcc.w_file: a.npy", ["'fcc.w_file' names layer 'fcc', which unit 'Head' does not have", "Did you mean 'fc'?",
                           "(conv, ReLU, fc)"]),
    ("fc.w_fille: a.npy", ["'fc' is a Affine layer, which has no parameter setting 'w_fille'",
                           "Did you mean 'w_file'"]),
    ("fc.out_shape: 4", ["no parameter setting 'out_shape' (out_shape is not a parameter setting: make it an "
                         "argument of the unit)"]),
    ("ReLU.w_file: a.npy", ["'ReLU' is a ReLU layer, which has no parameters to set"]),
    ("fc/x.w_file: a.npy", ["'fc' is a Affine layer, not a unit instance with layers inside"]),
    ("fc.w_lrate_multiplier: fast", ["property 'fc.w_lrate_multiplier' must be a number, got 'fast'"]),
    ("fc.w_initializer: NormalConvolutionGlorot", ["property 'fc.w_initializer' must be one of"]),
])
def test_a_setting_the_unit_cannot_take_is_an_error_at_its_key(tmp_path, key, fragments):
    assert_setting_error_at_its_key(tmp_path, "conv.w_initializer: Uniform", key, "other", fragments)


@pytest.mark.parametrize("key, fragments", [
    ("h.w_file: a.npy", ["'h' is an instance of unit 'Head', not a layer with parameters", "h/<layer>.w_file"]),
    ("h/cnv.w_file: a.npy", ["'h/cnv.w_file' names layer 'cnv', which unit 'Head' does not have"]),
])
def test_a_nested_setting_is_checked_down_its_path(tmp_path, key, fragments):
    assert_setting_error_at_its_key(tmp_path, "h/conv.w_lrate_multiplier: 0", key, "deep", fragments)


def test_the_schema_takes_shape_expressions_in_a_networks_numbers_and_no_other_text():
    import jsonschema
    import yaml

    from nncgraph.project.schema import project_schema

    doc = yaml.safe_load(TOP_LEVEL_SHAPES)
    jsonschema.validate(doc, project_schema())          # "$input_shape[0] * 2", a list of them
    doc["network"][1]["out_maps"] = "twice"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, project_schema())
