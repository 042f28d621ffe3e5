"""`nncgraph report RUN_DIR`: RUN_DIR/report.html, and `nncgraph compare RUN_DIR...`."""
from __future__ import annotations

import os

from ..atomic_files import atomic_write
from ..run_files import read_project_copy
from . import html_page
from .network_diagram import nodes_from_inferred, render_svg
from .run_data import check_run_dir, read_evaluation, read_metrics, read_result


def write_report(run_dir: str) -> str:
    """Write RUN_DIR/report.html from the run folder's files; returns its path."""
    run_dir = check_run_dir(run_dir)
    doc = read_project_copy(os.path.join(run_dir, "project.yaml"))
    training = doc.get("training")
    rows = read_metrics(run_dir)
    result = read_result(run_dir)
    name = str(doc.get("name") or result.get("project") or os.path.basename(run_dir))
    svg, network, params, error = _diagram(run_dir)
    ev = read_evaluation(run_dir)
    sections = [html_page.header(name, run_dir, result),
                html_page.network_section(svg, network, params, error),
                html_page.curves_section(rows),
                html_page.confusion_section(ev),
                html_page.errors_section(ev),
                html_page.settings_section(training if isinstance(training, dict) else {}, rows, result)]
    path = os.path.join(run_dir, "report.html")
    atomic_write(path, html_page.page(f"{name} - nncgraph report", sections))
    return path


def _diagram(run_dir: str):
    """(svg or None, network name, total params, why not drawn)."""
    from ..errors import UserError
    from ..graph.variants import variant_graph
    from ..project.load import load_project

    try:
        project = load_project(os.path.join(run_dir, "project.yaml"))
        network = project.training.network
        # the validation variant holds every layer (losses and metrics too), as the editor shows them
        inferred = variant_graph(project, network, "validation")
    except UserError as exc:
        return None, "", None, str(exc)
    return render_svg(nodes_from_inferred(inferred)), network, inferred.total_params, ""
