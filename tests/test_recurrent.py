"""NNC's recurrent blocks (RecurrentInput, Delay, RecurrentOutput), unrolled with shared parameters."""
from __future__ import annotations

import os

import nnabla as nn
import numpy as np
import pytest

from conftest import run_cli, tiny_project, write, write_digits
from nncgraph.engines.nnabla.graph import compile_graph
from nncgraph.graph.variants import variant_graph
from nncgraph.project.load import load_project

ELMAN = """
network:
  - {type: Input, name: x, size: [1, 6, 5]}
  - {type: RecurrentInput, name: R, axis: 1}
  - {type: Delay, name: h, size: [1, 4], input: state}
  - {type: Concatenate, name: joined, input: [R, h], axis: 1}
  - {type: Affine, name: cell, out_shape: [1, 4]}
  - {type: Tanh, name: state}
  - {type: RecurrentOutput, name: out, axis: 1}
"""


def graph_of(tmp_path, network=ELMAN):
    project = load_project(write(tmp_path / "p.yaml", "name: rnn\ndatasets: {}\n" + network))
    return variant_graph(project, "Main", "training")


def test_steps_share_parameters_and_stack_back(tmp_path):
    g = graph_of(tmp_path)
    assert g.info["out"].out_shape == (1, 6, 4)
    assert g.total_params == 9 * 4 + 4                      # one cell for all six steps
    scopes = {g.info[f"R_{t}/cell"].node.props["parameter_scope"] for t in range(6)}
    assert scopes == {"cell"}
    assert g.info["R_0/joined"].node.inputs == ("R_0", "h_initial")
    assert g.info["R_3/joined"].node.inputs == ("R_3", "R_2/state")


@pytest.mark.e2e
def test_unrolled_values_equal_a_numpy_recurrence(tmp_path):
    g = graph_of(tmp_path)
    nn.clear_parameters()
    compiled = compile_graph(g, 2)
    rng = np.random.RandomState(0)
    x = rng.randn(2, 1, 6, 5).astype(np.float32)
    compiled.inputs["x"].d = x
    out = compiled.outputs["out"]
    out.forward()
    params = nn.get_parameters()
    W, b = params["cell/affine/W"].d, params["cell/affine/b"].d
    h = np.zeros((2, 1, 4))
    expected = []
    for t in range(6):
        z = np.concatenate([x[:, :, t, :], h], axis=2).reshape(2, -1)
        h = np.tanh(z @ W.reshape(9, 4) + b.reshape(4)).reshape(2, 1, 4)
        expected.append(h)
    np.testing.assert_allclose(out.d, np.stack(expected, axis=2), rtol=1e-5, atol=1e-6)


def test_initial_state_from_the_dataset(tmp_path):
    g = graph_of(tmp_path, ELMAN.replace("input: state}", "input: state, initial_generator: None, "
                                                          "initial_dataset: h0}"))
    first = g.info["h_initial"].node
    assert first.type == "Input" and first.props["dataset"] == "h0" and first.props["size"] == [1, 4]


@pytest.mark.e2e
@pytest.mark.parametrize("change, fragment", [
    ("size: [1, 4], ", "needs `size`"),
    ("{type: RecurrentOutput, name: out, axis: 1}", "RecurrentInput has no RecurrentOutput"),
])
def test_recurrent_errors(tmp_path, change, fragment):
    network = ELMAN.replace(change, "") if "size" in change else ELMAN.replace("  - " + change + "\n", "")
    path = write(tmp_path / "p.yaml", "name: rnn\ndatasets: {}\n" + network)
    status, _, err = run_cli("check", path)
    assert status == 2 and fragment in err and "Traceback" not in err and "p.yaml:" in err, err


@pytest.mark.e2e
def test_an_elman_network_trains(tmp_path):
    write_digits(str(tmp_path / "d"), n=48)
    path = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", epochs=8, network="""
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: RecurrentInput, name: R, axis: 2}
          - {type: Delay, name: h, size: [1, 8], input: state}
          - {type: Concatenate, input: [R, h], axis: 1}
          - {type: Affine, name: cell, out_shape: [1, 8]}
          - {type: Tanh, name: state}
          - {type: RecurrentOutput, axis: 1}
          - {type: Affine, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        """)
    run = tmp_path / "run"
    status, out, err = run_cli("run", path, "-o", run)
    assert status == 0, err
    rows = open(run / "metrics.csv").read().splitlines()[1:]
    first, last = (float(r.split(",")[1]) for r in (rows[0], rows[-1]))
    assert last < first
    assert os.path.exists(run / "checkpoints" / "best.h5")


def test_the_expansion_shapes_each_layer_once_however_many_blocks_ask(tmp_path, monkeypatch):
    """A block's steps come from its input's shape; the layers before it are shaped once, not again
    for every later block (which made stacked recurrent blocks quadratic)."""
    import nncgraph.graph.expand as expand

    shaped = []
    real = expand.infer_node_shape

    def counted(node, in_shapes):
        shaped.append(node.name)
        return real(node, in_shapes)

    monkeypatch.setattr(expand, "infer_node_shape", counted)
    block = """
  - {type: RecurrentInput, name: R#, axis: 1}
  - {type: Delay, name: h#, size: [1, 4], input: state#}
  - {type: Concatenate, input: [R#, h#], axis: 1}
  - {type: Affine, out_shape: [1, 4]}
  - {type: Tanh, name: state#}
  - {type: RecurrentOutput, name: out#, axis: 1}"""
    g = graph_of(tmp_path, ELMAN + block.replace("#", "2") + block.replace("#", "3") + "\n")
    assert g.info["out3"].out_shape == (1, 6, 4)
    assert len(shaped) == len(set(shaped)), sorted(n for n in set(shaped) if shaped.count(n) > 1)
    assert "x" in shaped and "out" in shaped and "out2" in shaped      # the shapes the blocks read
