"""NNC's optimizers and learning-rate schedulers: the one table of their facts.

The loader's validation and defaults (project/sections.py), the JSON Schema,
training (train/optimizer.py, train/schedule.py), nnabla's files
(interop/nnp_export.py, nnp_import.py), the .sdcproj import and the tables
in docs/project-file.md all read it. An optimizer's `type` is NNC's
SolverName, which is also nnabla's solver class (nnabla.solvers.<type>) and
its proto `Solver.type`; a hyper-parameter is NNC's name snake_cased
(LearningRate -> learning_rate), passed to nnabla as its argument, which is
also the field of the solver's proto message (adam_param.eps). Values follow
NNC's solver list (nnc-reference/solver_component.txt).

Nothing here imports nnabla: `check` and `render` read this table.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Tuple


def snake_case(nnc_name: str) -> str:
    """NNC's parameter name as the project file writes it: LearningRate, "Weight Decay" -> weight_decay."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", nnc_name.replace(" ", "")).lower()


@dataclass(frozen=True)
class Hyper:
    """One hyper-parameter of an optimizer."""
    nnc: str          # NNC's name (SolverParameterName_i in a .sdcproj)
    nnabla: str       # nnabla's argument and the field of the proto message
    default: float

    @property
    def name(self) -> str:
        return snake_case(self.nnc)


# How `weight_decay` reaches the parameters.
L2 = "L2"                   # solver.weight_decay(rate) adds rate * w to every gradient before the update
DECOUPLED = "decoupled"     # the solver's own argument: its update shrinks w apart from the gradient
L2_DECAY = Hyper("WeightDecay", "weight_decay", 0.0)    # NNC's [Optimizer] WeightDecay; proto Solver.weight_decay


@dataclass(frozen=True)
class Optimizer:
    type: str                    # NNC's SolverName = nnabla.solvers.<type> = proto Solver.type
    message: str                 # the proto Solver's field that holds the parameters
    params: Tuple[Hyper, ...]    # in NNC's order; the first is the learning rate that schedulers scale
    decay: Hyper = L2_DECAY      # where `weight_decay` goes: L2_DECAY, or the solver's own (decoupled)

    @property
    def rate(self) -> Hyper:
        return self.params[0]

    @property
    def decay_kind(self) -> str:
        return L2 if self.decay == L2_DECAY else DECOUPLED


def _rate(default: float) -> Hyper:
    return Hyper("LearningRate", "lr", default)


def _adam(kind: str, message: str, alpha: float = 0.001, **decay) -> Optimizer:
    return Optimizer(kind, message, (Hyper("Alpha", "alpha", alpha), Hyper("Beta1", "beta1", 0.9),
                                     Hyper("Beta2", "beta2", 0.999), Hyper("Epsilon", "eps", 1e-8)), **decay)


OPTIMIZERS: Dict[str, Optimizer] = {o.type: o for o in (
    Optimizer("Sgd", "sgd_param", (_rate(0.01),)),
    Optimizer("Momentum", "momentum_param", (_rate(0.01), Hyper("Momentum", "momentum", 0.9))),
    Optimizer("Nesterov", "nesterov_param", (_rate(0.01), Hyper("Momentum", "momentum", 0.9))),
    _adam("Adam", "adam_param"),
    _adam("AdamW", "adamw_param", decay=Hyper("Weight Decay", "wd", 0.0001)),   # Loshchilov & Hutter
    _adam("AMSGRAD", "amsgrad_param"),
    _adam("Adamax", "adamax_param", alpha=0.002),
    Optimizer("RMSprop", "rmsprop_param", (_rate(0.001), Hyper("Decay", "decay", 0.9), Hyper("Epsilon", "eps", 1e-8))),
    Optimizer("Adagrad", "adagrad_param", (_rate(0.01), Hyper("Epsilon", "eps", 1e-8))),
    Optimizer("Adadelta", "adadelta_param", (_rate(1.0), Hyper("Decay", "decay", 0.95),
                                             Hyper("Epsilon", "eps", 1e-6))),
)}
DEFAULT_OPTIMIZER = "Adam"      # NNC's default solver


@dataclass(frozen=True)
class ScheduleParam:
    name: str
    kind: str                    # a project-file kind (layers/base.py Prop): float, pints
    default: Any
    doc: str
    nnc: str = ""                # NNC's [Optimizer] key, where NNC has one
    nnabla: str = ""             # the field of nnabla's scheduler message; "" where nnabla has none
    epochs: bool = False         # counted in epochs here, in iterations by nnabla
    nnabla_lacks: str = ""       # for "": what nnabla's scheduler does instead (a value off the default is refused)


@dataclass(frozen=True)
class Scheduler:
    type: str                    # NNC's LearningRateScheduler = nnabla's lr_scheduler_type
    message: str                 # the proto Solver's field that holds its parameters
    params: Tuple[ScheduleParam, ...]
    decay: Callable[[Dict[str, Any], float, int], float]   # (params, epochs done, max_epoch) -> factor on the rate
    formula: str                 # the rate at epoch e, for the docs
    span_field: str = ""         # the message's field for the whole training in iterations
    interval_field: str = ""     # the message's field for one epoch in iterations


def _fraction(progress: float, max_epoch: int) -> float:
    return min(max(progress / max_epoch, 0.0), 1.0)


def _cosine(p, progress, max_epoch):
    low = p["min_rate"]
    return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * _fraction(progress, max_epoch)))


_MULTIPLIER = dict(nnc="LearningRateMultiplier", nnabla="gamma")
SCHEDULERS: Dict[str, Scheduler] = {s.type: s for s in (
    Scheduler("Step", "step_scheduler_param",
              (ScheduleParam("multiplier", "float", 0.1, "Factor applied at each step.", **_MULTIPLIER),
               ScheduleParam("steps", "pints", [5], "Epochs at which the rate is multiplied.",
                             nnc="LearningRateSteps", nnabla="iter_steps", epochs=True)),
              lambda p, progress, _: p["multiplier"] ** sum(1 for s in p["steps"] if progress >= s),
              "base × multiplier^(number of steps ≤ e)"),
    Scheduler("Exponential", "exponential_scheduler_param",
              (ScheduleParam("multiplier", "float", 0.9, "Factor applied after every epoch.", **_MULTIPLIER),),
              lambda p, progress, _: p["multiplier"] ** math.floor(progress),
              "base × multiplier^floor(e)", interval_field="iter_interval"),
    Scheduler("Cosine", "cosine_scheduler_param",
              (ScheduleParam("min_rate", "float", 0.0, "Rate reached at the last epoch, as a fraction of the base.",
                             nnabla_lacks="always decays to 0"),),
              _cosine, "base × (min + (1 − min)(1 + cos(π e / max_epoch)) / 2)", span_field="max_iter"),
    Scheduler("Polynomial", "polynomial_scheduler_param",
              (ScheduleParam("power", "float", 1.0, "Exponent of (1 - progress).", nnc="LearningRatePower",
                             nnabla="power"),),
              lambda p, progress, max_epoch: (1 - _fraction(progress, max_epoch)) ** p["power"],
              "base × (1 − e / max_epoch)^power", span_field="max_iter"),
)}
# Any scheduler may start with a linear warm-up: nnabla's lr_warmup_scheduler_type Linear.
WARMUP = ScheduleParam("warmup_epochs", "float", 0.0, "Linear warm-up from 0 to the base rate over this many epochs.",
                       nnc="LearningRateWarmupLength", nnabla="warmup_iter", epochs=True)
WARMUP_TYPE, WARMUP_MESSAGE = "Linear", "linear_warmup_scheduler_param"


# -- the tables of docs/project-file.md -------------------------------------------------------------------
DOCS_BEGIN = "<!-- generated from nncgraph/optimizers.py: python -m nncgraph.optimizers docs/project-file.md -->"
DOCS_END = "<!-- end of generated tables -->"


def _number(value) -> str:
    return f"{value:g}".replace("e-0", "e-") if isinstance(value, float) else str(value)


def _hyper(h: Hyper) -> str:
    return f"`{h.name}` {_number(h.default)}"


def docs_markdown() -> str:
    """The optimizer and scheduler tables of docs/project-file.md."""
    lines = ["| type | parameters (defaults) | `weight_decay` | nnabla solver; message in .nntxt |",
             "|---|---|---|---|"]
    for o in OPTIMIZERS.values():
        decay = (f"L2, default {_number(o.decay.default)}" if o.decay_kind == L2 else
                 f"decoupled (`{o.decay.nnabla}`), default {_number(o.decay.default)}")
        args = ", ".join(h.nnabla for h in o.params + ((o.decay,) if o.decay_kind == DECOUPLED else ()))
        lines.append(f"| {o.type} | {', '.join(_hyper(h) for h in o.params)} | {decay} | "
                     f"`{o.type}({args})`; `{o.message}` |")
    decoupled = [o for o in OPTIMIZERS.values() if o.decay_kind == DECOUPLED]
    lines += ["", "In NNC (a .sdcproj's SolverParameterName) they are " +
              ", ".join(sorted({f"{h.nnc} (`{h.name}`)" for o in OPTIMIZERS.values() for h in o.params})) +
              f"; `weight_decay` is NNC's {L2_DECAY.nnc}, or the solver's own parameter " +
              " or ".join(sorted({f'"{o.decay.nnc}"' for o in decoupled})) +
              f" for {', '.join(o.type for o in decoupled)}.", ""]
    lines += ["| type | parameters (defaults) | rate at epoch e (fractional within an epoch) | NNC's keys | "
              "nnabla message (fields) |", "|---|---|---|---|---|"]
    for s in SCHEDULERS.values():
        params = ", ".join(f"`{p.name}` {_number(p.default)}" for p in s.params)
        nnc = ", ".join(f"{p.nnc} (`{p.name}`)" for p in s.params if p.nnc) or "none"
        fields = ", ".join(f"`{p.name}` → {p.nnabla}" if p.nnabla else f"no `{p.name}`: {p.nnabla_lacks}"
                           for p in s.params)
        lines.append(f"| {s.type} | {params} | {s.formula} | {nnc} | `{s.message}` ({fields}) |")
    lines += ["", f"`warmup_epochs` is NNC's {WARMUP.nnc} and nnabla's {WARMUP_TYPE} warm-up "
                  f"(`{WARMUP_MESSAGE}.{WARMUP.nnabla}`)."]
    return "\n".join(lines) + "\n"


def with_docs_tables(text: str) -> str:
    """`text` (docs/project-file.md) with its generated tables replaced by the current ones."""
    head, rest = text.split(DOCS_BEGIN + "\n", 1)
    _, tail = rest.split(DOCS_END, 1)
    return head + DOCS_BEGIN + "\n" + docs_markdown() + DOCS_END + tail


if __name__ == "__main__":       # `make docs`
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        current = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(with_docs_tables(current))
