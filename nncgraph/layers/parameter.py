"""Parameter and Constant: values that are not computed from an input.

Both take no input, yet every variable in an nncgraph graph carries the batch
axis, so their value is broadcast over the batch; the compiler's EmitContext
supplies the batch size (`batch_size`).
"""
from __future__ import annotations

import dataclasses

from .base import (PARAMETER_SCOPE, FloatsProp, Layer, OptionalProp, ParamSpec, Prop, ShapeError, parameter_props,
                   size_of)
from .initializers import ALL_INITIALIZERS


def _batch_size(ctx, layer_type):
    # A zero-input layer has no input variable to read the batch size from.
    batch = getattr(ctx, "batch_size", None)
    if not batch:
        raise RuntimeError(f"{layer_type} needs EmitContext.batch_size: the compiler must pass the batch size.")
    return batch


def _broadcast_over_batch(ctx, value, shape, layer_type):
    batch = _batch_size(ctx, layer_type)
    return ctx.F.broadcast(ctx.F.reshape(value, (1, *shape)), (batch, *shape))


def _unprefixed(props):
    """NNC names Parameter's own properties File, Initializer, ... (no `W.` prefix as on Affine)."""
    return {k: dataclasses.replace(p, nnc=p.nnc.split(".", 1)[1]) for k, p in props.items()}


class Parameter(Layer):
    category = "Parameter"
    doc = ("A trained array of shape `size`, the same for every sample; parameter `<scope>/param`. "
           "Its initializer properties are NNC's File, Initializer, ... prefixed with `param_`.")
    nnabla_function = ""
    nntxt_gap = "no function: its value is a parameter variable of the network"
    shape_rule = "`size`"
    n_inputs = 0
    feeds_parameter_pins = True     # its value has no batch axis (layers/pins.py)
    props = {
        "size": OptionalProp("pints", None, "Shape of the parameter (without the batch axis).", "Size",
                     derived="required (NNC copies it from the layer the parameter feeds)"),
        "parameter_scope": PARAMETER_SCOPE,
        **_unprefixed(parameter_props(param=("Normal", 0.01, ALL_INITIALIZERS))),
    }

    def infer_shape(self, in_shapes, p):
        if p["size"] is None:
            raise ShapeError("has no `size`: a Parameter's shape cannot be inferred from its consumers.",
                             fix="give size, e.g. size: [16, 1, 1].")
        return tuple(p["size"])

    def parameters(self, in_shapes, p):
        return [ParamSpec("param", self.infer_shape(in_shapes, p))]

    def emit_value(self, ctx, p):
        """The parameter itself, without the batch axis: what a parameter pin linked from it takes."""
        # the compiler has already created and initialized it; this only looks it up. get_parameter_or_create
        # would set need_grad on it, training a Parameter its param_lrate_multiplier of 0 froze.
        value = ctx.nn.parameter.get_parameter("param")
        return value if value is not None else \
            ctx.nn.parameter.get_parameter_or_create("param", tuple(p["size"]), need_grad=True)

    def emit(self, ctx, inputs, p):
        return _broadcast_over_batch(ctx, self.emit_value(ctx, p), tuple(p["size"]), "Parameter")


def constant_values(p):
    """The numbers of a Constant as a flat list; ShapeError when they do not fit `size` or `value_type`."""
    values = p["value"]
    if not values:
        raise ShapeError("has no `value`.", fix="give value, e.g. value: 0.5 or value: [1, 2, 3].")
    if p["value_type"] == "Int" and any(v != int(v) for v in values):
        raise ShapeError(f"value_type is Int, but value {values} holds non-integers.",
                         fix="give whole numbers, or set value_type: Float.")
    return values


class Constant(Layer):
    category = "IO"
    doc = ("A fixed array, the same for every sample: one number fills `size`, or `size` numbers fill it in "
           "row-major order; it is not trained.")
    nnabla_function = ""
    nntxt_gap = "no function: its value is a parameter variable of the network"
    shape_rule = "`size` (default: one axis holding the values)"
    n_inputs = 0
    feeds_parameter_pins = True
    props = {
        "value": FloatsProp("floats", None, "The number(s): one, a list, or NNC's comma-separated text.",
                            "Value", derived="required"),
        "value_type": Prop("option", "Text", "Int requires whole numbers; Text and Float take any number.",
                           "ValueType", options=("Text", "Int", "Float")),
        # NNC's Constant has no shape property: its value is a scalar or a list.
        "size": OptionalProp("pints", None, "Shape of the output (without the batch axis).", "",
                     derived="[number of values]"),
    }

    def resolve(self, props, name):
        p = super().resolve(props, name)
        if p["size"] is None and p["value"]:
            p["size"] = [len(p["value"])]
        return p

    def infer_shape(self, in_shapes, p):
        values = constant_values(p)
        shape = tuple(p["size"])
        if len(values) not in (1, size_of(shape)):
            raise ShapeError(f"value has {len(values)} numbers, but size {list(shape)} holds {size_of(shape)}.",
                             fix="give one number (it fills the array) or exactly one per element.")
        return shape

    def emit_value(self, ctx, p, batch=()):
        """The array, without the batch axis (what a parameter pin linked from it takes), or over `batch`."""
        import numpy as np

        shape = tuple(p["size"])
        values = np.asarray(constant_values(p), dtype=np.float32)
        array = np.broadcast_to(values.reshape(shape) if values.size > 1 else values[0], (*batch, *shape))
        return ctx.nn.Variable.from_numpy_array(np.ascontiguousarray(array))

    def emit(self, ctx, inputs, p):
        return self.emit_value(ctx, p, (_batch_size(ctx, "Constant"),))


LAYERS = [Parameter, Constant]

UNSUPPORTED = {
    "WorkingMemory": "NNC's definition gives only a shape, an initializer and an optional input "
                     "(IsParam=False: neither saved nor trained by default) without defining what the input does, "
                     "and nnabla has no such function; use Parameter (trained) or Constant (fixed) instead.",
}
