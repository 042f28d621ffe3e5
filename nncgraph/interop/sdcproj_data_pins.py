"""What NNC's data-pin properties mean to the importer: a pin's `Dataset`, `Generator` and
`GeneratorMultiplier` (an Input's, a loss's `T.`, a Delay's `Initial.`), and the properties that change
nothing nncgraph computes."""
from __future__ import annotations

from typing import Optional

from .sdcproj_network import NncLayer

# NNC properties without an nncgraph counterpart that change nothing nncgraph computes: the GUI's
# inspection switch, and the IDs/length NNC pairs and sizes blocks with (nncgraph pairs them by nesting
# and takes the length from the input).
IGNORED = {"SkipAtInspection", "RecurrentGroupID", "ID", "Length"}
# Data-pin generators whose NNC default is the one nncgraph implements (others default to "None": no generator).
GENERATOR_DEFAULTS = {"H.Initial.Generator": "Constant", "C.Initial.Generator": "Constant"}


def ignorable(nnc: str, text: str, layer: NncLayer) -> bool:
    if nnc in IGNORED or nnc == "InPlace":          # in-place is a memory saving only
        return True
    if nnc == "Order":
        return text == "-1"
    generator = generator_of(nnc)
    if generator is None:
        return False
    value = text if generator == nnc else \
        layer.props.get(generator, (GENERATOR_DEFAULTS.get(generator, "None"), 0))[0]
    if nnc.endswith("GeneratorMultiplier"):         # scales a generator that is not used
        return value == "None"
    if nnc.endswith("Dataset"):                     # read only when there is no generator
        return generated(nnc, layer)
    return value == GENERATOR_DEFAULTS.get(generator, "None")


def generated(nnc: str, layer: NncLayer) -> bool:
    """Whether `nnc` is the Dataset of a data pin that a generator fills instead."""
    generator = generator_of(nnc) if nnc.endswith("Dataset") else None
    return generator is not None and \
        layer.props.get(generator, (GENERATOR_DEFAULTS.get(generator, "None"), 0))[0] != "None"


def generator_of(nnc: str) -> Optional[str]:
    """The generator property behind an NNC data-pin property (`T.GeneratorMultiplier` -> `T.Generator`)."""
    for suffix in ("GeneratorMultiplier", "Generator", "Dataset"):
        if nnc.endswith(suffix):
            return nnc[: -len(suffix)] + "Generator"
    return None
