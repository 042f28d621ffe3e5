"""`nncgraph report RUN_DIR`: RUN_DIR/report.html, and `nncgraph compare RUN_DIR...`."""
from __future__ import annotations

import os

from ..atomic_files import atomic_write
from ..errors import UserError
from ..train.run_folder import RunFolder
from . import html_page
from .network_diagram import nodes_from_inferred, render_svg


def write_report(run_dir: str, project=None) -> str:
    """Write RUN_DIR/report.html from the run folder's files; returns its path.

    `project`: the run's project when the caller holds it already (the one it trained), so the
    run folder's project.yaml is not parsed again."""
    run = RunFolder.open(run_dir)
    why = ""
    if project is None:
        try:
            project = run.load_project()
        except UserError as exc:    # a project this version cannot load still has a report, without diagram
            why = str(exc)
    if project is not None:
        from ..graph.render import render_project

        name, training = project.name, render_project(project)["training"]
    else:
        doc = run.read_project_copy()       # a damaged copy is an error naming it, not a page
        name, training = doc.get("name"), doc.get("training")
    rows = run.read_metrics()
    result = run.read_result()
    name = str(name or result.get("project") or os.path.basename(run.path))
    svg, network, params, error = _diagram(project) if project is not None else (None, "", None, why)
    ev = run.read_evaluation()
    sections = [html_page.header(name, run.path, result),
                html_page.network_section(svg, network, params, error),
                html_page.curves_section(rows),
                html_page.confusion_section(ev),
                html_page.errors_section(ev),
                html_page.settings_section(training if isinstance(training, dict) else {}, rows, result)]
    atomic_write(run.report_file, html_page.page(f"{name} - nncgraph report", sections))
    return run.report_file


def _diagram(project):
    """(svg or None, network name, total params, why not drawn)."""
    from ..graph.variants import variant_graph

    try:
        network = project.training.network
        # the validation variant holds every layer (losses and metrics too), as the editor shows them
        inferred = variant_graph(project, network, "validation")
    except UserError as exc:
        return None, "", None, str(exc)
    return render_svg(nodes_from_inferred(inferred)), network, inferred.total_params, ""
