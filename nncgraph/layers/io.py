"""Input: where a dataset variable, or a generator's draws, enter the network."""
from __future__ import annotations

from ..errors import UserError
from .base import Layer, Prop

# NNC's Input generators; engines/generated.py draws them as nnabla's utils/load.py does.
NO_GENERATOR = "None"
GENERATORS = (NO_GENERATOR, "Normal", "Uniform", "Constant", "Range")
# Where the multiplier is a spread (a standard deviation, a half-width), a negative one is a mistake.
SPREADS = ("Normal", "Uniform")


class Input(Layer):
    category = "IO"
    role = "input"
    nnabla_function = ""    # a data variable, not a function
    n_inputs = 0
    doc = ("Feeds one dataset variable (a CSV column such as `x`) into the network, or, with a `generator`, "
           "values drawn afresh for every batch (the latent z of a GAN, noise).")
    props = {
        "size": Prop("pints", [1, 28, 28], "Shape of one sample, without the batch axis.", "Size"),
        "dataset": Prop("str", "x", "Dataset variable (CSV column name) fed into this input; not read when "
                        "`generator` is set.", "Dataset"),
        "generator": Prop("option", NO_GENERATOR, "Draw the input for every batch instead of reading `dataset`: "
                          "Normal: N(0, m^2) (m = generator_multiplier is the standard deviation); Uniform: "
                          "U(-m, m); Constant: m everywhere; Range: 0, m, 2m, ... along the last axis. The draws "
                          "follow the training seed.", "Generator", options=GENERATORS),
        "generator_multiplier": Prop("float", 1.0, "The generator's m: Normal's standard deviation, Uniform's "
                                     "half-width, Constant's value, Range's step.", "GeneratorMultiplier"),
    }

    def resolve(self, props, name):
        p = super().resolve(props, name)
        if p["generator"] in SPREADS and p["generator_multiplier"] < 0:
            raise UserError(f"has generator {p['generator']} with generator_multiplier "
                            f"{p['generator_multiplier']:g}, but the multiplier is its spread "
                            f"({'standard deviation' if p['generator'] == 'Normal' else 'half-width'}).",
                            fix=f"write generator_multiplier: {-p['generator_multiplier']:g}.")
        return p

    def infer_shape(self, in_shapes, p):
        return tuple(p["size"])

    def emit(self, ctx, inputs, p):  # the compiler creates input variables itself
        raise AssertionError("Input layers are created by the compiler")


def is_generated(node) -> bool:
    """An Input whose values a generator draws (it reads no dataset column)."""
    return node.layer.role == "input" and node.props["generator"] != NO_GENERATOR


LAYERS = [Input]
