"""`nncgraph search`: argument parsing and the printed summary; the work is api_tools.structure_search."""
from __future__ import annotations

from .shared import add_dataset_option, dataset_overrides, display_path


def add_search_parser(subparsers):
    from ..search.settings import OBJECTIVES, PRUNERS, SAMPLERS

    p = subparsers.add_parser(
        "search", help="structure search: train candidate networks from a declared space (or NNC-style "
                       "mutation) with Optuna; search.csv, tradeoff.png, Pareto projects")
    p.add_argument("project")
    p.add_argument("-o", "--output", metavar="DIR", help="search folder (default: searches/<project name>)")
    p.add_argument("--trials", type=int, metavar="N", help="trained candidates in the study (default 20)")
    p.add_argument("--time-limit", metavar="T", help="start no new trial after T (600, 600s, 30m, 2h)")
    p.add_argument("--objective", choices=OBJECTIVES, help="default error+macs (NNC's ErrorAndCalculation)")
    p.add_argument("--sampler", choices=SAMPLERS,
                   help="declared space: default nsga2 (two objectives) or tpe; mutation: random")
    p.add_argument("--storage", metavar="URL", help="Optuna storage shared by workers: an SQLAlchemy URL "
                   "(postgresql://...) or a journal file path (default: DIR/study.journal)")
    p.add_argument("--study", metavar="NAME", help="study name (default: the project's name)")
    p.add_argument("--resume", action="store_true",
                   help="continue the study, re-running the trials a killed search left unfinished")
    p.add_argument("--epochs", type=int, metavar="N", help="train every candidate for N epochs")
    p.add_argument("--epoch-budget", type=int, metavar="N",
                   help="start no new candidate once all of them together trained N epochs")
    p.add_argument("--fidelity", type=int, metavar="MIN_EPOCHS",
                   help="multi-fidelity: judge candidates after MIN_EPOCHS, then x reduction factor, ...")
    p.add_argument("--reduction-factor", type=int, metavar="ETA", help="multi-fidelity reduction (default 3)")
    p.add_argument("--pruner", choices=PRUNERS, help="single objective: successive halving (sha) or hyperband")
    p.add_argument("--seed", type=int, help="sampler and mutation seed (default 0)")
    add_dataset_option(p)
    return p


def cmd_search(args) -> int:
    from .. import api_tools

    summary = api_tools.structure_search(
        args.project, args.output, trials=args.trials, time_limit=args.time_limit, objective=args.objective,
        sampler=args.sampler, storage=args.storage, study=args.study, resume=args.resume, epochs=args.epochs,
        epoch_budget=args.epoch_budget, fidelity=args.fidelity, reduction_factor=args.reduction_factor,
        pruner=args.pruner, seed=args.seed, datasets=dataset_overrides(args))
    print(f"{summary['trials']} trials: {summary['complete']} trained, {summary['pruned']} stopped early, "
          f"{summary['diverged']} diverged (NaN or inf, no score), {summary['invalid']} invalid (not trained)")
    print(f"Pareto-optimal: {', '.join(f'trial {n}' for n in summary['pareto']) or 'none yet'}")
    print(f"search.csv: {display_path(summary['csv'])}")
    print(f"trade-off plot: {display_path(summary['plot'])}")
    print(f"Pareto projects: {display_path(summary['pareto_dir'])}  (each runs with `nncgraph run`)")
    return 0
