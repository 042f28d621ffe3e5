"""The engine boundary: what the trainer and the evaluator ask of a tensor library.

Everything on this side speaks NumPy arrays and NNC names: a batch is
{dataset variable: float32 array of batch_size rows}; a parameter is named as
in the project ("conv1/conv/W"); a layer is named by its node. Behind it an
engine owns its compute context, its parameter store, the lowering of an
inferred graph (graph/) to its own ops, its solvers and its step loop.
docs/design-notes.md ("The engine boundary") says what is on which side and why.

An Optimizer pairs one compiled network (the sum of its losses) with one NNC
optimizer; a project with several optimizers makes several, each over its own
network, sharing parameters by name through the engine's store, and the trainer
steps them in order. `gradients` and `forward(outputs=...)` serve Grad-CAM and
per-layer statistics.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..graph.shape_pass import InferredGraph
from ..project.model import OptimizerSpec
from .generated import Draws
from .parameter_file import Parameters

# dataset variable (and generator Input, by its name) -> float32 array, batch_size rows
Batch = Mapping[str, np.ndarray]


class Executor(ABC):
    """One variant of one network, compiled once for a fixed batch size."""

    graph: InferredGraph
    batch_size: int
    inputs: Dict[str, Tuple[int, ...]]      # dataset variable (inputs and targets) -> sample shape
    # the generator inputs' values for a batch (generated.py); every batch holds them beside `inputs`
    draws: Draws

    @abstractmethod
    def forward(self, batch: Batch, outputs: Sequence[str]) -> Dict[str, np.ndarray]:
        """The named nodes' outputs (batch_size rows each, copies) for one batch. Any node can be
        named, so this also gives intermediate activations (per-layer statistics)."""

    @abstractmethod
    def monitor(self, batch: Batch) -> np.ndarray:
        """Per-sample (cost, error), shape (batch_size, 2), as train/evaluation.py defines them;
        only for a variant with a loss."""

    @abstractmethod
    def gradients(self, batch: Batch, of: str, wrt: Sequence[str],
                  output_grad: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """d(of)/d(layer) for each layer in `wrt`: the gradient of node `of`'s output, weighted by
        `output_grad` (its shape; ones when None, e.g. a one-hot class for Grad-CAM), with respect
        to each named node's output. Parameter values are left as they were (their gradients are
        scratch: an optimizer step clears them first)."""

    @abstractmethod
    def parameters(self) -> Parameters:
        """The values of the parameters this network uses (copies), by NNC name."""

    @abstractmethod
    def set_parameters(self, values: Mapping[str, np.ndarray]) -> None:
        """Overwrite the named parameters of this network (each must exist, with its shape)."""


class Optimizer(ABC):
    """One NNC optimizer over one network and its loss: the step loop's forward, backward, update."""

    executor: Executor
    n_states: int           # how many files states() gives

    @abstractmethod
    def step(self, batch: Batch, learning_rate: float, clear: bool = True, update: bool = True) -> np.ndarray:
        """One forward and backward pass, the gradients added to those of its parameters; `clear`: zero
        them first (the first iteration of an update interval), `update`: then update at `learning_rate`
        (per-parameter multipliers applied inside; its last iteration). Returns the batch's per-sample
        (cost, error) from the same forward pass, shape (batch_size, 2)."""

    @abstractmethod
    def gradients(self) -> Parameters:
        """The gradients its parameters hold (summed since the last `clear`), for a resume point taken
        inside an update interval."""

    @abstractmethod
    def set_gradients(self, values: Mapping[str, np.ndarray]) -> None:
        """Restore `gradients()`."""

    @abstractmethod
    def trained_parameters(self) -> Parameters:
        """The values of the parameters this optimizer updates."""

    @abstractmethod
    def states(self) -> List[bytes]:
        """Its solver states (moments, step counts), one file each, for a resume point."""

    @abstractmethod
    def load_states(self, paths: Sequence[str]) -> None:
        """Restore `states()` from files, in the same order."""


class Engine(ABC):
    """A compute context and one parameter store; networks compiled on it share parameters by name."""

    name: str

    @abstractmethod
    def check_supported(self, graph) -> None:
        """Refuse (UserError on the layer) what this engine cannot run on its backend."""

    @abstractmethod
    def compile(self, graph: InferredGraph, batch_size: int, base_dir: str = ".",
                private: bool = False) -> Executor:
        """Lower one inferred variant. Parameters are created from their NNC initializers (or
        `w_file`, relative to `base_dir`) unless the store holds them by name already. `private`:
        on a copy of the parameters of its own (validation beside training on a snapshot)."""

    @abstractmethod
    def optimizer(self, executor: Executor, spec: OptimizerSpec) -> Optimizer:
        """`spec` (training.optimizer) over the trainable parameters of `executor`'s network."""

    @abstractmethod
    def parameters(self) -> Parameters:
        """Every parameter in the store (not the private copies), by NNC name."""

    @abstractmethod
    def load_parameters(self, path: str) -> Dict[str, Tuple[int, ...]]:
        """Load a parameter file (.h5, parameter_file.py) into the store by NNC name, before or after
        compiling; returns the shape of every parameter the store then holds."""
