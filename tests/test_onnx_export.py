"""`nncgraph export --format onnx`: onnxruntime gives nnabla's outputs (the optional extra .[onnx])."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, run_cli, tiny_project, write_digits

pytestmark = [pytest.mark.e2e, pytest.mark.onnx]

RESIDUAL = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, name: stem, out_maps: 4, kernel_shape: [3, 3], border_mode: same}
  - {type: BatchNormalization, name: bn}
  - {type: ReLU, name: relu}
  - {type: Convolution, name: conv, out_maps: 4, kernel_shape: [3, 3], border_mode: same}
  - {type: Add2, name: skip, input: [relu, conv]}
  - {type: MaxPooling, kernel_shape: [2, 2]}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def _extra_missing():
    try:
        import nnabla.utils.converter.onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


@pytest.fixture
def onnx_extra():
    missing = _extra_missing()
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"CI installs the .[onnx] extra, but: {missing}")
    if missing:
        pytest.skip(f"the optional .[onnx] extra is not installed ({missing}); "
                    "`.venv/bin/pip install -e '.[onnx]'` to run this test")


def test_onnxruntime_matches_nnabla_on_a_trained_residual_network(tmp_path, onnx_extra):
    write_digits(str(tmp_path / "d"), n=24)
    project = tiny_project(str(tmp_path), "d/data.csv", "d/data.csv", network=RESIDUAL, epochs=2)
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    status, out, err = run_cli("export", tmp_path / "run", "-o", tmp_path / "model.onnx", "--batch-size", "5")
    assert status == 0, err
    assert "model.onnx" in out
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    (inp,), (outp,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, list(inp.shape)) == ("x", [5, 1, 8, 8]) and outp.name == "y'"
    x = np.random.RandomState(0).rand(5, 1, 8, 8).astype(np.float32)
    got = session.run(None, {"x": x})[0]
    from nncgraph.evaluate.model import load_model

    model = load_model(str(tmp_path / "run"), batch_size=5)
    (_, _, want), = list(model.predict({"x": x}, {}, 5))
    assert got.shape == want["y'"].shape == (5, 3)
    assert np.abs(got - want["y'"]).max() <= 1e-4
    assert np.allclose(got.sum(axis=1), 1, atol=1e-5)      # the runtime network ends in its Softmax


def test_onnx_of_the_lenet_project(tmp_path, onnx_extra):
    """A project file exports with its initial parameters; ONNX equals nnabla on the same .nnp."""
    project = os.path.join(ROOT, "projects", "lenet-mnist.yaml")
    assert run_cli("export", project, "-o", tmp_path / "lenet.nnp")[0] == 0
    import nnabla as nn
    import onnxruntime as ort
    from nnabla.utils.nnp_graph import NnpLoader

    from nncgraph.interop.onnx_export import converter_modules

    NnpImporter, OnnxExporter = converter_modules()
    nn.clear_parameters()
    OnnxExporter(NnpImporter(str(tmp_path / "lenet.nnp"), expand_network=True, executor_index=None).execute(),
                 2, -1, opset="11").execute(str(tmp_path / "lenet.onnx"))
    nn.clear_parameters()
    net = NnpLoader(str(tmp_path / "lenet.nnp")).get_network("MainRuntime", batch_size=2)
    x = np.random.RandomState(1).rand(2, 1, 28, 28).astype(np.float32)
    net.inputs["x"].d = x
    net.outputs["y'"].forward()
    got = ort.InferenceSession(str(tmp_path / "lenet.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(got - net.outputs["y'"].d).max() <= 1e-4


def test_without_the_extra_the_cli_says_how_to_install_it(tmp_path):
    write_digits(str(tmp_path / "d"), n=8)
    project = tiny_project(str(tmp_path), "d/data.csv")
    # hide the converter as on a machine without the extra
    code = ("import sys; sys.modules['nnabla.utils.converter.onnx'] = None; "
            "from nncgraph.cli.main import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "export", project, "-o", str(tmp_path / "m.onnx")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "pip install -e '.[onnx]'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "m.onnx").exists()
