"""Whether a resume point can continue with this project, decided before anything is written.

A resume point records what its run was (`describe_run`): its optimizers, the
parameters' names and shapes, each dataset's CSV and sample count, the device, the
resolved `w_file` paths and the batch size. `check_resume_point` reads the
point (without writing a byte) and compares it with what this project gives,
so `--resume` with another project, on a folder that is not a run, or onto a
corrupt point stops with one line and leaves the folder as it was.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List

from ..errors import UserError
from ..run_files import check_file, damaged, detail_of, h5_arrays, read_json
from .run_folder import RunFolder

STATE = RunFolder.RESUME_STATE
_FIX_PROJECT = "resume with the project the run was started with (its project.yaml), or start a new run."


def describe_run(project, params: Dict, datasets: Dict, inferred: Dict) -> Dict:
    """What a resume point must agree with. `datasets`: name -> BoundData; `inferred`: network name -> the
    training variant of each network the optimizers train."""
    w_files = {}
    base = os.path.dirname(project.path)
    for k, (network, graph) in enumerate(inferred.items()):
        for info in graph.ordered():
            for key, value in sorted(info.node.props.items()):
                if key.endswith("_file") and isinstance(value, str) and value:
                    layer = info.node.name if k == 0 else f"{network}:{info.node.name}"   # the main one as before
                    w_files[f"{layer}.{key}"] = os.path.normpath(os.path.join(base, value))
    return {
        "optimizers": [o.name for o in project.training.optimizers],
        "parameters": {name: list(var.shape) for name, var in sorted(params.items())},
        "datasets": {name: {"csv": project.datasets[name].csv, "samples": data.n_samples}
                     for name, data in datasets.items()},
        "context": {"backend": project.context.backend, "device_id": project.context.device_id},
        "w_files": w_files,
        "batch_size": project.training.batch_size,
    }


def find_resume_point(path: str) -> str:
    """The folder holding `path`'s resume point (read-only), or the UserError saying why there is none."""
    if not os.path.exists(path):
        raise UserError(f"run folder '{path}' does not exist.",
                        fix="give the folder `nncgraph run` printed as 'run folder: ...'.")
    if not os.path.isdir(path):
        raise UserError(f"'{path}' is a file, not a run folder.",
                        fix="give the folder `nncgraph run` printed as 'run folder: ...'.")
    folder = RunFolder(path).resume_folder
    for candidate in (folder, folder + ".old"):     # .old: killed between the two renames of a save
        if os.path.lexists(os.path.join(candidate, STATE)):
            check_file(os.path.join(candidate, STATE))     # a folder in its place says so
            return candidate
    raise UserError(f"run folder '{path}' has no resume point (checkpoints/{RunFolder.RESUME}/{STATE}), so it is not "
                    "a run that can be continued.",
                    fix="resume a folder written by `nncgraph run` after at least one epoch, "
                        "or start a new run with -o.")


def read_state(folder: str) -> Dict:
    path = os.path.join(folder, STATE)
    state = read_json(path)
    try:
        _check_fields(state)
    except KeyError as exc:
        raise damaged(path, f"it has no {str(exc.args[0])!r} field") from None
    except TypeError as exc:
        raise damaged(path, detail_of(exc)) from None
    return state


def _check_fields(state) -> None:
    if not isinstance(state, dict):
        raise TypeError("not a JSON object")
    for key, kind in (("epoch", int), ("rows", list), ("best", dict), ("rng", dict), ("solvers", int)):
        if not isinstance(state[key], kind):
            raise TypeError(f"'{key}' is not a {kind.__name__}")
    if state.get("pending") is not None and not isinstance(state["pending"], dict):
        raise TypeError("'pending' is not an object")
    if not isinstance(state.get("gradients", []), list):
        raise TypeError("'gradients' is not a list")
    missing = [k for k in ("kind", "keys", "pos", "has_gauss", "cached") if k not in state["rng"]]
    if missing:
        raise KeyError(f"rng.{missing[0]}")


def check_resume_point(run: RunFolder, project, described: Dict, n_solvers: int) -> str:
    """Raise a UserError unless `run`'s resume point fits this project; returns its folder."""
    folder = find_resume_point(run.path)
    state = read_state(folder)
    saved = h5_arrays(os.path.join(folder, RunFolder.RESUME_PARAMETERS), values=False)
    _compare_parameters(saved, described["parameters"])
    recorded = state.get("run")
    was = recorded.get("optimizers") if isinstance(recorded, dict) else None
    if was is not None and was != described["optimizers"]:     # points from before several optimizers have none
        raise UserError(f"the run trained with the optimizers {', '.join(was)}, and this project has "
                        f"{', '.join(described['optimizers'])}.", fix=_FIX_PROJECT)
    if state["solvers"] != n_solvers:
        raise UserError("the project's learning-rate multipliers differ from the resumed run's.", fix=_FIX_PROJECT)
    for i in range(n_solvers):
        h5_arrays(os.path.join(folder, RunFolder.resume_solver_name(i)), values=False)
    for k in state.get("gradients", []):
        if not isinstance(k, int) or not 0 <= k < len(described["optimizers"]):
            raise damaged(os.path.join(folder, STATE), f"'gradients' names optimizer {k!r}, which the run has not")
        h5_arrays(os.path.join(folder, RunFolder.resume_gradients_name(k)), values=False)
    if isinstance(recorded, dict):      # resume points from before this record are compared by parameters only
        _compare_record(recorded, described, in_epoch=state.get("in_epoch") is not None)
    _check_epochs(run, state, project.training.max_epoch)
    return folder


def _compare_parameters(saved: Dict[str, List[int]], here: Dict[str, List[int]]) -> None:
    problems = [f"'{k}' is {saved[k]} there and {here[k]} here" for k in sorted(set(saved) & set(here))
                if list(saved[k]) != list(here[k])]
    problems += [f"'{k}' is only in the run" for k in sorted(set(saved) - set(here))]
    problems += [f"'{k}' is only in this project" for k in sorted(set(here) - set(saved))]
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise UserError(f"the run's parameters do not match this project's network: {shown}.", fix=_FIX_PROJECT)


def _compare_record(recorded: Dict, here: Dict, in_epoch: bool) -> None:
    for name, was in sorted(recorded.get("datasets", {}).items()):
        now = here["datasets"].get(name)
        if now is None:
            raise UserError(f"the run trained with a `{name}` dataset ({was['csv']}) and this project has none.",
                            fix=_FIX_PROJECT)
        if now["csv"] != was["csv"] or now["samples"] != was["samples"]:
            raise UserError(f"dataset '{name}' is {now['csv']} ({now['samples']} samples) here, but the run used "
                            f"{was['csv']} ({was['samples']} samples).",
                            fix="resume with the run's datasets (its project.yaml names them), or start a new run.")
    extra = sorted(set(here["datasets"]) - set(recorded.get("datasets", {})))
    if extra:
        raise UserError(f"this project has a `{extra[0]}` dataset that the run did not have.", fix=_FIX_PROJECT)
    was, now = recorded.get("context"), here["context"]
    if was is not None and was != now:
        raise UserError(f"the run trained on {was['backend']} device {was['device_id']}, and this resume would "
                        f"continue on {now['backend']} device {now['device_id']}.",
                        fix=f"resume with --context {was['backend']} --device-id {was['device_id']}.")
    was_files = recorded.get("w_files", {})
    for key in sorted(set(was_files) | set(here["w_files"])):
        if was_files.get(key) != here["w_files"].get(key):
            layer, prop = key.rsplit(".", 1)
            raise UserError(f"layer '{layer}' reads `{prop}` from {here['w_files'].get(key, 'no file')} here, but "
                            f"the run read it from {was_files.get(key, 'no file')}.", fix=_FIX_PROJECT)
    if in_epoch and recorded.get("batch_size") != here["batch_size"]:
        raise UserError(f"the run stopped inside an epoch with batch_size {recorded.get('batch_size')}, and this "
                        f"project has batch_size {here['batch_size']}: the iteration it reached means nothing here.",
                        fix=f"resume with batch_size: {recorded.get('batch_size')}.")


def _check_epochs(run: RunFolder, state: Dict, max_epoch: int) -> None:
    finished = state["epoch"]
    if max_epoch < finished or (max_epoch == finished and _completed(run, finished)):
        raise UserError(f"the run has already trained {finished} epochs, so {max_epoch} epochs "
                        f"(training.max_epoch or --epochs) leaves nothing to train.",
                        fix=f"give --epochs {finished + 1} or more to train further.")


def _completed(run: RunFolder, finished: int) -> bool:
    """Whether result.json reports the run ending at `finished` epochs (else it was killed before the end)."""
    try:
        with open(run.existing(run.RESULT), encoding="utf-8") as f:
            result = json.load(f)
        return result["epochs"] == finished and result["final"]["epoch"] == finished
    except (OSError, ValueError, KeyError, TypeError):
        return False
