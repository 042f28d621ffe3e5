"""Resume points: everything needed to continue a run exactly where it stopped.

After each epoch's training the trainer writes checkpoints/resume/ as one
unit (a temporary folder renamed over the old one): the parameters, each
solver's state (Adam moments, step counts), the shuffling generator's state,
the finished metrics rows, the epoch's own row (its validation is re-run on
resume) and the best error so far. The schedule needs no state: the learning
rate is a function of the epoch. Dropout masks drawn by nnabla's C++ generator
cannot be captured, so a network with Dropout (seed -1) resumes with
different masks from then on.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Dict, List

import numpy as np

from ..errors import UserError

FOLDER = "resume"


def save_resume_point(run, live: Dict, solvers: List, rng: np.random.RandomState, rows: List[Dict],
                      pending: Dict, best: Dict) -> None:
    import nnabla as nn

    final = run.file("checkpoints", FOLDER)
    tmp = final + f".tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    nn.save_parameters(os.path.join(tmp, "parameters.h5"), live)
    for i, (_, solver) in enumerate(solvers):
        solver.save_states(os.path.join(tmp, f"solver_{i}.h5"))
    kind, keys, pos, has_gauss, cached = rng.get_state()
    state = {"epoch": pending["epoch"], "rows": rows, "pending": {k: v for k, v in pending.items()
                                                                   if not k.startswith("_")},
             "best": best, "rng": {"kind": kind, "keys": keys.tolist(), "pos": pos, "has_gauss": has_gauss,
                                   "cached": cached}, "solvers": len(solvers)}
    with open(os.path.join(tmp, "state.json"), "w", encoding="utf-8") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    old = final + ".old"
    if os.path.exists(final):
        os.replace(final, old)          # a directory cannot be replaced in one rename; keep the old until then
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def load_resume_point(run, solvers: List, rng: np.random.RandomState) -> Dict:
    """Load parameters, solver states and the generator; returns the saved state (epoch, rows, ...)."""
    import nnabla as nn

    folder = run.file("checkpoints", FOLDER)
    if not os.path.isfile(os.path.join(folder, "state.json")):
        old = folder + ".old"           # killed between the two renames of save_resume_point
        if os.path.isfile(os.path.join(old, "state.json")):
            folder = old
        else:
            raise UserError(f"run folder '{run.path}' has no resume point (checkpoints/{FOLDER}/).",
                            fix="resume a folder written by `nncgraph run` after at least one epoch.")
    with open(os.path.join(folder, "state.json"), encoding="utf-8") as f:
        state = json.load(f)
    if state["solvers"] != len(solvers):
        raise UserError("the project's learning-rate multipliers differ from the resumed run's.",
                        fix="resume with the project the run was started with (its project.yaml).")
    nn.load_parameters(os.path.join(folder, "parameters.h5"))
    for i, (_, solver) in enumerate(solvers):
        solver.load_states(os.path.join(folder, f"solver_{i}.h5"))
    r = state["rng"]
    rng.set_state((r["kind"], np.array(r["keys"], dtype=np.uint32), r["pos"], r["has_gauss"], r["cached"]))
    return state
