"""What training needs of an NNC optimizer spec, whatever the engine: the base learning rate, whether
weight decay is L2 through the solver, the per-parameter learning-rate multipliers. The nnabla solvers
themselves are made in engines/nnabla/solvers.py."""
from __future__ import annotations

from ..optimizers import L2, OPTIMIZERS
from ..project.model import OptimizerSpec


def base_learning_rate(spec: OptimizerSpec) -> float:
    return spec.params[OPTIMIZERS[spec.type].rate.name]


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
