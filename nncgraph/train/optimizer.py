"""Create the nnabla solver for an NNC optimizer spec."""
from __future__ import annotations

from ..optimizers import L2, OPTIMIZERS
from ..project.model import OptimizerSpec


def base_learning_rate(spec: OptimizerSpec) -> float:
    return spec.params[OPTIMIZERS[spec.type].rate.name]


def make_solver(spec: OptimizerSpec):
    import nnabla.solvers as S

    table = OPTIMIZERS[spec.type]
    kwargs = {h.nnabla: spec.params[h.name] for h in table.params}
    if table.decay_kind != L2:
        kwargs[table.decay.nnabla] = spec.weight_decay       # decoupled decay lives inside the solver
    return getattr(S, table.type)(**kwargs)


def applies_weight_decay(spec: OptimizerSpec) -> bool:
    """L2 decay through solver.weight_decay(), except where the solver decouples it."""
    return OPTIMIZERS[spec.type].decay_kind == L2 and spec.weight_decay > 0


def learning_rate_multipliers(inferred) -> dict:
    """Full parameter name -> its NNC LRateMultiplier (1 for layers without the property)."""
    out = {}
    for info in inferred.ordered():
        for spec in info.params:
            key = f"{spec.prop_key}_lrate_multiplier"
            out.setdefault(spec.name, info.node.props.get(key, 1.0))
    return out


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
