"""Graph IR: a network's layers as named nodes in topological order.

Built from the loader's layer list: names are unique, every input names a
layer, default inputs are the previous layer, and there is no cycle.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Dict, List

from ..errors import UserError, did_you_mean, shown
from ..layers import REGISTRY, get_layer
from ..layers.pins import pin_keys
from ..layers.structure import takes_no_input
from ..project.model import LayerSpec
from .node import Node, make_node

MAX_CYCLE_NAMES = 10      # a message names this many layers of a cycle, then counts the rest


@dataclass
class Graph:
    name: str
    nodes: List[Node]                                  # topological order
    by_name: Dict[str, Node] = field(default_factory=dict)

    def __post_init__(self):
        self.by_name = {n.name: n for n in self.nodes}

    def consumers(self, name: str) -> List[Node]:
        return [n for n in self.nodes if name in n.sources]


def network_graph(project, name: str) -> Graph:
    """The graph of one of the project's networks, units and repeats expanded."""
    from .expand import expand_network

    return build_graph(name, expand_network(project.networks[name], project.units))


def build_graph(name: str, specs: List[LayerSpec]) -> Graph:
    seen: Dict[str, LayerSpec] = {}
    for spec in specs:
        if spec.name in seen:
            raise UserError(f"the name '{spec.name}' is used by two layers (the other is at "
                            f"{seen[spec.name].location}).", location=spec.location, layer=spec.name,
                            layer_type=spec.type, fix="give each layer a unique `name`.")
        seen[spec.name] = spec
    nodes = []
    previous = None
    for spec in specs:
        layer = get_layer(spec.type)
        ctx = dict(location=spec.location, layer=spec.name, layer_type=spec.type)
        inputs = spec.inputs
        if inputs is None:
            wants = layer.input_range()[0]
            if takes_no_input(spec.type):
                inputs = []
            elif previous is None:
                raise UserError("has no input: it is the first layer.", **ctx,
                                fix="start the network with an Input layer, or set `input:`.")
            elif wants > 1:
                raise UserError(f"takes {wants} inputs, so `input:` must name them.", **ctx,
                                fix=f"e.g. input: [{previous.name}, <other layer>]")
            else:
                inputs = [previous.name]
        node = make_node(spec, inputs)
        keys = pin_keys(node.layer)
        pins = {ref: f"`{keys[pin]}`" for pin, ref in node.pins.items()}      # what names each pin's layer
        for ref in list(inputs) + [r for r in pins if r not in inputs]:
            what = pins.get(ref, "input")
            if ref not in seen:
                hint = did_you_mean(ref, seen)
                raise UserError(f"{what} {shown(ref)} names no layer of network {shown(name)}.", **ctx,
                                fix=(hint + " " if hint else "") + "use the `name` of a layer in this network.")
            if ref == spec.name:
                raise UserError(f"takes its own output as {what} (a cycle).", **ctx,
                                fix=f"point {what if what != 'input' else '`input:`'} at an earlier layer.")
            source = seen[ref]
            if source.type in REGISTRY and REGISTRY[source.type].role in ("loss", "metric"):
                # the runtime variant drops losses and metrics (the training one, metrics): nothing may read them
                raise UserError(f"reads the output of '{source.name}' ({source.type}), a "
                                f"{REGISTRY[source.type].role}; losses and metrics end a network.", **ctx,
                                fix=f"take the input from the layer that '{source.name}' reads instead.")
        nodes.append(node)
        previous = spec
    return Graph(name, _topological(nodes))


def _topological(nodes: List[Node]) -> List[Node]:
    """Kahn's algorithm, keeping the written order among ready nodes.

    Ready nodes wait in a heap of written positions, so the order is the one a scan for "the first
    ready node" gives, in O(n log n): a scan per node made `check` quadratic in the layer count."""
    waiting = [len(set(n.sources)) for n in nodes]        # inputs (and pins) not yet placed
    readers: Dict[str, List[int]] = {}
    for i, n in enumerate(nodes):
        for ref in set(n.sources):
            readers.setdefault(ref, []).append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(nodes[i])
        for j in readers.get(nodes[i].name, ()):
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) < len(nodes):
        placed = {n.name for n in order}
        stuck = [n for n in nodes if n.name not in placed]
        named = stuck[:MAX_CYCLE_NAMES]
        cycle = " -> ".join(n.name for n in named) + (f" (and {len(stuck) - len(named)} more)"
                                                      if len(stuck) > len(named) else "")
        first = stuck[0]
        raise UserError(f"the layers {cycle} feed each other in a cycle.", location=first.location,
                        layer=first.name, layer_type=first.type,
                        fix="a network must be acyclic; point one `input:` at an earlier layer.")
    return order
