"""Every kind of bad input ends in one clear line, exit status 2, no traceback."""
from __future__ import annotations

import os

import pytest

from conftest import run_cli, tiny_project, write, write_digits

pytestmark = pytest.mark.e2e

HEAD = """
name: bad
datasets:
  training: {csv: data.csv}
"""


def assert_user_error(result, *fragments):
    status, out, err = result
    assert status == 2, (status, out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Fix:" in lines[0], err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)
    return lines[0]


def check(tmp_path, text, *fragments):
    path = write(tmp_path / "project.yaml", HEAD + text)
    return assert_user_error(run_cli("check", path), *fragments)


def test_malformed_yaml(tmp_path):
    check(tmp_path, "network:\n  - {type: Input, size: [1, 2\n", "project.yaml:6:", "not valid YAML")


def test_unknown_layer_type_suggests_close_names(tmp_path):
    line = check(tmp_path, """
network:
  - {type: Input, size: [1, 8, 8]}
  - {type: Convoluton, out_maps: 4}
""", "project.yaml:7:6", "unknown layer type 'Convoluton'", "'Convolution'")
    assert "nncgraph layers" in line


def test_unknown_property_suggests_the_right_one(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, size: [1, 8, 8]}
  - {type: Convolution, out_map: 4}
""", "project.yaml:7:25", "layer 'Convolution' (Convolution)", "unknown property 'out_map'", "'out_maps'")


def test_wrong_property_type(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, size: [1, 8, 8]}
  - {type: Convolution, name: conv1, out_maps: many}
""", "project.yaml:7:38", "layer 'conv1' (Convolution)", "out_maps", "must be an integer")


def test_add2_of_unequal_shapes(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, name: x, size: [3, 8, 8]}
  - {type: Convolution, name: a, out_maps: 4, kernel_shape: [3, 3]}
  - {type: Convolution, name: b, input: x, out_maps: 8, kernel_shape: [3, 3]}
  - {type: Add2, name: sum, input: [a, b]}
""", "project.yaml:9:5", "layer 'sum' (Add2)", "[4, 8, 8] and [8, 8, 8]")


def test_layer_that_shrinks_data_to_nothing(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, name: x, size: [1, 4, 4]}
  - {type: Convolution, name: big, out_maps: 4, kernel_shape: [7, 7], border_mode: valid}
  - {type: Affine, out_shape: 10}
""", "project.yaml:7:5", "layer 'big' (Convolution)", "does not fit")


def test_pooling_to_nothing_before_affine_is_caught_where_it_happens(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, name: x, size: [1, 4, 4]}
  - {type: MaxPooling, name: pool, kernel_shape: [8, 8]}
  - {type: Affine, name: fc, out_shape: 10}
""", "project.yaml:7:5", "layer 'pool' (MaxPooling)", "larger than the input")


def test_empty_input_size_is_rejected(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, name: x, size: [0]}
  - {type: Affine, name: fc, out_shape: 10}
""", "project.yaml:6:", "layer 'x' (Input)", "size", "1 or more")


def test_cycle(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, name: x, size: [4]}
  - {type: Add2, name: a, input: [x, b]}
  - {type: ReLU, name: b, input: a}
""", "project.yaml:7:5", "layer 'a' (Add2)", "a -> b", "cycle")


def test_input_naming_no_layer(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, name: x, size: [4]}
  - {type: Affine, name: fc, input: xx, out_shape: 2}
""", "project.yaml:7:5", "layer 'fc' (Affine)", "input 'xx' names no layer", "'x'")


def test_missing_dataset_csv(tmp_path):
    path = tiny_project(str(tmp_path), "nowhere.csv")
    line = assert_user_error(run_cli("run", path, "-o", tmp_path / "run"), "project.yaml:3:", "nowhere.csv")
    assert "does not exist" in line
    assert not (tmp_path / "run").exists()     # nothing written for a refused run


def test_missing_image_names_the_row(tmp_path):
    csv = write_digits(str(tmp_path / "data"), n=10)
    os.remove(tmp_path / "data" / "img" / "4.png")
    path = tiny_project(str(tmp_path), "data/data.csv")
    assert_user_error(run_cli("run", path, "-o", tmp_path / "run"), f"{csv}:6", "img/4.png")
    assert not (tmp_path / "run").exists()


def test_corrupt_image_names_the_row(tmp_path):
    csv = write_digits(str(tmp_path / "data"), n=10)
    with open(tmp_path / "data" / "img" / "7.png", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n this is not a PNG body")
    path = tiny_project(str(tmp_path), "data/data.csv")
    assert_user_error(run_cli("run", path, "-o", tmp_path / "run"), f"{csv}:9", "7.png")


def test_label_out_of_range_for_the_loss(tmp_path):
    labels = [0, 1, 2, 0, 1, 3, 0, 1]          # row 6 (line 7) has class 3; the network has 3 classes
    csv = write_digits(str(tmp_path / "data"), n=8, labels=labels)
    path = tiny_project(str(tmp_path), "data/data.csv")
    line = assert_user_error(run_cli("run", path, "-o", tmp_path / "run"), f"{csv}:7", "label 3",
                             "SoftmaxCrossEntropy", "3 classes")
    assert "out_shape" in line


def test_cudnn_without_the_cuda_extension(tmp_path, digits):
    pytest.importorskip("nnabla")
    try:
        import nnabla_ext.cuda  # noqa: F401
        pytest.skip("nnabla-ext-cuda is installed here")
    except ImportError:
        pass
    path = tiny_project(str(tmp_path), "data/data.csv")
    assert_user_error(run_cli("run", path, "--context", "cudnn", "-o", tmp_path / "run"),
                      "nnabla-ext-cuda120")
    assert not (tmp_path / "run").exists()


def test_existing_run_folder_is_not_overwritten(tmp_path, digits):
    path = tiny_project(str(tmp_path), "data/data.csv")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("precious")
    assert_user_error(run_cli("run", path, "-o", run), "already holds files")
    assert (run / "metrics.csv").read_text() == "precious"


def test_missing_project_file(tmp_path):
    assert_user_error(run_cli("check", tmp_path / "nope.yaml"), "nope.yaml", "does not exist")


def test_unknown_optimizer(tmp_path):
    check(tmp_path, """
network:
  - {type: Input, size: [4]}
training:
  optimizer: {type: Adamm}
""", "project.yaml:8:", "unknown optimizer type 'Adamm'", "'Adam'")


def test_channel_last_on_the_cpu(tmp_path, digits):
    path = tiny_project(str(tmp_path), "data/data.csv", network="""
        network:
          - {type: Input, name: x, size: [8, 8, 1]}
          - {type: Convolution, name: conv, out_maps: 4, channel_last: true}
          - {type: Affine, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        """)
    assert_user_error(run_cli("run", path, "-o", tmp_path / "run"), "project.yaml:6:5", "layer 'conv'",
                      "channel_last", "--context cudnn")


def test_network_without_a_loss_cannot_be_trained(tmp_path, digits):
    path = tiny_project(str(tmp_path), "data/data.csv", network="""
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Affine, out_shape: 3}
        """)
    assert_user_error(run_cli("run", path, "-o", tmp_path / "run"), "project.yaml:4:1", "network 'Main'", "no loss layer")
