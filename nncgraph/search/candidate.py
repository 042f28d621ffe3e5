"""One candidate network: its project text, checked by shape inference, with its costs.

A candidate is written as a plain project file (no declarations, absolute
paths) so it runs with `nncgraph run` wherever it is copied; building it runs
nncgraph's whole front end, so an invalid candidate is refused here, before
any training.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from ..errors import UserError
from ..project.search_declarations import layer_lists
from ..project.yaml_text import project_text


@dataclass
class Candidate:
    text: str
    project: object
    macs: int           # multiply-adds of the runtime network per sample (NNC's CostMultiplyAdd)
    params: int         # trainable parameters (NNC's CostParameter)


def absolute_paths(doc: dict, base_dir: str) -> dict:
    """Dataset CSVs, init_from and parameter files as absolute paths, so the text loads from anywhere."""
    out = copy.deepcopy(doc)

    def absolute(path):
        return path if not isinstance(path, str) or not path or os.path.isabs(path) else \
            os.path.normpath(os.path.join(base_dir, path))

    for spec in (out.get("datasets") or {}).values():
        if isinstance(spec, dict) and "csv" in spec:
            spec["csv"] = absolute(spec["csv"])
    init = out.get("init_from")
    if isinstance(init, str):
        out["init_from"] = absolute(init)
    elif isinstance(init, dict) and "path" in init:
        init["path"] = absolute(init["path"])
    for _, layers in layer_lists(out):
        for layer in layers:
            if isinstance(layer, dict):
                for key in [k for k in layer if k.endswith("_file")]:
                    layer[key] = absolute(layer[key])
    return out


def build_candidate(doc: dict, path: str, header: str = "") -> Candidate:
    """Parse and shape-check `doc` as if it were the file `path`; raises UserError when invalid."""
    from ..graph.variants import variant_graphs
    from ..project.load import parse_project

    text = project_text(doc, header)
    project = parse_project(text, path)
    inferred = variant_graphs(project, project.training.network)
    if not inferred["training"].has_loss:
        raise UserError("the candidate has no loss layer.", fix="keep the loss layer out of the search.")
    return Candidate(text, project, inferred["runtime"].total_macs, inferred["training"].total_params)


def cost_violation(candidate: Candidate, settings) -> str:
    """Why the candidate's cost is outside the search range (empty when inside)."""
    for value, (low, high), what in ((candidate.macs, settings.macs_range, "multiply-adds"),
                                     (candidate.params, settings.params_range, "parameters")):
        if low is not None and value < low:
            return f"{value:,} {what} < minimum {low:,}"
        if high is not None and value > high:
            return f"{value:,} {what} > maximum {high:,}"
    return ""
