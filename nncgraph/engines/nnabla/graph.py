"""Build one variant's nnabla graph, once, for a fixed batch size.

Parameters live in nnabla's parameter registry under each layer's
`parameter_scope`, so the training and validation graphs built from one
network share them, and layers with the same scope share theirs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from ...graph.shape_pass import InferredGraph
from ...layers.base import EmitContext
from ...layers.io import is_generated
from .parameters import create_parameters


@dataclass
class CompiledGraph:
    inferred: InferredGraph
    batch_size: int
    inputs: Dict[str, Any]                  # dataset variable -> nn.Variable (inputs and targets)
    outputs: Dict[str, Any]                 # node name -> nn.Variable
    generated: Dict[str, Any] = field(default_factory=dict)     # generator Input's name -> nn.Variable
    losses: List[Tuple[Any, Any]] = field(default_factory=list)   # (NodeInfo, per-sample loss variable)
    metrics: List[Tuple[Any, Any]] = field(default_factory=list)
    loss: Any = None                        # scalar to minimize (training only)

    def prediction(self, node_info):
        """The variable a loss/metric compares with its target."""
        return self.outputs[node_info.node.inputs[0]]


def emit_context(train: bool, batch_size: int = 0) -> EmitContext:
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.initializer as I
    import nnabla.parametric_functions as PF

    return EmitContext(nn=nn, F=F, PF=PF, I=I, train=train, batch_size=batch_size)


def compile_graph(inferred: InferredGraph, batch_size: int, base_dir: str = ".") -> CompiledGraph:
    """`base_dir` resolves relative parameter files (`w_file`): the project file's folder."""
    import nnabla as nn
    import nnabla.functions as F

    ctx = emit_context(train=inferred.variant == "training", batch_size=batch_size)
    inputs: Dict[str, Any] = {}
    outputs: Dict[str, Any] = {}
    compiled = CompiledGraph(inferred, batch_size, inputs, outputs)

    def data_variable(name, shape):
        if name not in inputs:
            inputs[name] = nn.Variable((batch_size, *shape))
        return inputs[name]

    for info in inferred.ordered():
        node, layer = info.node, info.node.layer
        if is_generated(node):      # its own variable: two generator inputs never share their draws
            outputs[node.name] = compiled.generated[node.name] = nn.Variable((batch_size, *info.out_shape))
            continue
        if layer.role == "input":
            outputs[node.name] = data_variable(node.props["dataset"], info.out_shape)
            continue
        args = [outputs[i] for i in node.inputs]
        if layer.role in ("loss", "metric"):
            target_shape = layer.target_shape(info.in_shapes[0], node.props)
            args.append(data_variable(node.props["target"], target_shape))
        create_parameters(info, base_dir)
        scope = node.props.get("parameter_scope")
        if scope:
            with nn.parameter_scope(scope):
                out = layer.emit(ctx, args, node.props)
        else:
            out = layer.emit(ctx, args, node.props)
        outputs[node.name] = out
        if layer.role == "loss":
            compiled.losses.append((info, out))
        elif layer.role == "metric":
            compiled.metrics.append((info, out))
    if compiled.losses:
        means = [F.mean(v) for _, v in compiled.losses]
        compiled.loss = means[0] if len(means) == 1 else F.add_n(*means)
    return compiled
