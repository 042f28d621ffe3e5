"""The nnabla engine: the boundary of engines/base.py on nnabla's graph, parameter registry and solvers.

nnabla keeps one global parameter registry per process, so an engine is the
registry: creating one clears it (the compute context is process-wide too).
Networks compiled on it share parameters by name, as nnabla's parameter scopes
do; a private compile lives under a scope of its own, so its copy (the
snapshot validation reads) is not what training updates.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ...errors import UserError
from ...project.model import ContextSpec, OptimizerSpec
from ...run_files import check_file, damaged, detail_of
from ...train.optimizer import applies_weight_decay, learning_rate_multipliers
from ..base import Batch, Engine, Executor, Optimizer
from ..generated import Draws, generated_inputs
from ..parameter_file import Parameters
from .context import make_context, quiet_nnabla_logging
from .graph import CompiledGraph, compile_graph
from .monitor import attach_monitor
from .solvers import make_solvers
from .solver_states import solver_states_h5

PRIVATE_SCOPE = "_private"


def seed_everything(seed: int) -> None:
    import nnabla as nn

    np.random.seed(seed)          # anything drawing from NumPy's global generator
    nn.random.seed(seed)          # nnabla's generator: initializers (nnabla.random.prng) and Dropout (seed -1)


def load_parameters(path: str) -> None:
    """nnabla's load_parameters on a run's .h5 (into the registry, by name), damage reported naming the file."""
    import nnabla as nn

    check_file(path)
    try:
        nn.load_parameters(path)
    except Exception as exc:
        raise damaged(path, detail_of(exc)) from None


def _values(variables: Mapping) -> Parameters:
    return Parameters({k: v.d.copy() for k, v in variables.items()},
                      {k for k, v in variables.items() if not v.need_grad})


def _no_gradients_for_frozen(loss, variables: Dict, multipliers: Dict[str, float]) -> None:
    """A parameter whose learning-rate multiplier is 0 in this network gets no gradient in it, as
    nnabla_cli's optimizer sets need_grad=False on it (utils/load.py): another network that trains it
    (a GAN's generator seen from the discriminator's network) is not touched. Each graph reads a
    parameter through a variable of its own (nnabla's get_parameter_or_create returns an unlinked one,
    sharing the values), found here by the values it shares."""
    frozen = {hash(variables[name].data): variables[name] for name, m in multipliers.items()
              if m == 0 and name in variables}
    if not frozen:
        return
    leaves = []

    def visit(function):
        leaves.extend(v for v in function.inputs if v.parent is None)

    loss.visit(visit)
    for leaf in leaves:
        owner = frozen.get(hash(leaf.data))
        if owner is not None and leaf.data == owner.data:
            leaf.need_grad = False


class NnablaExecutor(Executor):
    def __init__(self, compiled: CompiledGraph, variables: Dict, seed: int):
        self.compiled, self.graph, self.batch_size = compiled, compiled.inferred, compiled.batch_size
        self.inputs = {name: tuple(var.shape[1:]) for name, var in compiled.inputs.items()}
        self.draws = Draws(generated_inputs(compiled.inferred), compiled.batch_size, seed)
        self.variables = variables       # this network's parameters: name -> nn.Variable
        self._sinks: Dict[Tuple[str, ...], object] = {}

    def feed(self, batch: Batch) -> None:
        for name, var in self.compiled.inputs.items():
            if name in batch:           # a runtime forward has no targets to feed
                var.d = batch[name]
        for name, var in self.compiled.generated.items():
            var.d = batch[name]         # the caller drew them (Draws.at): where in the run decides the values

    def forward(self, batch: Batch, outputs: Sequence[str]) -> Dict[str, np.ndarray]:
        key = tuple(outputs)
        sink = self._sinks.get(key)
        if sink is None:
            import nnabla.functions as F

            variables = [self.compiled.outputs[name] for name in key]
            for var in variables:
                var.persistent = True      # forward(clear_buffer=True) must not free what we read
            sink = self._sinks[key] = variables[0] if len(variables) == 1 else F.sink(*variables)
        self.feed(batch)
        sink.forward(clear_buffer=True)
        return {name: self.compiled.outputs[name].d.copy() for name in key}

    def monitor(self, batch: Batch) -> np.ndarray:
        self.feed(batch)
        self.compiled.monitor.forward(clear_buffer=True)
        return self.compiled.monitor.d

    def gradients(self, batch: Batch, of: str, wrt: Sequence[str],
                  output_grad: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        target = self.compiled.outputs[of]
        layers = [self.compiled.outputs[name] for name in wrt]
        # a layer before every parameter gets a gradient only if the data needs one
        inputs = list(self.compiled.inputs.values()) + list(self.compiled.generated.values())
        before = [var.need_grad for var in inputs]
        try:
            for var in inputs:
                var.need_grad = True
            for var in layers:
                var.persistent = True
            self.feed(batch)
            target.forward(clear_no_need_grad=False)
            for var in layers:
                var.grad.zero()         # gradients of kept variables accumulate across calls
            seed = np.ones(target.shape, np.float32) if output_grad is None else output_grad
            target.backward(grad=seed, clear_buffer=False)
            return {name: self.compiled.outputs[name].g.copy() for name in wrt}
        finally:
            for var, need in zip(inputs, before):
                var.need_grad = need

    def parameters(self) -> Parameters:
        return _values(self.variables)

    def set_parameters(self, values: Mapping[str, np.ndarray]) -> None:
        for name, array in values.items():
            var = self.variables[name]
            if tuple(np.shape(array)) != tuple(var.shape):
                raise ValueError(f"parameter '{name}' has shape {list(var.shape)}, not {list(np.shape(array))}")
            var.d = array


class NnablaOptimizer(Optimizer):
    def __init__(self, executor: NnablaExecutor, spec: OptimizerSpec):
        compiled = executor.compiled
        if compiled.loss is None:
            raise ValueError(f"network '{executor.graph.graph.name}' has no loss to minimize")
        self.executor = executor
        trainable = {k: v for k, v in executor.variables.items() if v.need_grad}   # frozen ones excluded
        # [(learning-rate multiplier, solver)]: one solver per multiplier
        self.solvers = make_solvers(spec, trainable, learning_rate_multipliers(executor.graph))
        self.n_states = len(self.solvers)
        self.decay = spec.weight_decay if applies_weight_decay(spec) else 0.0

    def step(self, batch: Batch, learning_rate: float, clear: bool = True, update: bool = True) -> np.ndarray:
        # nnabla_cli's order (utils/cli/train.py _update): forward, zero the gradients at the start of an
        # update interval, backward (adding to them), and at its end decay and update
        compiled = self.executor.compiled
        self.executor.feed(batch)
        compiled.step.forward(clear_no_need_grad=True)
        if clear:
            for _, solver in self.solvers:
                solver.zero_grad()
        compiled.loss.backward(clear_buffer=True)
        if update:
            for multiplier, solver in self.solvers:
                solver.set_learning_rate(learning_rate * multiplier)
                if self.decay:
                    solver.weight_decay(self.decay)
                solver.update()
        return compiled.monitor.d

    def gradients(self) -> Parameters:
        return Parameters({k: v.g.copy() for _, solver in self.solvers for k, v in solver.get_parameters().items()})

    def set_gradients(self, values: Mapping[str, np.ndarray]) -> None:
        for _, solver in self.solvers:
            for name, var in solver.get_parameters().items():
                var.g = values[name]

    def trained_parameters(self) -> Parameters:
        return _values({k: v for _, solver in self.solvers for k, v in solver.get_parameters().items()})

    def states(self) -> List[bytes]:
        return [solver_states_h5(solver) for _, solver in self.solvers]

    def load_states(self, paths: Sequence[str]) -> None:
        for path, (_, solver) in zip(paths, self.solvers):
            try:
                solver.load_states(path)
            except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
                raise damaged(path, detail_of(exc)) from None


class NnablaEngine(Engine):
    name = "nnabla"

    def __init__(self, context: ContextSpec, seed: Optional[int] = None):
        quiet_nnabla_logging()
        import nnabla as nn

        self.backend = context.backend
        nn.set_default_context(make_context(context))
        nn.clear_parameters()
        if seed is not None:
            seed_everything(seed)
        self.seed = seed or 0           # generator inputs draw from it (engines/generated.py)
        self._private = 0

    def check_supported(self, graph) -> None:
        if self.backend != "cpu":
            return
        for node in graph.nodes:
            if node.props.get("channel_last"):
                raise node.error(UserError(
                    "has channel_last: true, which nnabla's CPU kernels cannot run.",
                    fix="use channel_last: false on the CPU, or run with --context cudnn on a GPU."))

    def compile(self, graph, batch_size: int, base_dir: str = ".", private: bool = False) -> NnablaExecutor:
        import nnabla as nn

        prefix = ""
        if private:
            self._private += 1
            prefix = f"{PRIVATE_SCOPE}{self._private}"
            with nn.parameter_scope(prefix):
                compiled = compile_graph(graph, batch_size, base_dir)
            prefix += "/"
        else:
            compiled = compile_graph(graph, batch_size, base_dir)
        if compiled.losses:
            attach_monitor(compiled)
        names = graph.parameters
        variables = {k[len(prefix):]: v for k, v in nn.get_parameters(grad_only=False).items()
                     if k.startswith(prefix) and k[len(prefix):] in names}
        if compiled.loss is not None:
            _no_gradients_for_frozen(compiled.loss, variables, learning_rate_multipliers(graph))
        return NnablaExecutor(compiled, variables, self.seed)

    def optimizer(self, executor: NnablaExecutor, spec: OptimizerSpec) -> NnablaOptimizer:
        return NnablaOptimizer(executor, spec)

    def parameters(self) -> Parameters:
        import nnabla as nn

        return _values({k: v for k, v in nn.get_parameters(grad_only=False).items()
                        if not k.startswith(PRIVATE_SCOPE)})

    def load_parameters(self, path: str) -> Dict[str, Tuple[int, ...]]:
        import nnabla as nn

        load_parameters(path)
        return {k: tuple(v.shape) for k, v in nn.get_parameters(grad_only=False).items()
                if not k.startswith(PRIVATE_SCOPE)}
