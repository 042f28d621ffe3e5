"""Units (NNC's Unit + Argument), parameter sharing by scope, and repetition."""
from __future__ import annotations


import pytest

from conftest import run_cli, write
from nncgraph.graph.variants import variant_graph
from nncgraph.graph.render import render_yaml
from nncgraph.project.load import load_project, parse_project

UNITS = """
name: units
datasets: {training: {csv: d.csv}}
units:
  Block:
    args: {maps: 8, stride: 1}
    layers:
      - {type: Convolution, out_maps: $maps, kernel_shape: [3, 3], strides: [$stride, $stride], with_bias: false}
      - {type: BatchNormalization}
      - {type: ReLU}
      - {type: Convolution, name: wide, out_maps: $maps * 2, kernel_shape: [1, 1]}
"""


def project(tmp_path, network, units=UNITS):
    return load_project(write(tmp_path / "p.yaml", units + network))


def trained_graph(p, variant="training"):
    return variant_graph(p, "Main", variant)


def test_unit_arguments_and_names(tmp_path):
    p = project(tmp_path, """
network:
  - {type: Input, name: x, size: [3, 16, 16]}
  - {type: Unit, unit: Block, name: down, maps: 4, stride: 2}
""")
    g = trained_graph(p)
    shapes = {i.node.name: i.out_shape for i in g.ordered()}
    assert shapes == {"x": (3, 16, 16), "down/Convolution": (4, 8, 8), "down/BatchNormalization": (4, 8, 8),
                      "down/ReLU": (4, 8, 8), "down/wide": (8, 8, 8)}
    assert g.info["down/Convolution"].node.props["parameter_scope"] == "down/Convolution"


def test_same_scope_shares_parameters_different_scope_does_not(tmp_path):
    import nnabla as nn

    from nncgraph.engines.nnabla.graph import compile_graph

    p = project(tmp_path, """
network:
  - {type: Input, name: x, size: [3, 8, 8]}
  - {type: Unit, unit: Block, name: a, maps: 4, parameter_scope: shared}
  - {type: Unit, unit: Block, name: b, maps: 4, input: x, parameter_scope: shared}
  - {type: Unit, unit: Block, name: c, maps: 4, input: x}
  - {type: Add2, name: ab, input: [a, b]}
  - {type: Add2, input: [ab, c]}
""")
    g = trained_graph(p)
    one_block = 3 * 4 * 9 + 2 * 4 + (4 * 8 + 8)         # conv (no bias) + BN beta/gamma + 1x1 conv with bias
    assert g.total_params == 2 * one_block                # a and b count once together, c once
    nn.clear_parameters()
    compiled = compile_graph(g, 2)
    names = sorted(nn.get_parameters(grad_only=False))
    assert "shared/Convolution/conv/W" in names and "c/Convolution/conv/W" in names
    assert not any(n.startswith(("a/", "b/")) for n in names)
    # the shared instances compute the same function of the same input
    compiled.inputs["x"].d = 1.0
    for name in ("a/wide", "b/wide", "c/wide"):
        compiled.outputs[name].forward()
    a, b, c = (compiled.outputs[n].d.copy() for n in ("a/wide", "b/wide", "c/wide"))
    assert (a == b).all() and not (a == c).all()


def test_repeat_chains_instances_with_their_own_parameters(tmp_path):
    p = project(tmp_path, """
network:
  - {type: Input, name: x, size: [8, 8, 8]}
  - {type: Unit, unit: Block, name: stage, maps: 4, repeat: 3}
  - {type: Affine, input: stage, out_shape: 2}
""")
    g = trained_graph(p)
    names = [i.node.name for i in g.ordered()]
    assert [n for n in names if n.endswith("/wide")] == ["stage_1/wide", "stage_2/wide", "stage_3/wide"]
    assert g.info["stage_2/Convolution"].node.inputs == ("stage_1/wide",)
    assert g.info["Affine"].node.inputs == ("stage_3/wide",)
    scopes = {g.info[f"stage_{i}/Convolution"].node.props["parameter_scope"] for i in (1, 2, 3)}
    assert len(scopes) == 3


def test_nnc_repeat_start_and_end_with_a_skip_from_repeat_start(tmp_path):
    p = project(tmp_path, """
network:
  - {type: Input, name: x, size: [4, 6, 6]}
  - {type: RepeatStart, name: R, times: 3}
  - {type: Convolution, name: conv, out_maps: 4, kernel_shape: [3, 3]}
  - {type: Add2, name: sum, input: [conv, R]}
  - {type: RepeatEnd, name: E}
  - {type: ReLU, input: E}
""", units="name: r\ndatasets: {}\n")
    g = trained_graph(p)
    assert g.info["R_1/sum"].node.inputs == ("R_1/conv", "x")
    assert g.info["R_2/conv"].node.inputs == ("R_1/sum",)
    assert g.info["R_3/sum"].node.inputs == ("R_3/conv", "R_2/sum")
    assert g.info["ReLU"].node.inputs == ("R_3/sum",)
    assert g.total_params == 3 * (4 * 4 * 9 + 4)


def test_render_expands_units_and_loads_again(tmp_path):
    p = project(tmp_path, """
network:
  - {type: Input, name: x, size: [3, 8, 8]}
  - {type: Unit, unit: Block, name: a, parameter_scope: s}
  - {type: Unit, unit: Block, name: b, input: x, parameter_scope: s}
""")
    text = render_yaml(p)
    assert "\nunits:" not in text and "$" not in text
    again = parse_project(text, str(tmp_path / "p.yaml"))
    assert trained_graph(again).total_params == trained_graph(p).total_params
    assert render_yaml(again) == text


def test_unit_bodies_are_typed_at_load(tmp_path):
    from nncgraph.project.model import ArgumentValue, LayerSpec

    p = project(tmp_path, "network:\n  - {type: Input, size: [3, 8, 8]}\n")
    conv, bn, relu, wide = p.units["Block"].layers
    assert all(isinstance(s, LayerSpec) for s in (conv, bn, relu, wide))
    assert [s.name for s in (conv, bn, relu, wide)] == ["Convolution", "BatchNormalization", "ReLU", "wide"]
    assert conv.props["kernel_shape"] == [3, 3] and conv.props["with_bias"] is False     # checked already
    assert conv.props["out_maps"] == ArgumentValue("$maps", conv.prop_locations["out_maps"])
    assert [type(v) for v in conv.props["strides"]] == [ArgumentValue, ArgumentValue]
    assert wide.props["out_maps"].written == "$maps * 2"
    assert (conv.prop_locations["out_maps"].line, wide.location.line) == (7, 10)


def test_a_unit_body_is_checked_at_load_even_if_no_layer_uses_it(tmp_path):
    from nncgraph.errors import UserError

    text = UNITS.replace("{type: ReLU}", "{type: ReLU, slope: 2}") + "network:\n  - {type: Input, size: [3]}\n"
    with pytest.raises(UserError) as caught:
        parse_project(text, str(tmp_path / "p.yaml"))
    assert "p.yaml:10:" in str(caught.value) and "unknown property 'slope'" in str(caught.value)


@pytest.mark.e2e
@pytest.mark.parametrize("network, fragments", [
    ("- {type: Unit, unit: Blok}", ["unit 'Blok' is not defined", "'Block'"]),
    ("- {type: Unit, unit: Block, mapz: 3}", ["has no argument 'mapz'", "'maps'"]),
    ("- {type: Unit, unit: Block, repeat: 0}", ["repeat", "1 or more"]),
    ("- {type: RepeatStart, times: 2}\n  - {type: ReLU}", ["RepeatStart has no RepeatEnd"]),
])
def test_unit_errors(tmp_path, network, fragments):
    path = write(tmp_path / "p.yaml", UNITS + "network:\n  - {type: Input, name: x, size: [3, 8, 8]}\n  "
                 + network + "\n")
    status, out, err = run_cli("check", path)
    assert status == 2 and "Traceback" not in err and "Fix:" in err, err
    assert "p.yaml:" in err
    for f in fragments:
        assert f in err, err


@pytest.mark.e2e
def test_undefined_argument_in_a_unit_body_names_its_line(tmp_path):
    path = write(tmp_path / "p.yaml", """
name: bad
datasets: {}
units:
  Odd:
    args: {maps: 4}
    layers:
      - {type: Convolution, out_maps: $width}
network:
  - {type: Input, size: [3, 8, 8]}
  - {type: Unit, unit: Odd}
""")
    status, _, err = run_cli("check", path)
    assert status == 2 and "p.yaml:7:" in err and "'$width' is not an argument of unit 'Odd'" in err, err


@pytest.mark.e2e
def test_a_dollar_name_in_a_unit_body_is_refused_at_its_line(tmp_path):
    path = write(tmp_path / "p.yaml", """
name: bad
datasets: {}
units:
  Odd:
    args: {n: a}
    layers:
      - {type: ReLU, name: $n}
network:
  - {type: Input, size: [3]}
""")
    status, _, err = run_cli("check", path)
    assert status == 2 and "p.yaml:7:" in err and "stands for a property's value, not a name" in err, err


@pytest.mark.e2e
def test_a_unit_cannot_contain_itself(tmp_path):
    path = write(tmp_path / "p.yaml", """
name: bad
datasets: {}
units:
  Loop:
    layers:
      - {type: Unit, unit: Loop}
network:
  - {type: Input, size: [3]}
  - {type: Unit, unit: Loop}
""")
    status, _, err = run_cli("check", path)
    assert status == 2 and "contains itself" in err and "Loop -> Loop" in err, err


SE = """
name: se
datasets: {training: {csv: d.csv}}
units:
  SE:
    args: {ratio: 4}
    layers:
      - {type: GlobalAveragePooling}
      - {type: Convolution, name: squeeze, out_maps: "$input_shape[0] // $ratio", kernel_shape: [1, 1]}
      - {type: ReLU}
      - type: Convolution
        name: expand
        out_maps: $input_shape[0] * $ratio      # block style needs no quotes
        kernel_shape: [1, 1]
      - {type: Sigmoid}
      - {type: Mul2, input: [x, Sigmoid]}
"""


def test_input_shape_sizes_each_instance_from_its_own_input(tmp_path):
    p = project(tmp_path, """
network:
  - {type: Input, name: image, size: [3, 8, 8]}
  - {type: Convolution, name: narrow, out_maps: 16, kernel_shape: [1, 1]}
  - {type: Unit, unit: SE, name: se16}
  - {type: Convolution, name: wide, out_maps: 64, kernel_shape: [1, 1]}
  - {type: Unit, unit: SE, name: se64, ratio: 8}
""", units=SE)
    g = trained_graph(p)
    maps = {i.node.name: i.node.props["out_maps"] for i in g.ordered() if i.node.type == "Convolution"}
    # each reads its own layer's input: squeeze the instance's channels, expand the squeezed ones back
    assert (maps["se16/squeeze"], maps["se16/expand"]) == (4, 16)
    assert (maps["se64/squeeze"], maps["se64/expand"]) == (8, 64)
    assert g.info["se64/Mul2"].out_shape == (64, 8, 8)
    assert g.total_params == (3 * 16 + 16) + (16 * 4 + 4) + (4 * 16 + 16) + (16 * 64 + 64) + (64 * 8 + 8) + \
        (8 * 64 + 64)
    text = render_yaml(p)                               # expanded: plain numbers, loads again
    assert "$" not in text and trained_graph(parse_project(text, str(tmp_path / "p.yaml"))).total_params == \
        g.total_params


def test_input_shape_in_lists_and_in_arguments_of_an_inner_unit(tmp_path):
    p = project(tmp_path, """
units:
  Pad:
    args: {maps: 1}
    layers:
      - {type: Convolution, out_maps: $maps, kernel_shape: [1, 1]}
  Outer:
    layers:
      - {type: Unit, unit: Pad, maps: "$input_shape[1] + 1"}
      - {type: Reshape, out_shape: ["$input_shape[1]", "$input_shape[0]", "$input_shape[2]"]}
network:
  - {type: Input, name: x, size: [2, 5, 3]}
  - {type: Unit, unit: Outer}
""", units="name: nested\ndatasets: {}\n")
    shapes = {i.node.name: i.out_shape for i in trained_graph(p).ordered()}
    assert shapes["Outer/Pad/Convolution"] == (6, 5, 3) and shapes["Outer/Reshape"] == (5, 6, 3)


@pytest.mark.e2e
@pytest.mark.parametrize("layer, fragments", [
    ('{type: Affine, out_shape: "$input_shape[3]"}',
     ["layer 'u/Affine' (Affine)", "'$input_shape[3]' reads axis 3", "[4, 6, 6]", "from 0 to 2"]),
    ('{type: Affine, out_shape: "$input_shape[0] / 3"}', ["out_shape' is 1.3333", "[4, 6, 6]"]),
    ('{type: Affine, out_shape: "$input_shape"}', ["cannot evaluate '$input_shape'", "$input_shape[i]"]),
    ('{type: Affine, out_shape: "$input_shape[-1]"}', ["must be a whole number, 0 or more"]),
    ('{type: Constant, size: ["$input_shape[0]"]}', ["reads the shape of the layer's input, but a Constant takes "
                                                    "no input"]),
    ('{type: RepeatStart, times: "$input_shape[0]"}\n      - {type: RepeatEnd}', ["a RepeatStart cannot read"]),
    ('{type: Affine, out_shape: "$input_shap[0]"}', ["'$input_shap' is not an argument", "'input_shape'"]),
])
def test_input_shape_errors(tmp_path, layer, fragments):
    path = write(tmp_path / "p.yaml", f"""
name: bad
datasets: {{}}
units:
  U:
    layers:
      - {layer}
network:
  - {{type: Input, size: [4, 6, 6]}}
  - {{type: Unit, unit: U, name: u}}
""")
    status, _, err = run_cli("check", path)
    assert status == 2 and "Traceback" not in err and "Fix:" in err, err
    assert "p.yaml:6:" in err, err                       # the unit's line that says it
    for f in fragments:
        assert f in err, err


@pytest.mark.e2e
@pytest.mark.parametrize("text, fragments", [
    ("units:\n  U:\n    args: {input_shape: 2}\n    layers: [{type: ReLU}]\nnetwork:\n  - {type: Input, size: [3]}\n",
     ["p.yaml:5:", "argument called 'input_shape'"]),
    ("network:\n  - {type: Input, size: [3]}\n  - {type: Affine, out_shape: \"$maps * 2\"}\n",
     ["p.yaml:5:", "'$maps' is not known here: a network's layers have no arguments"]),
])
def test_input_shape_is_reserved_and_arguments_only_in_units(tmp_path, text, fragments):
    path = write(tmp_path / "p.yaml", "name: bad\ndatasets: {}\n" + text)
    status, _, err = run_cli("check", path)
    assert status == 2 and "Fix:" in err, err
    for f in fragments:
        assert f in err, err


@pytest.mark.e2e
def test_units_train_end_to_end(tmp_path):
    from conftest import tiny_project, write_digits

    train = write_digits(str(tmp_path / "d"), n=32)
    path = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=2, network="""
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Unit, unit: Block, name: a, maps: 4, parameter_scope: shared}
          - {type: Unit, unit: Block, name: b, maps: 4, input: x, parameter_scope: shared}
          - {type: Add2, input: [a, b]}
          - {type: Affine, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        """)
    text = open(path).read().replace("network:", "units:" + UNITS.split("units:")[1] + "network:", 1)
    open(path, "w").write(text)
    status, out, err = run_cli("run", path, "-o", tmp_path / "run")
    assert status == 0, err
    assert train and "validation accuracy" in out
