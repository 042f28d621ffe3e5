"""ONNX through nnabla's own converter (the optional extra `pip install .[onnx]`).

The model goes out as our .nnp first (its single executor runs MainRuntime),
and nnabla-converter turns that into ONNX, opset 11. The batch size is fixed
in the ONNX input, as the converter writes it.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings

from ..errors import UserError
from .nnp_export import ExportSummary, export_project

INSTALL_FIX = ("install the optional ONNX extra into nncgraph's environment: "
               "`.venv/bin/pip install -e '.[onnx]'` (nnabla-converter, onnx, onnxruntime; about 1.8 GB, "
               "as the converter depends on TensorFlow).")


def converter_modules():
    """nnabla's NNP importer and ONNX exporter, or a clear error when the extra is missing."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):      # it announces missing packages on stdout
            from nnabla.utils.converter.nnabla import NnpImporter
            from nnabla.utils.converter.onnx import OnnxExporter
    except ImportError as exc:
        raise UserError(f"ONNX export needs nnabla-converter and onnx, which are not installed ({exc}).",
                        fix=INSTALL_FIX) from None
    return NnpImporter, OnnxExporter


def export_onnx(project, path: str, checkpoint, base_dir: str, batch_size: int = 1,
                opset: str = "11") -> ExportSummary:
    NnpImporter, OnnxExporter = converter_modules()
    import nnabla as nn

    with tempfile.TemporaryDirectory() as tmp:
        nnp = os.path.join(tmp, "model.nnp")
        summary = export_project(project, nnp, "nnp", checkpoint, base_dir, runtime_batch_size=batch_size)
        # the importer reuses same-named parameters of nnabla's global scope instead of the file's
        nn.clear_parameters()
        staged = os.path.join(tmp, "model.onnx")
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():   # "Importing ...", numpy
            warnings.simplefilter("ignore", DeprecationWarning)                        # tostring() notices
            model = NnpImporter(nnp, expand_network=True, executor_index=None).execute()
            OnnxExporter(model, batch_size, -1, opset=opset).execute(staged)
        from ..atomic_files import atomic_write

        with open(staged, "rb") as f:
            atomic_write(path, f.read(), "wb")
    return ExportSummary(path, ["MainRuntime"], summary.parameters, summary.parameter_source, summary.outputs)
