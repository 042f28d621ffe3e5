"""NNC's pins: where a link may end on a layer, and what nncgraph makes of each.

NNC draws a layer with its main input (pin 0) and its side connectors (pins 1, 2, ..., in the order a
layer's `side_pins` lists them). A data connector (a loss's T, Sub2's R) takes data; a parameter
connector (W, b, BatchNormalization's beta, gamma, mean, var) takes the parameter itself. nncgraph
writes each where its alternatives already are:
- a data connector is a further position of `input:`, in pin order: its alternative, a dataset column,
  is the loss's `target`, so a loss with a second input reads its target from that layer instead;
- a parameter connector is the per-parameter property `<parameter>_input`, naming a Parameter or
  Constant layer: its alternatives are `<parameter>_file` and `<parameter>_initializer`, which it
  replaces (the layer then creates no parameter of its own, and the named layer's parameter is trained).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..errors import ShapeError, UserError, shown
from .base import Layer, ParamSpec, Prop, Shape

# the per-parameter settings a parameter pin replaces (parameter_props' suffixes)
REPLACED_SETTINGS = ("_file", "_initializer", "_initializer_multiplier", "_lrate_multiplier")
SUFFIX = "_input"


@dataclass(frozen=True)
class PinProp(Prop):
    """A parameter connector: the layer whose value is the parameter `pin` ("" : the layer's own)."""

    pin: str = ""


def pin_props(*names: str) -> Dict[str, Prop]:
    """`<parameter>_input` for each NNC parameter connector (W -> w_input, beta -> beta_input)."""
    return {f"{name.lower()}{SUFFIX}": PinProp(
        "str", "", f"A Parameter (or Constant) layer whose value is {name}, instead of this layer's own "
                   f"(NNC's link into the {name} pin); empty: the layer's own {name}.", pin=name)
        for name in names}


def pin_keys(layer: Layer) -> Dict[str, str]:
    """NNC parameter connector -> its property, for the layer's parameter pins."""
    return {prop.pin: key for key, prop in layer.props.items() if isinstance(prop, PinProp)}


def parameter_pins(layer: Layer, props: Dict) -> Dict[str, str]:
    """NNC parameter connector -> the layer feeding it, for the pins that are linked."""
    return {pin: props[key] for pin, key in pin_keys(layer).items() if props.get(key)}


def check_written(layer: Layer, written: Dict) -> None:
    """A linked parameter has no file, initializer or learning rate of its own: the feeding layer has them
    (their defaults may be written: `nncgraph render` writes every property)."""
    for key in pin_keys(layer).values():
        if not written.get(key):
            continue
        stem = key[: -len(SUFFIX)]
        for setting in REPLACED_SETTINGS:
            prop = layer.props.get(stem + setting)
            if prop is not None and stem + setting in written and written[stem + setting] != prop.default:
                raise UserError(f"sets both `{key}` and `{stem}{setting}`; a parameter taken from another layer "
                                "has no setting of its own.",
                                fix=f"drop `{stem}{setting}`, or set it on layer {shown(written[key])} "
                                    f"(`param{setting}` there).")


def data_pin_count(layer: Layer) -> int:
    """How many of the layer's side connectors take data (and are therefore inputs after the main one)."""
    keys = pin_keys(layer)
    return sum(1 for pin in layer.side_pins if pin not in keys)


def pinned_parameters(node, params: Sequence[ParamSpec], sources: Dict[str, Tuple[Layer, Shape]]
                      ) -> List[ParamSpec]:
    """The parameters the node still creates itself: those of `params` whose pin is not linked.

    `sources`: each linked pin's feeding layer and output shape. A pin takes a Parameter or Constant
    layer (a batch-free value) of exactly the parameter's shape; a ShapeError names the pin otherwise."""
    by_pin = {p.nnc_name: p for p in params}
    keys = pin_keys(node.layer)
    for pin, source in node.pins.items():
        key, (layer, shape) = keys[pin], sources[pin]
        spec = by_pin.get(pin)
        if spec is None:
            raise ShapeError(f"`{key}` links layer {shown(source)} into pin {pin}, but this layer has no {pin} "
                             "(with_bias: false?).", fix=f"drop `{key}`, or give the layer its {pin}.")
        if not layer.feeds_parameter_pins:
            raise ShapeError(f"`{key}` links layer {shown(source)} ({layer.type_name()}) into parameter pin {pin}, "
                             "which takes a Parameter or Constant layer.",
                             fix=f"feed pin {pin} from a Parameter layer of size {list(spec.shape)}.")
        if tuple(shape) != tuple(spec.shape):
            raise ShapeError(f"pin {pin} (`{key}`) gets layer {shown(source)} of shape {list(shape)}, but {pin} has "
                             f"shape {list(spec.shape)}.", fix=f"give {shown(source)} size: {list(spec.shape)}.")
    return [p for p in params if p.nnc_name not in node.pins]


def bind_inputs(layer: Layer, props: Dict, written: Dict, count: int) -> Dict:
    """The resolved properties once the inputs are known: a loss or metric with a second input (its T
    connector linked) reads its target from that layer, so it has no dataset `target`."""
    if layer.role not in ("loss", "metric") or count < 2:
        return props
    if "target" in written:
        raise UserError(f"reads its target from its second input, and also names dataset variable "
                        f"{shown(written['target'])} as `target`.",
                        fix="drop `target` (the second input is the target), or drop the second input.")
    return {k: v for k, v in props.items() if k != "target"}


def parameter_variable(ctx, name: str):
    """In a layer's emit: the variable linked into the parameter's pin, or the layer's own parameter `name`
    (created beforehand under the layer's scope)."""
    linked = ctx.pins.get(name.rsplit("/", 1)[-1])
    return linked if linked is not None else ctx.nn.parameter.get_parameter(name)
