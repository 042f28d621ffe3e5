"""A finished run's models as nnabla files: RUN/best.nnp and RUN/last.nnp.

They are what a user hands to nnabla's own tools (`nnabla_cli forward`,
NnpLoader, the C runtime, `nncgraph export --format onnx`); the .h5
checkpoints stay the run's own format for resume and init_from.
"""
from __future__ import annotations

import os
from typing import List

from .nnp_export import Exporter


def export_run_models(run_dir: str, project=None) -> List[str]:
    """`project`: the run's project when the caller holds it (the one it trained), else its project.yaml's."""
    from ..train.run_folder import RunFolder

    run = RunFolder.open(run_dir)
    checkpoints = run.saved_checkpoints()
    if not checkpoints:
        return []
    project = project or run.load_project()
    exporter = Exporter(project, base_dir=os.path.dirname(project.path))       # one graph for both models
    written = []
    for model, checkpoint in checkpoints:
        exporter.write(run.model_file(model), "nnp", checkpoint)
        written.append(run.model_file(model))
    return written
