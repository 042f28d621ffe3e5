"""`nncgraph search`: ask the study for a candidate, check it, train it (in stages), tell the result.

The same loop runs in every worker process, on one machine or several; the
study (journal file or database) is the only shared state, so workers need
nothing else in common. A candidate comes from the project's declared space
(sampled by the trial) or, when the project declares nothing, from NNC-style
mutation of a Pareto-optimal candidate so far (or of the user's network).
"""
from __future__ import annotations

import os
import random
import socket
import time
from dataclasses import replace
from typing import Callable, Optional

import yaml

from ..atomic_files import make_folder
from ..errors import UserError
from ..finite_checks import NonFiniteError, is_finite_number
from ..project.search_declarations import declarations
from .candidate import absolute_paths, build_candidate, cost_violation
from .settings import SearchSettings
from .space import sample_candidate, validate_declarations

MAX_INVALID_IN_A_ROW = 50          # a space where almost nothing is valid stops instead of spinning


class Invalid(Exception):
    """The candidate fails shape inference or the cost range; it is recorded, never trained."""


def run_search(project_path: str, out: str, settings: SearchSettings, *, storage_url: Optional[str] = None,
               study_name: Optional[str] = None, resume: bool = False, log: Callable = print,
               doc: Optional[dict] = None) -> dict:
    """`doc`: the project as read_project gave it, when the caller has read it already."""
    from ..engines.nnabla.context import quiet_nnabla_logging
    from .fidelity import make_pruner
    from .results import write_results
    from .study import make_sampler, make_storage, open_study

    quiet_nnabla_logging()
    base_dir = os.path.dirname(os.path.abspath(project_path))
    located = doc if doc is not None else read_project(project_path)
    validate_declarations(declarations(located), located)
    raw = plain(located)
    found = declarations(raw)          # sampled values go into plain documents
    mode = "space" if found else "mutation"
    multi = len(settings.directions) > 1
    sampler_name = settings.sampler or (("nsga2" if multi else "tpe") if mode == "space" else "random")
    if mode == "mutation" and sampler_name != "random":
        raise UserError(f"--sampler {sampler_name} samples a declared space, and this project declares none "
                        "(its candidates come from NNC-style random mutation).",
                        fix="declare what may change, e.g. out_maps: {search: [16, 32, 64]}, or use "
                            "--sampler random.")
    base = absolute_paths({k: v for k, v in raw.items() if k != "search"}, base_dir)
    if settings.epochs:
        base.setdefault("training", {})["max_epoch"] = int(settings.epochs)
    _check_base(base, project_path)
    out = os.path.abspath(make_folder(out))
    name = study_name or str(raw.get("name") or os.path.splitext(os.path.basename(project_path))[0])
    constraints = _constraints if settings.error_range != (None, None) else None
    study = open_study(make_storage(storage_url, out), name, settings.directions,
                       make_sampler(sampler_name, len(settings.directions), settings.seed, constraints),
                       make_pruner(settings), resume)
    if resume:
        rerun = recover_interrupted(study, out)
        if rerun:
            log(f"re-running {len(rerun)} trial(s) a killed search left unfinished: {rerun}")
    log(f"study '{name}' ({'declared space' if mode == 'space' else 'NNC-style mutation'}, sampler "
        f"{sampler_name}, objective {settings.objective}) in {out}")
    context = dict(study=study, base=base, found=found, mode=mode, out=out, settings=settings, log=log)
    deadline = time.time() + settings.time_limit if settings.time_limit else None
    invalid_in_a_row = 0
    while _finished_or_running(study) < settings.trials:
        if deadline is not None and time.time() >= deadline:
            log("time limit reached: no new trials")
            break
        if settings.epoch_budget is not None and trained_epochs(study) >= settings.epoch_budget:
            log(f"epoch budget reached ({trained_epochs(study)} of {settings.epoch_budget} epochs): no new trials")
            break
        trial = study.ask()
        trial.set_user_attr("folder", out)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        try:
            candidate, change = _propose(trial, context)
        except Invalid as exc:
            trial.set_user_attr("invalid", str(exc))
            study.tell(trial, state=_state("FAIL"))
            invalid_in_a_row += 1
            if invalid_in_a_row >= MAX_INVALID_IN_A_ROW:
                raise UserError(f"{MAX_INVALID_IN_A_ROW} candidates in a row failed shape inference or the cost "
                                f"range; the last: {exc}", fix="narrow the declared space so that its values "
                                "fit together, or widen the cost range.") from None
            continue
        invalid_in_a_row = 0
        _train_trial(trial, candidate, change, context)
    return write_results(study, out, settings)


def read_project(path: str):
    """The project document with positions (for messages that name the line)."""
    from ..interop.project_files import project_document

    return project_document(path)


def plain(value):
    """Plain dicts and lists (the YAML writer and deep copies need no positions)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _check_base(base: dict, path: str) -> None:
    datasets = base.get("datasets") or {}
    missing = [k for k in ("training", "validation") if k not in datasets]
    if missing:
        raise UserError(f"a search compares validation errors, and '{path}' has no {' or '.join(missing)} dataset.",
                        fix="add datasets: {training: {csv: ...}, validation: {csv: ...}}.")


def _state(name: str):
    import optuna

    return getattr(optuna.trial.TrialState, name)


def _finished_or_running(study) -> int:
    """Trials that count toward --trials: trained (diverged ones too) or training; invalid ones cost nothing
    and an interrupted one is counted by its re-run."""
    states = (_state("COMPLETE"), _state("PRUNED"), _state("RUNNING"), _state("WAITING"), _state("FAIL"))
    return sum(1 for t in study.get_trials(deepcopy=False, states=states) if "invalid" not in t.user_attrs
               and (t.state != _state("FAIL") or "diverged" in t.user_attrs))


def objective_error(result) -> Optional[float]:
    """A trained trial's validation error (its best epoch's, else its last), or None when that is not a
    finite number: NaN compares false and would rank as the best candidate of all."""
    error = result.best_valid_error if result.best_valid_error is not None else result.final.get("valid_error")
    return error if is_finite_number(error) else None


def trained_epochs(study) -> int:
    """Epochs trained by every finished trial of the study (a stopped-early one counts what it trained)."""
    return sum(int(t.user_attrs.get("epochs", 0)) for t in study.get_trials(deepcopy=False)
               if t.state.is_finished())


def _constraints(frozen_trial):
    """Optuna's constraints: values <= 0 are feasible (NNC's Validation_Min/Max)."""
    return frozen_trial.user_attrs.get("constraints", [0.0, 0.0])


def _propose(trial, ctx):
    """(Candidate, what changed) for this trial; raises Invalid."""
    folder = os.path.join(ctx["out"], "trials", f"{trial.number:04d}")
    path = os.path.join(folder, "project.yaml")
    # a re-run of an interrupted trial: a declared space samples its enqueued (fixed) parameters again,
    # so the sampler sees them; a mutated candidate is taken as it was
    preset = trial.user_attrs.get("candidate") if ctx["mode"] == "mutation" else None
    header = f"candidate {trial.number} of structure search '{trial.study.study_name}'"
    if preset is not None:
        doc, change = yaml.safe_load(preset), trial.user_attrs.get("change", "re-run")
    elif ctx["mode"] == "space":
        try:
            doc, chosen = sample_candidate(ctx["base"], trial, ctx["found"])
        except UserError as exc:
            raise Invalid(str(exc)) from None
        change = ", ".join(f"{k}={v}" for k, v in chosen.items())
    else:
        return _mutated(trial, ctx, path, header)
    return _checked(doc, path, header, ctx["settings"]), change


def _checked(doc, path, header, settings):
    try:
        candidate = build_candidate(doc, path, header)
    except UserError as exc:
        raise Invalid(str(exc)) from None
    why = cost_violation(candidate, settings)
    if why:
        raise Invalid(f"outside the cost range: {why}")
    return candidate


def _mutated(trial, ctx, path, header, attempts: int = 50):
    """Mutate a Pareto-optimal candidate (or the user's network) until the result is valid."""
    from .mutation import mutate, network_layers, with_network
    from .results import pareto_trials

    settings = ctx["settings"]
    done = ctx["study"].get_trials(deepcopy=False, states=(_state("COMPLETE"),))
    if not done and trial.number == 0:
        return _checked(ctx["base"], path, header, settings), "the project's own network"
    rng = random.Random(f"{settings.seed}-{trial.number}")
    parents = [(None, ctx["base"])] + [(t.number, yaml.safe_load(t.user_attrs["candidate"]))
                                       for t in pareto_trials(done, settings.cost_key)
                                       if "candidate" in t.user_attrs]
    last = ""
    for _ in range(attempts):
        number, parent = rng.choice(parents)
        layers, changes = mutate(network_layers(parent), rng, count=rng.choice((1, 1, 2)))
        try:
            candidate = _checked(with_network(parent, layers), path, header, settings)
        except Invalid as exc:
            last = str(exc)
            continue
        origin = "the project's network" if number is None else f"trial {number}"
        return candidate, f"from {origin}: " + "; ".join(changes)
    raise Invalid(f"no valid mutation in {attempts} attempts; the last: {last}")


def _train_trial(trial, candidate, change, ctx) -> None:
    from ..atomic_files import atomic_write
    from ..train.run_folder import RunFolder
    from ..train.trainer import train_project
    from .fidelity import STAGE_KEY, promote, stage_population

    settings, study, log = ctx["settings"], ctx["study"], ctx["log"]
    folder = os.path.join(ctx["out"], "trials", f"{trial.number:04d}")
    os.makedirs(folder, exist_ok=True)
    atomic_write(os.path.join(folder, "project.yaml"), candidate.text)
    for key, value in (("candidate", candidate.text), ("change", change), ("macs", candidate.macs),
                       ("params", candidate.params)):
        trial.set_user_attr(key, value)
    project = candidate.project
    max_epoch = project.training.max_epoch
    stages = settings.fidelity.stages(max_epoch) if settings.fidelity else [max_epoch]
    run = RunFolder(os.path.join(folder, "run"))
    started = time.perf_counter()
    pruned, diverged = False, None
    with open(os.path.join(folder, "train.log"), "a", encoding="utf-8") as train_log:
        def quiet(line):
            train_log.write(line + "\n")
            train_log.flush()
        try:
            for i, epochs in enumerate(stages):
                try:        # each stage a new project: the candidate's own stays as built
                    result = train_project(replace(project, training=replace(project.training, max_epoch=epochs)),
                                           run, log=quiet, resume=i > 0)
                except NonFiniteError as exc:       # the candidate diverged: a failed trial, not a score
                    diverged = exc.message
                    quiet(f"stopped: {diverged}")
                    break
                error = objective_error(result)
                if error is None:
                    diverged = f"validation error {result.final.get('valid_error')} is not a finite number"
                    break
                trial.set_user_attr(STAGE_KEY.format(epochs), error)
                trial.set_user_attr("train_error", result.final.get("train_error"))
                trial.set_user_attr("epochs", epochs)
                if epochs == stages[-1]:
                    break
                cost = candidate.params if settings.cost_key == "params" else candidate.macs
                if len(settings.directions) == 1:
                    trial.report(error, epochs)
                    pruned = trial.should_prune()
                else:
                    pruned = not promote((error, cost), stage_population(study, epochs, settings.cost_key,
                                                                         trial.number),
                                         settings.fidelity.reduction_factor)
                if pruned:
                    break
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            study.tell(trial, state=_state("FAIL"))
            _enqueue_rerun(study, trial.number, trial.params, candidate.text, change)
            raise
    seconds = round(time.perf_counter() - started, 1)
    trial.set_user_attr("seconds", seconds)
    if diverged is not None:
        trial.set_user_attr("diverged", diverged)
        study.tell(trial, state=_state("FAIL"))
        log(f"trial {trial.number}: diverged ({diverged}), {seconds} s — {change}")
        return
    trial.set_user_attr("valid_error", error)
    low, high = settings.error_range
    trial.set_user_attr("constraints", [(error - high) if high is not None else 0.0,
                                        (low - error) if low is not None else 0.0])
    cost = candidate.params if settings.cost_key == "params" else candidate.macs
    if pruned:
        study.tell(trial, state=_state("PRUNED"))
    else:
        study.tell(trial, [error] if len(settings.directions) == 1 else [error, cost])
    log(f"trial {trial.number}: valid_error {error:.4f}, {candidate.macs:,} MACs, {candidate.params:,} params, "
        f"{trial.user_attrs['epochs']} epochs{' (stopped early)' if pruned else ''}, {seconds} s — {change}")


def _enqueue_rerun(study, number: int, params: dict, text: str, change: str) -> None:
    study.enqueue_trial(params, user_attrs={"candidate": text, "change": change, "rerun_of": number})


def recover_interrupted(study, out: str):
    """Trials of this folder a killed worker left RUNNING: failed, and queued to run again."""
    rerun = []
    for t in study.get_trials(deepcopy=False, states=(_state("RUNNING"),)):
        if t.user_attrs.get("folder") != out or _alive(t.user_attrs.get("worker", "")):
            continue
        study.tell(t.number, state=_state("FAIL"), skip_if_finished=True)
        if "candidate" in t.user_attrs:
            _enqueue_rerun(study, t.number, t.params, t.user_attrs["candidate"], t.user_attrs.get("change", ""))
        else:
            study.enqueue_trial(t.params, user_attrs={"rerun_of": t.number})
        rerun.append(t.number)
    return rerun


def _alive(worker: str) -> bool:
    """Whether the worker "host:pid" may still be running (another machine's: assume so)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return True
    if not pid.isdigit() or int(pid) == os.getpid():     # a reused pid that is this very process
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
