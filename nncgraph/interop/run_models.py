"""A finished run's models as nnabla files: RUN/best.nnp and RUN/last.nnp.

They are what a user hands to nnabla's own tools (`nnabla_cli forward`,
NnpLoader, the C runtime, `nncgraph export --format onnx`); the .h5
checkpoints stay the run's own format for resume and init_from.
"""
from __future__ import annotations

import os
from typing import List

from .nnp_export import export_project


def export_run_models(run_dir: str) -> List[str]:
    from ..project.load import load_project

    project = load_project(os.path.join(run_dir, "project.yaml"))
    written = []
    for model in ("best", "last"):
        checkpoint = os.path.join(run_dir, "checkpoints", f"{model}.h5")
        if os.path.isfile(checkpoint):
            path = os.path.join(run_dir, f"{model}.nnp")
            export_project(project, path, "nnp", checkpoint, base_dir=run_dir)
            written.append(path)
    return written
