"""nnabla solvers for an NNC optimizer spec (the table is nncgraph/optimizers.py)."""
from __future__ import annotations

from ...optimizers import L2, OPTIMIZERS
from ...project.model import OptimizerSpec


def make_solver(spec: OptimizerSpec):
    import nnabla.solvers as S

    table = OPTIMIZERS[spec.type]
    kwargs = {h.nnabla: spec.params[h.name] for h in table.params}
    if table.decay_kind != L2:
        kwargs[table.decay.nnabla] = spec.weight_decay       # decoupled decay lives inside the solver
    return getattr(S, table.type)(**kwargs)


def make_solvers(spec: OptimizerSpec, trainable: dict, multipliers: dict) -> list:
    """[(multiplier, solver)]: one solver per distinct learning-rate multiplier (frozen ones: none)."""
    groups = {}
    for name, var in trainable.items():
        m = multipliers.get(name, 1.0)
        if m != 0:
            groups.setdefault(m, {})[name] = var
    solvers = []
    for m, params in sorted(groups.items()):
        solver = make_solver(spec)
        solver.set_parameters(params)
        solvers.append((m, solver))
    return solvers
