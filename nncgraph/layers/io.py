"""Input: where a dataset variable enters the network."""
from __future__ import annotations

from .base import Layer, Prop


class Input(Layer):
    category = "IO"
    role = "input"
    nnabla_function = ""    # a data variable, not a function
    n_inputs = 0
    doc = "Feeds one dataset variable (a CSV column such as `x`) into the network."
    props = {
        "size": Prop("pints", [1, 28, 28], "Shape of one sample, without the batch axis.", "Size"),
        "dataset": Prop("str", "x", "Dataset variable (CSV column name) fed into this input.", "Dataset"),
    }

    def infer_shape(self, in_shapes, p):
        return tuple(p["size"])

    def emit(self, ctx, inputs, p):  # the compiler creates input variables itself
        raise AssertionError("Input layers are created by the compiler")


LAYERS = [Input]
