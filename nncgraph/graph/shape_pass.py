"""The shape + cost pass: every node gets input/output shapes, parameters and
multiply-adds. Pure Python; `nncgraph check` runs only this. Parameters and activation memory are
totalled as it goes, and a network beyond any machine is refused at the layer that crosses the limit
(graph/limits.py), before anything is built."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Tuple

from ..errors import UserError, shown
from ..layers.base import ParamSpec, Shape, size_of
from ..layers.io import is_generated
from ..layers.pins import pinned_parameters
from .ir import Graph
from .limits import SizeTracker, integer_beyond_nnabla
from .node import Node, infer_node_shape


@dataclass(frozen=True)
class NodeInfo:
    node: Node
    in_shapes: Tuple[Shape, ...]
    out_shape: Shape
    params: Tuple[ParamSpec, ...]    # names already under the node's scope
    macs: int

    @property
    def trainable_params(self) -> int:
        return sum(p.size for p in self.params if p.trainable)


@dataclass
class InferredGraph:
    graph: Graph
    variant: str
    info: Dict[str, NodeInfo]

    def ordered(self) -> List[NodeInfo]:
        return [self.info[n.name] for n in self.graph.nodes]

    @property
    def has_loss(self) -> bool:
        """Whether the variant has a loss layer (training, evaluation and nnabla's files need one)."""
        return any(n.layer.role == "loss" for n in self.graph.nodes)

    @property
    def parameters(self) -> Dict[str, ParamSpec]:
        """Unique parameters by full name: a shared scope counts once."""
        out: Dict[str, ParamSpec] = {}
        for info in self.ordered():
            for p in info.params:
                out.setdefault(p.name, p)
        return out

    @property
    def total_params(self) -> int:
        return sum(p.size for p in self.parameters.values() if p.trainable)

    @property
    def total_macs(self) -> int:
        return sum(i.macs for i in self.info.values())

    def target_shapes(self) -> Dict[str, Tuple[Shape, NodeInfo]]:
        """Dataset variables read by losses/metrics, with the expected shape."""
        out = {}
        for info in self.ordered():
            layer = info.node.layer
            if layer.role in ("loss", "metric") and "target" in info.node.props:    # else: a layer's output
                out.setdefault(info.node.props["target"],
                               (layer.target_shape(info.in_shapes[0], info.node.props), info))
        return out


def infer(graph: Graph, variant: str) -> InferredGraph:
    info: Dict[str, NodeInfo] = {}
    sizes = SizeTracker()
    for node in graph.nodes:
        layer = node.layer
        in_shapes = tuple(info[i].out_shape for i in node.inputs)
        out = infer_node_shape(node, in_shapes)
        try:
            params = layer.parameters(in_shapes, node.props)
            if node.pins:       # a linked parameter is the feeding layer's, so this one creates it not
                params = pinned_parameters(node, params, {pin: (info[ref].node.layer, info[ref].out_shape)
                                                          for pin, ref in node.pins.items()})
            macs = layer.macs(in_shapes, out, node.props)
        except UserError as exc:
            raise node.error(exc) from None
        scope = node.props.get("parameter_scope")
        full = tuple(replace(p, name=f"{scope}/{p.name}") for p in params)
        too_large = sizes.add(full, size_of(out)) or integer_beyond_nnabla(node.props)
        if too_large:
            raise node.error(too_large)
        info[node.name] = NodeInfo(node, in_shapes, out, full, macs)
    _check_shared(graph, info)
    _check_data_variables(graph, info)
    return InferredGraph(graph, variant, info)


def _check_data_variables(graph: Graph, info: Dict[str, NodeInfo]) -> None:
    """Layers that read one dataset variable (Inputs' `dataset`, losses' `target`) read it at one shape:
    the compiled graph feeds each variable once, so a second shape would meet the first one's array.
    A batch holds a generator input's values under the Input's name, beside the dataset variables, so
    that name must be no dataset variable's."""
    first: Dict[str, Tuple[Shape, Node, str]] = {}
    generated = {node.name: node for node in graph.nodes if is_generated(node)}
    for node in graph.nodes:
        layer = node.layer
        if node.name in generated:
            continue
        if layer.role == "input":
            key, shape = "dataset", info[node.name].out_shape
        elif layer.role in ("loss", "metric") and "target" in node.props:
            key, shape = "target", tuple(layer.target_shape(info[node.name].in_shapes[0], node.props))
        else:
            continue
        variable = node.props[key]
        if variable in generated:
            raise node.error(UserError(
                f"reads dataset variable {shown(variable)} (its `{key}`), which is also the name of the generator "
                f"input {shown(variable)}: a batch holds both under that name.",
                fix=f"rename the generator input, e.g. `name: {variable}_noise`."))
        if variable not in first:
            first[variable] = (tuple(shape), node, key)
            continue
        other_shape, other, other_key = first[variable]
        if tuple(shape) != other_shape:
            raise node.error(UserError(
                f"reads dataset variable {shown(variable)} (its `{key}`) at shape {list(shape)}, but layer "
                f"{shown(other.name)} reads it (its `{other_key}`) at shape {list(other_shape)}.",
                fix=f"point one of them at another CSV column, e.g. `{key}: y`."))


def _check_shared(graph: Graph, info: Dict[str, NodeInfo]) -> None:
    owner: Dict[str, Tuple[ParamSpec, Node]] = {}
    for node in graph.nodes:
        for p in info[node.name].params:
            if p.name in owner and owner[p.name][0].shape != p.shape:
                other = owner[p.name][1]
                raise node.error(UserError(
                    f"shares parameter '{p.name}' with layer '{other.name}', but needs shape {list(p.shape)} "
                    f"where '{other.name}' has {list(owner[p.name][0].shape)}.",
                    fix="give it its own parameter_scope, or make both layers' inputs the same shape."))
            owner.setdefault(p.name, (p, node))
