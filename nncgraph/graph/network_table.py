"""`nncgraph check`: every layer's shapes, parameters and multiply-adds, per variant."""
from __future__ import annotations

import contextlib
import gc
from typing import Dict

from .shape_pass import InferredGraph
from .variants import variant_graphs
from ..project.model import Project


@contextlib.contextmanager
def _collector_paused():
    """The passes and the table keep a few objects per layer alive and make no reference cycles;
    CPython's cyclic collector would rescan all of them on each full collection, so 8x the layers
    cost 10-13x the time (benchmarks/bench_check.py). It runs once they are done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_collector_paused()
def check_project(project: Project) -> Dict[str, Dict[str, InferredGraph]]:
    return {name: variant_graphs(project, name) for name in project.networks}


def check_json(results) -> dict:
    return {"networks": {name: {"variants": {v: {
        "layers": [{"name": i.node.name, "type": i.node.type, "inputs": [list(s) for s in i.in_shapes],
                    "output": list(i.out_shape), "params": i.trainable_params, "macs": i.macs}
                   for i in g.ordered()],
        "total_params": g.total_params, "total_macs": g.total_macs}
        for v, g in variants.items()}} for name, variants in results.items()}}


@_collector_paused()
def check_text(results) -> str:
    lines = []
    for name, variants in results.items():
        for variant, g in variants.items():
            lines.append(f"network {name} / {variant}")
            rows = [("layer", "type", "inputs", "output", "params", "macs")]
            for i in g.ordered():
                rows.append((i.node.name, i.node.type, _inputs(i.in_shapes),
                             _shape(i.out_shape), f"{i.trainable_params:,}", f"{i.macs:,}"))
            rows.append(("total", "", "", "", f"{g.total_params:,}", f"{g.total_macs:,}"))
            widths = [max(len(r[c]) for r in rows) for c in range(6)]
            for r in rows:
                cells = [r[c].ljust(widths[c]) if c < 4 else r[c].rjust(widths[c]) for c in range(6)]
                lines.append("  " + "  ".join(cells).rstrip())
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _inputs(shapes) -> str:
    """Input shapes; many equal ones (a recurrent Stack) as `28 x 1,28`."""
    if not shapes:
        return "-"
    if len(shapes) > 3 and len(set(shapes)) == 1:
        return f"{len(shapes)} x {_shape(shapes[0])}"
    return " ".join(_shape(s) for s in shapes)


def _shape(shape) -> str:
    return ",".join(str(d) for d in shape)
