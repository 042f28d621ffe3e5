"""`nncgraph export` and `nncgraph import`: argument parsing and the printed summary.

The work is in nncgraph.api / api_tools; this module maps a run folder or a project file onto the
export of a Run or a Project (picking the format from the option or the suffix), and `import` onto
api_tools.import_project.
"""
from __future__ import annotations

import os

from ..errors import UserError
from .shared import display_path

EXPORT_FORMATS = ("nnp", "nntxt", "onnx")


def add_export_parser(subparsers):
    p = subparsers.add_parser(
        "export", help="write a run's trained model or a project as nnabla .nnp/.nntxt (networks Main, "
                       "MainValidation, MainRuntime; datasets, optimizer, monitors, executor) or ONNX")
    p.add_argument("source", metavar="RUN_DIR|PROJECT", help="a run folder (its trained parameters) or a "
                   "project file (its initial parameters)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    p.add_argument("--format", choices=EXPORT_FORMATS, help="default: from FILE's suffix")
    p.add_argument("--model", choices=("best", "last"), help="a run's checkpoint (default: best if saved, else last)")
    p.add_argument("--batch-size", type=int, default=1, metavar="N",
                   help="batch size of the runtime network MainRuntime and of ONNX (default 1)")
    return p


def export_format(path: str, given) -> str:
    if given:
        return given
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    if suffix in EXPORT_FORMATS:
        return suffix
    raise UserError(f"cannot tell the format of '{path}' from its suffix.",
                    fix=f"name it .nnp, .nntxt or .onnx, or pass --format ({', '.join(EXPORT_FORMATS)}).")


def cmd_export(args) -> int:
    from .. import api

    fmt = export_format(args.output, args.format)
    checkpoint = os.path.isdir(args.source)
    if checkpoint:
        summary = api.open_run(args.source).export(args.output, fmt, args.model, args.batch_size)
    else:
        if args.model:
            raise UserError("--model picks a run folder's checkpoint; a project file has none.",
                            fix="drop --model, or export a run folder.")
        summary = api.load(args.source).export(args.output, fmt, args.batch_size)
    print(f"wrote {display_path(summary.path)}: networks {', '.join(summary.networks)}; "
          f"parameters from {display_path(summary.parameter_source) if checkpoint else summary.parameter_source}"
          + (f" ({summary.parameters} arrays)" if summary.parameters else " (initializers only)"))
    return 0


def add_import_parser(subparsers):
    p = subparsers.add_parser(
        "import", help="turn an NNC project (.sdcproj) or an nnabla network file (.nntxt, .nnp) into a "
                       "project file")
    p.add_argument("source", metavar="FILE", help="FILE.sdcproj, FILE.nntxt or FILE.nnp")
    p.add_argument("-o", "--output", required=True, metavar="PROJECT.yaml", help="project file to write")
    p.add_argument("--force", action="store_true", help="overwrite PROJECT.yaml if it exists")
    return p


def cmd_import(args) -> int:
    from .. import api_tools

    written = display_path(api_tools.import_project(args.source, args.output, force=args.force))
    print(f"wrote {written}; `nncgraph check {written}` shows its shapes, "
          "and `nncgraph run` trains it (--dataset NAME=CSV points it at your data)")
    return 0
