"""Project files written by nncgraph (imports, search candidates): one flow mapping per layer,
as the projects in projects/ are written by hand."""
from __future__ import annotations

import yaml

from .located_yaml import EXPONENT_FLOAT


class ProjectDumper(yaml.SafeDumper):
    """PyYAML's writer, made to agree with our reader: a string such as "1e-3", which the reader takes
    for a float, is quoted, and no `&id001` anchors appear (a written project is for people to read)."""

    def ignore_aliases(self, data):
        return True


ProjectDumper.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))


def dump(value, **options) -> str:
    """`value` as YAML that `load_located_yaml` reads back as the same value."""
    return yaml.dump(value, Dumper=ProjectDumper, **options)


def flow(value) -> str:
    """One value in YAML flow style, on one line."""
    text = dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip()
    return text[:-len("\n...")] if text.endswith("\n...") else text      # a scalar's document end


def project_text(doc: dict, header: str = "", mark=lambda layer: "") -> str:
    """`doc` as YAML, `header` as comment lines above it; `mark(layer)` ends each layer's line."""
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in doc.items():
        if key in ("network",) and isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  - {flow(layer)}{mark(layer)}" for layer in value]
        elif key == "networks" and isinstance(value, dict):
            lines.append("networks:")
            for name, layers in value.items():
                lines.append(f"  {flow(name)}:")
                lines += [f"    - {flow(layer)}{mark(layer)}" for layer in layers]
        elif isinstance(value, (dict, list)):
            lines.append(dump({key: value}, default_flow_style=None, sort_keys=False, width=120).rstrip())
        else:
            lines.append(f"{key}: {flow(value)}")
    return "\n".join(lines) + "\n"
