"""The typed project: what the loader produces and every later stage reads."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..errors import Location


@dataclass
class LayerSpec:
    type: str
    name: str
    props: Dict[str, Any]            # as written by the user, type-checked (`$` values: once substituted)
    inputs: Optional[List[str]]      # None: the previous layer
    location: Location
    prop_locations: Dict[str, Location] = field(default_factory=dict)     # where each property was written


@dataclass(frozen=True)
class ArgumentValue:
    """A `$` value in a layer (`$maps`, `$maps * 2`, `$input_shape[0]`), as written: its layer's value is
    known, and checked, once the expansion substitutes a unit instance's arguments or, for
    `$input_shape`, knows the layer's input (graph/expand.py)."""

    written: str
    where: Location

    def __repr__(self) -> str:      # if one is ever shown, show what the user wrote
        return self.written


def holds_argument(value: Any) -> bool:
    if isinstance(value, ArgumentValue):
        return True
    if isinstance(value, (list, tuple)):
        return any(holds_argument(v) for v in value)
    return isinstance(value, dict) and any(holds_argument(v) for v in value.values())


@dataclass
class UnitSpec:
    """A reusable sub-network with arguments (NNC's Unit + Argument layers)."""

    name: str
    args: Dict[str, Any]             # argument -> default (None: required)
    inputs: List[str]                # names the body's `input:` can use for the unit's inputs
    layers: List[LayerSpec]          # the body, typed; values holding ArgumentValues wait for an instance
    output: Optional[str]            # the layer whose output the unit returns (default: the last)
    location: Location


@dataclass
class DatasetSpec:
    name: str
    csv: str                         # absolute path
    csv_as_written: str
    shuffle: bool
    image_normalization: bool
    location: Location


@dataclass
class OptimizerSpec:
    type: str
    params: Dict[str, float]         # NNC names, defaults filled
    weight_decay: float


@dataclass
class SchedulerSpec:
    type: Optional[str]              # None: constant rate
    params: Dict[str, Any]
    warmup_epochs: float


@dataclass
class OptimizerEntry:
    """One of NNC's optimizers: a network, the dataset it trains on, its solver, schedule and update interval.
    Run in the order of `training.optimizers` within each iteration, as nnabla_cli's does."""

    name: str
    network: str
    dataset: str                     # the key of `datasets:` it reads
    optimizer: OptimizerSpec
    lr_scheduler: SchedulerSpec
    update_interval: int             # an update every this many iterations, gradients summed in between
    location: Optional[Location] = None


@dataclass
class TrainingSpec:
    max_epoch: int
    batch_size: int
    monitor_interval: int
    save_best: bool
    seed: int
    train_error: str
    optimizers: List[OptimizerEntry]     # at least one; the first one's network and dataset are the run's own
    resume_every: float = 10.0       # minutes between in-epoch resume points

    # The first optimizer is the run's main one: its network is what evaluate, infer, export and the report
    # use (NNC's Main), its dataset defines the epoch, its schedule is the learning_rate column.
    @property
    def network(self) -> str:
        return self.optimizers[0].network

    @property
    def optimizer(self) -> OptimizerSpec:
        return self.optimizers[0].optimizer

    @property
    def lr_scheduler(self) -> SchedulerSpec:
        return self.optimizers[0].lr_scheduler

    @property
    def networks(self) -> List[str]:
        """The networks the optimizers train, each once, in their order (the main one first)."""
        return list(dict.fromkeys(o.network for o in self.optimizers))


@dataclass
class ContextSpec:
    backend: str
    device_id: int
    precision: str


@dataclass(frozen=True)
class EvaluationSpec:
    """How `evaluate` and `infer` run the runtime network: NNC's executor (project/sections.py)."""

    num_evaluations: int = 1
    repeat: str = "mean"             # mean | last


@dataclass
class InitFromSpec:
    """Transfer learning: parameters to start from (train/init_from.py)."""

    path: str                        # absolute: a run folder or an nnabla .h5 file
    mapping: Dict[str, str]          # target-name pattern -> source-name pattern
    location: Location


@dataclass
class Project:
    name: str
    path: str
    datasets: Dict[str, DatasetSpec]
    networks: Dict[str, List[LayerSpec]]
    network_locations: Dict[str, Location]
    training: TrainingSpec
    context: ContextSpec
    units: Dict[str, UnitSpec] = field(default_factory=dict)
    init_from: Optional[InitFromSpec] = None
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)
    locations: Dict[str, Location] = field(default_factory=dict)   # section -> where
