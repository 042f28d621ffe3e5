"""Units (NNC's Unit + Argument), parameter sharing by scope, and repetition."""
from __future__ import annotations


import pytest

from conftest import run_cli, write
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import derive
from nncgraph.project.load import load_project, parse_project
from nncgraph.project.render import render_yaml

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
    return infer(derive(network_graph(p, "Main"), variant), variant)


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

    from nncgraph.compile.nnabla_graph import compile_graph

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
