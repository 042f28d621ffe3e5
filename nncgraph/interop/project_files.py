"""NNC and nnabla files are project files: `nncgraph run/check/render/search/export` take an .sdcproj,
.nntxt or .nnp as they take a .yaml. The file is imported in memory, as `nncgraph import` would write it,
and what the loader then finds wrong is shown at the line of the user's own file (each imported layer's
line carries its source line: located_yaml.relocate). Nothing is written beside the file."""
from __future__ import annotations

import os

from ..errors import UserError
from ..project.located_yaml import LocatedDict, load_located_yaml, relocate

IMPORTED_SUFFIXES = (".sdcproj", ".nntxt", ".nnp")


def is_imported(path: str) -> bool:
    return path.lower().endswith(IMPORTED_SUFFIXES)


def project_document(path: str):
    """The project file `path` as a located YAML mapping; an NNC or nnabla file imported in memory."""
    from ..project.load import read_project_text

    if not is_imported(path):
        doc = load_located_yaml(read_project_text(path), path)
    else:
        if os.path.isdir(path):
            raise UserError(f"'{path}' is a directory, not a project file.", fix="give the file itself.")
        if not os.path.isfile(path):
            raise UserError(f"project file '{path}' does not exist.", fix="check the path.")
        text, label = imported_text(path)
        doc = relocate(load_located_yaml(text, label), text, label)
    if not isinstance(doc, LocatedDict):
        raise UserError(f"'{path}' is not a project file.", fix="see docs/project-file.md for an example.")
    return doc


def imported_text(path: str):
    """(YAML text, the file its marked lines are in) of an NNC (.sdcproj) or nnabla (.nntxt, .nnp) file."""
    if path.lower().endswith(".sdcproj"):
        from .sdcproj_import import import_sdcproj

        return import_sdcproj(path, located=True), path
    from .nnp_import import import_nnp
    from .nnp_source import Source

    source = Source(path)
    return import_nnp(path, path, located=True, source=source), source.label


def load_any_project(path: str):
    """The typed project of a .yaml, .sdcproj, .nntxt or .nnp file."""
    from ..project.load import load_project, parse_document

    if not is_imported(path):
        return load_project(path)
    return parse_document(project_document(path), path)
