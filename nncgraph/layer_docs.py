"""The layer registry described: one dict per layer type (`nncgraph layers --json`, nncgraph.layer_types()),
as text (`nncgraph layers NAME`) and as docs/layers.md (`nncgraph layers --markdown`).

Outside cli/ so the API describes layers without importing the CLI."""
from __future__ import annotations

from .interop.nnp_functions import imports_from_nntxt
from .layers import REGISTRY, UNSUPPORTED, get_layer


def layer_info(type_name: str) -> dict:
    """One layer type: category, role, doc, inputs, nnabla function, shape rule, properties; a UserError
    (with close matches) for an unknown name."""
    layer = get_layer(type_name)
    n = layer.n_inputs
    return {
        "name": type_name, "category": layer.category, "role": layer.role, "doc": layer.doc,
        "inputs": n if isinstance(n, int) else {"min": n[0], "max": n[1]},
        "nnabla_function": layer.nnabla_function or None,
        # why `nncgraph import` cannot read the layer back from an .nntxt; None: it can
        "not_from_nntxt": None if imports_from_nntxt(layer) else (
            layer.nntxt_gap or "the import has no converter for its function's arguments"),
        "shape_rule": layer.shape_rule,
        "properties": [{"name": k, "nnc_name": p.nnc, "type": p.kind, "default": p.default,
                        "derived": p.derived or None, "options": list(p.options) or None, "doc": p.doc}
                       for k, p in layer.props.items()],
    }


def layer_types() -> list:
    """layer_info of every registered layer type, in registry order."""
    return [layer_info(t) for t in REGISTRY]


def layer_text(info: dict) -> str:
    lines = [f"{info['name']}  ({info['category']})", f"  {info['doc']}", f"  output shape: {info['shape_rule']}"]
    if info["nnabla_function"]:
        lines.append(f"  nnabla function: {info['nnabla_function']}")
    if info["not_from_nntxt"]:
        lines.append(f"  not imported from .nntxt: {info['not_from_nntxt']}")
    for p in info["properties"]:
        default = p["derived"] and f"derived: {p['derived']}" or repr(p["default"])
        options = f" one of {', '.join(p['options'])}" if p["options"] else ""
        lines.append(f"  {p['name']:<18} {p['type']:<7} default {default}{options}")
        lines.append(f"      {p['doc']}")
    return "\n".join(lines)


def layers_markdown() -> str:
    """docs/layers.md, generated; a test keeps the checked-in file current."""
    out = ["# Layer reference", "",
           "Generated from nncgraph's layer registry by `nncgraph layers --markdown`; do not edit by hand.",
           "Property names are NNC's in snake_case; shapes exclude the batch axis.", ""]
    by_category = {}
    for info in layer_types():
        by_category.setdefault(info["category"], []).append(info)
    for category, infos in by_category.items():
        out += [f"## {category}", ""]
        for info in infos:
            out += [f"### {info['name']}", "", info["doc"], "", f"Output shape: {info['shape_rule']}.", ""]
            if info["nnabla_function"]:
                out += [f"nnabla function: `{info['nnabla_function']}`", ""]
            if info["not_from_nntxt"]:
                out += [f"Not imported from .nntxt: {info['not_from_nntxt']}.", ""]
            if info["properties"]:
                out += ["| property | NNC name | type | default | description |", "|---|---|---|---|---|"]
                for p in info["properties"]:
                    default = f"*{p['derived']}*" if p["derived"] else f"`{p['default']}`"
                    kind = p["type"] + (f" ({', '.join(p['options'])})" if p["options"] else "")
                    out.append(f"| `{p['name']}` | {p['nnc_name']} | {kind} | {default} | {p['doc']} |")
                out.append("")
    out += _structure_markdown()
    if UNSUPPORTED:
        out += ["## Not supported", "", "NNC palette layers nncgraph does not run, and why:", "",
                "| layer | reason |", "|---|---|"]
        out += [f"| {name} | {why} |" for name, why in sorted(UNSUPPORTED.items())]
        out.append("")
    return "\n".join(out)


def _structure_markdown() -> list:
    """Units, repeats and recurrent blocks: written like layers, expanded before the graph is built."""
    from .layers.structure import STRUCTURAL

    out = ["## Structure", "",
           "These are written like layers but expanded into ordinary layers before shapes are inferred "
           "(see [project-file.md](project-file.md#units-repeats-and-recurrent-blocks)).", ""]
    for name, props in STRUCTURAL.items():
        out += [f"### {name}", ""]
        if props:
            out += ["| property | NNC name | type | default | description |", "|---|---|---|---|---|"]
            for key, p in props.items():
                default = f"*{p.derived}*" if p.derived else f"`{p.default}`"
                kind = p.kind + (f" ({', '.join(p.options)})" if p.options else "")
                out.append(f"| `{key}` | {p.nnc} | {kind} | {default} | {p.doc} |")
            out.append("")
    return out
