"""Array and miscellaneous layers: Concatenate, Reshape, Identity, Dropout."""
from __future__ import annotations

from .base import LAYER_SEED, Layer, Prop, ShapeError, channel_axis, size_of
from .nntxt import axis_only, fields, out_shape


class Concatenate(Layer):
    mutation_traits = frozenset({"join"})
    category = "Others"
    n_inputs = (2, None)      # nnabla's Concatenate refuses one input in setup
    doc = "Joins inputs along `axis`; all other axes must match."
    props = {"axis": Prop("uint", 0, "Axis to join along (0 = channels).", "Axis")}

    from_nntxt = axis_only

    def infer_shape(self, in_shapes, p):
        first = tuple(in_shapes[0])
        ax = channel_axis(p["axis"], first) - 1
        total = 0
        for s in in_shapes:
            if len(s) != len(first) or any(x != y for i, (x, y) in enumerate(zip(s, first)) if i != ax):
                raise ShapeError(f"inputs must match on every axis but {p['axis']}: got "
                                 f"{', '.join(str(list(x)) for x in in_shapes)}.",
                                 fix="resize the branches so only the concatenation axis differs.")
            total += s[ax]
        return first[:ax] + (total,) + first[ax + 1:]

    def emit(self, ctx, inputs, p):
        return ctx.F.concatenate(*inputs, axis=p["axis"] + 1)


class Reshape(Layer):
    category = "Others"
    doc = "Same data, new shape; the number of elements must not change."
    props = {"out_shape": Prop("pints", [100], "New shape without the batch axis.", "OutShape")}

    from_nntxt = out_shape

    def infer_shape(self, in_shapes, p):
        if size_of(in_shapes[0]) != size_of(p["out_shape"]):
            raise ShapeError(f"cannot reshape {list(in_shapes[0])} ({size_of(in_shapes[0])} values) into "
                             f"{p['out_shape']} ({size_of(p['out_shape'])} values).",
                             fix=f"choose an out_shape with {size_of(in_shapes[0])} values in all.")
        return tuple(p["out_shape"])

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        return ctx.F.reshape(x, (x.shape[0], *p["out_shape"]), inplace=False)


class Identity(Layer):
    mutation_traits = frozenset({"keeps_channels"})
    category = "Others"
    doc = "Passes its input through unchanged (a named point in the graph)."
    props = {}

    def emit(self, ctx, inputs, p):
        return ctx.F.identity(inputs[0])


class Dropout(Layer):
    mutation_traits = frozenset({"keeps_channels"})
    category = "Others"
    doc = ("Zeroes each value with probability p (scaling the rest by 1/(1-p)) while training; identity in "
           "validation and runtime unless skip_at_test is false (Monte Carlo dropout).")
    props = {
        "p": Prop("float", 0.5, "Probability of dropping a value.", "P"),
        "seed": LAYER_SEED,
        "skip_at_test": Prop("bool", True, "Identity outside training; false keeps dropping in validation and "
                             "runtime, as MC dropout needs.", "SkipAtTest"),
    }

    from_nntxt = fields("p", "seed")

    def infer_shape(self, in_shapes, p):
        if not 0.0 <= p["p"] < 1.0:
            raise ShapeError(f"p must be in [0, 1), got {p['p']}.", fix="use a probability such as 0.5.")
        return tuple(in_shapes[0])

    def emit(self, ctx, inputs, p):
        if not ctx.train and p["skip_at_test"]:
            return inputs[0]
        return ctx.F.dropout(inputs[0], p=p["p"], seed=p["seed"])


LAYERS = [Dropout, Concatenate, Reshape, Identity]
