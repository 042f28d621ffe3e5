"""A finished run's models as nnabla files: RUN/best.nnp and RUN/last.nnp.

They are what a user hands to nnabla's own tools (`nnabla_cli forward`,
NnpLoader, the C runtime, `nncgraph export --format onnx`); the .h5
checkpoints stay the run's own format for resume and init_from.
"""
from __future__ import annotations

import os
from typing import List

from .nnp_export import Exporter


def export_run_models(run_dir: str) -> List[str]:
    from ..project.load import load_project

    project = load_project(os.path.join(run_dir, "project.yaml"))
    checkpoints = [(model, os.path.join(run_dir, "checkpoints", f"{model}.h5")) for model in ("best", "last")]
    checkpoints = [(model, path) for model, path in checkpoints if os.path.isfile(path)]
    if not checkpoints:
        return []
    exporter = Exporter(project, base_dir=run_dir)       # one graph for both models
    written = []
    for model, checkpoint in checkpoints:
        path = os.path.join(run_dir, f"{model}.nnp")
        exporter.write(path, "nnp", checkpoint)
        written.append(path)
    return written
