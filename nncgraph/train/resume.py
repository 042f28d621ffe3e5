"""Resume points: everything needed to continue a run exactly where it stopped.

After each epoch's training the trainer writes checkpoints/resume/ as one
unit (a temporary folder renamed over the old one): the parameters, each
solver's state (Adam moments, step counts), the shuffling generator's state,
the finished metrics rows, the epoch's own row (its validation is re-run on
resume), the best error so far, and what the run was (resume_check.describe_run),
so that a resume with another project is refused before anything is written.
Inside a long epoch it also writes one every `training.resume_every` minutes:
then `in_epoch` holds the epoch, the iterations done and each optimizer's summed
cost/error, and the generator state is the one from the epoch's start, so the
epoch's permutations are drawn again identically. An optimizer inside an update
interval (update_interval > 1) also leaves the gradients summed so far. The schedule needs no state:
the learning rate is a function of the epoch and iteration. Dropout masks drawn
by nnabla's C++ generator cannot be captured, so a network with Dropout (seed
-1) resumes with different masks from then on.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..atomic_files import os_error, remove_quietly, temporary_path
from ..finite_checks import check_saved_parameters
from ..run_files import damaged, detail_of, h5_arrays
from .resume_check import STATE, find_resume_point, read_state
from .run_folder import RunFolder


def save_resume_point(run, live, optimizers: List, rng_state: tuple, rows: List[Dict],
                      pending: Optional[Dict], best: Dict, described: Dict,
                      in_epoch: Optional[Dict] = None, accumulating: Sequence[int] = ()) -> None:
    """`live`: the parameters (engines' Parameters); `optimizers`: the engine's, whose solver states are
    saved; `pending`: the last trained epoch's row, whose validation is still to come (None inside an epoch,
    where the trainer has finished it); `in_epoch`: {"epoch", "iteration", "totals"} of a partial epoch;
    `accumulating`: the optimizers inside an update interval, whose summed gradients are saved too."""
    from ..engines.parameter_file import parameters_h5

    final = run.file(RunFolder.CHECKPOINTS, RunFolder.RESUME)
    check_saved_parameters(live, final)     # a resume point of NaN weights would resume into nothing
    tmp = temporary_path(final)
    kind, keys, pos, has_gauss, cached = rng_state
    finished = in_epoch["epoch"] - 1 if in_epoch else pending["epoch"]
    state = {"epoch": finished, "rows": rows,
             "pending": None if pending is None else {k: v for k, v in pending.items() if not k.startswith("_")},
             "in_epoch": in_epoch, "run": described,
             "best": best, "rng": {"kind": kind, "keys": keys.tolist(), "pos": pos, "has_gauss": has_gauss,
                                   "cached": cached}, "solvers": sum(o.n_states for o in optimizers),
             "gradients": list(accumulating)}
    old = final + ".old"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        files = {RunFolder.RESUME_PARAMETERS: parameters_h5(live)}      # HDF5 writes to memory, we to the disk
        states = [data for optimizer in optimizers for data in optimizer.states()]
        files.update({RunFolder.resume_solver_name(i): data for i, data in enumerate(states)})
        files.update({RunFolder.resume_gradients_name(k): parameters_h5(optimizers[k].gradients())
                      for k in accumulating})
        for name, data in files.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        with open(os.path.join(tmp, STATE), "w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(final):
            shutil.rmtree(old, ignore_errors=True)      # a stale .old: `final` is the point to keep
            os.replace(final, old)      # a directory cannot be replaced in one rename; keep the old until then
        os.replace(tmp, final)
    except OSError as exc:      # a full disk: the previous point stays (as `final`, or as `.old` that resume reads)
        remove_quietly(tmp)
        raise os_error(exc, final, "write") from None
    shutil.rmtree(old, ignore_errors=True)


def load_resume_point(run, engine, optimizers: List, rng: np.random.RandomState) -> Dict:
    """Load parameters (into `engine`), solver states and the generator; returns the saved state.

    resume_check.check_resume_point has vetted the point; the files are read again here, and damage
    that only a full read finds (truncated arrays) is still reported naming the file."""
    folder = find_resume_point(run.path)
    state = read_state(folder)
    path = os.path.join(folder, RunFolder.RESUME_PARAMETERS)
    try:
        engine.load_parameters(path)
        first = 0
        for optimizer in optimizers:      # a damaged state file is reported by the engine, naming it
            optimizer.load_states([os.path.join(folder, RunFolder.resume_solver_name(first + i))
                                   for i in range(optimizer.n_states)])
            first += optimizer.n_states
        for k in state.get("gradients", []):       # the gradients summed so far in an update interval
            path = os.path.join(folder, RunFolder.resume_gradients_name(k))
            optimizers[k].set_gradients(h5_arrays(path))
        path = os.path.join(folder, STATE)
        r = state["rng"]
        rng.set_state((r["kind"], np.array(r["keys"], dtype=np.uint32), r["pos"], r["has_gauss"], r["cached"]))
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise damaged(path, detail_of(exc)) from None
    return state


class ResumeTimer:
    """When the next in-epoch resume point is due: `training.resume_every` minutes after the last one."""

    def __init__(self, minutes: float):
        self.seconds = minutes * 60.0
        self.reset()

    def reset(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.seconds
