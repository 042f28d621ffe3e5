"""nncgraph as a library, beyond one project and its runs: compare runs, search structures, import
NNC and nnabla files (docs/python-api.md, "Tools"). `nncgraph compare`, `search` and `import` are these
calls plus printing; the dataset tools, `layers` and `schema` are library functions nncgraph/__init__.py
exports as they are.

    rows = nncgraph.compare(["runs/a", "runs/b"], out="compare")
    summary = nncgraph.structure_search("space.yaml", trials=8)
    path = nncgraph.import_project("lenet.sdcproj", "lenet.yaml")
"""
from __future__ import annotations

import os
from typing import Callable, Dict, List, Optional, Sequence, Union

from .errors import UserError
from .interop.project_files import IMPORTED_SUFFIXES

Log = Callable[[str], None]


def compare(run_dirs: Union[str, Sequence[str]], out: str = "compare") -> List[Dict]:
    """`nncgraph compare`: write out/compare.png (the runs' validation error curves) and out/compare.csv;
    returns one dict per run: run (its path as shown), epochs, final_train_error, final_valid_error,
    best_valid_error, params, seconds, and curve ([epoch, valid_error] pairs)."""
    from .report.compare import compare_runs

    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    return compare_runs([os.fspath(d) for d in run_dirs], os.fspath(out))


def structure_search(project: str, out: Optional[str] = None, *, trials: Optional[int] = None,
                     time_limit: Union[None, str, float] = None, objective: Optional[str] = None,
                     sampler: Optional[str] = None, storage: Optional[str] = None, study: Optional[str] = None,
                     resume: bool = False, epochs: Optional[int] = None, epoch_budget: Optional[int] = None,
                     fidelity: Optional[int] = None, reduction_factor: Optional[int] = None,
                     pruner: Optional[str] = None, seed: Optional[int] = None,
                     datasets: Optional[Dict[str, str]] = None, log: Log = print) -> Dict:
    """`nncgraph search PROJECT`: the project file's `search:` settings, overridden by the keywords given
    (each as the option of that name); trains the candidates into `out` (default searches/<name>).
    `datasets`: {name: CSV} in place of the file's (paths relative to the working directory). Returns the
    summary: trials, complete, pruned, diverged, invalid, pareto (trial numbers), csv, plot, pareto_dir. It reads the file, not a loaded Project: a project that declares a search space is one
    `nncgraph.load` refuses to train."""
    from .project.load import check_name
    from .search.engine import read_project, run_search
    from .search.settings import Fidelity, from_project, parse_duration, with_overrides

    project = os.fspath(project)
    doc = read_project(project)
    for name, csv in (datasets or {}).items():
        doc.setdefault("datasets", {})[name] = {"csv": os.path.abspath(csv)}
    try:
        settings = from_project(doc.get("search"))
    except UserError as exc:     # a setting of the file: point at its `search:` section
        raise exc.with_context(location=doc.where("search") if "search" in doc else None) from None
    given = settings.fidelity
    if fidelity is not None or reduction_factor is not None or pruner is not None:
        base = given or Fidelity()
        given = Fidelity(fidelity if fidelity is not None else base.min_epochs,
                         reduction_factor or base.reduction_factor, pruner or base.pruner)
    settings = with_overrides(settings, trials=trials, time_limit=parse_duration(time_limit),
                              objective=objective, sampler=sampler, epochs=epochs, epoch_budget=epoch_budget,
                              seed=seed, fidelity=given)
    if "name" in doc:       # it names the folder searches/<name>: nothing that climbs out of it
        check_name(doc["name"], doc.where("name"))
        name = doc["name"]
    else:
        name = os.path.splitext(os.path.basename(project))[0]
    out = os.fspath(out) if out else os.path.join("searches", name)
    return run_search(project, out, settings, storage_url=storage, study_name=study, resume=resume, log=log,
                      doc=doc)


def import_project(source: str, out: str, force: bool = False) -> str:
    """`nncgraph import`: an NNC project (.sdcproj) or an nnabla network file (.nntxt, .nnp) as the project
    file `out` (an .nnp's parameters beside it); refuses to overwrite `out` unless `force`. Returns `out`."""
    from .atomic_files import atomic_write

    source, out = os.fspath(source), os.fspath(out)
    suffix = os.path.splitext(source)[1].lower()
    if suffix not in IMPORTED_SUFFIXES:
        raise UserError(f"cannot import '{source}': unknown file type '{suffix or '(none)'}'.",
                        fix=f"give a {', '.join(IMPORTED_SUFFIXES)} file.")
    if os.path.isdir(out):
        raise UserError(f"-o '{out}' is a directory; the imported project is a file.",
                        fix="name the .yaml file to write, e.g. -o project.yaml.")
    if os.path.exists(out) and not force:
        raise UserError(f"'{out}' already exists; importing would overwrite it.",
                        fix="choose another -o file, or add --force.")
    if os.path.isdir(source):
        raise UserError(f"'{source}' is a directory, not a {suffix} file.", fix=f"give the {suffix} file itself.")
    if not os.path.isfile(source):
        raise UserError(f"'{source}' does not exist.", fix="check the path.")
    if suffix == ".sdcproj":
        from .interop.sdcproj_import import import_sdcproj

        text = import_sdcproj(source)
    else:
        from .interop.nnp_import import import_nnp

        text = import_nnp(source, out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    atomic_write(out, text)
    return out
