"""Create the nnabla solver for an NNC optimizer spec."""
from __future__ import annotations

from ..project.model import OptimizerSpec
from ..project.sections import LEARNING_RATE_PARAM, OPTIMIZERS


def base_learning_rate(spec: OptimizerSpec) -> float:
    return spec.params[LEARNING_RATE_PARAM[spec.type]]


def make_solver(spec: OptimizerSpec):
    import nnabla.solvers as S

    kwargs = {OPTIMIZERS[spec.type][name][0]: value for name, value in spec.params.items()}
    if spec.type == "AdamW":
        kwargs["wd"] = spec.weight_decay       # decoupled decay lives inside the solver
    return getattr(S, spec.type)(**kwargs)


def applies_weight_decay(spec: OptimizerSpec) -> bool:
    """L2 decay through solver.weight_decay(), except where the solver decouples it."""
    return spec.type != "AdamW" and spec.weight_decay > 0
