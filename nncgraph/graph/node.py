"""One layer of a graph: its node, and the node's output shape.

The expansion (for `$input_shape` and recurrent blocks), the IR and the shape
pass all make nodes and shape them here, so a layer's properties are resolved,
its inputs checked and its shape computed one way, and an error names the
layer the same way whichever stage meets it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Sequence, Tuple

from ..errors import Location, UserError
from ..layers import Layer, get_layer
from ..layers.base import Shape
from ..layers.pins import bind_inputs, check_written, parameter_pins
from ..project.model import LayerSpec


@dataclass(frozen=True)
class Node:
    name: str
    type: str
    props: Dict[str, Any]           # resolved: every property, defaults filled
    inputs: Tuple[str, ...]
    location: Location

    @property
    def layer(self) -> Layer:
        return get_layer(self.type)

    @property
    def pins(self) -> Dict[str, str]:
        """Linked parameter pins: NNC connector (W, b, beta, ...) -> the layer feeding it (layers/pins.py)."""
        return parameter_pins(self.layer, self.props)

    @property
    def sources(self) -> Tuple[str, ...]:
        """Every layer this one reads: its inputs, then the layers linked into its parameter pins."""
        return self.inputs + tuple(self.pins.values())

    def error(self, exc: UserError) -> UserError:
        return exc.with_context(location=self.location, layer=self.name, layer_type=self.type)


def make_node(spec: LayerSpec, inputs: Sequence[str]) -> Node:
    """The node of an expanded layer: its input count checked, every property resolved."""
    layer = get_layer(spec.type)
    try:
        layer.check_inputs([()] * len(inputs))
        check_written(layer, spec.props)
        props = bind_inputs(layer, layer.resolve(spec.props, spec.name), spec.props, len(inputs))
    except UserError as exc:
        raise exc.with_context(location=spec.location, layer=spec.name, layer_type=spec.type) from None
    return Node(spec.name, spec.type, props, tuple(inputs), spec.location)


def infer_node_shape(node: Node, in_shapes: Sequence[Shape]) -> Shape:
    """The node's output shape for these input shapes (no batch axis)."""
    layer = node.layer
    try:
        layer.check_inputs(in_shapes)
        return tuple(layer.infer_shape(in_shapes, node.props))
    except UserError as exc:
        raise node.error(exc) from None
