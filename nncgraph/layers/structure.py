"""What a layer list holds besides computing layers, and the facts every reader of a layer list shares.

Units, repeats and recurrent blocks are written like layers but are structure: the
loader types them, the expansion (graph/expand.py) turns them into ordinary layers.
Their properties, which of them open and close a block, the default names NNC gives
layers and which layers take no input are stated here once, for the loader, the
expansion, the schema, the docs, the importers and the search alike.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, MutableMapping

from . import REGISTRY
from .base import PARAMETER_SCOPE, Prop

UNIT_PROPS = {
    "unit": Prop("str", None, "Name of the unit (under `units:`) this layer instantiates."),
    "repeat": Prop("pint", 1, "Chain this many instances of the unit."),
    # the layers' own property, said of the instance's layers
    "parameter_scope": replace(PARAMETER_SCOPE, doc="Parameter scope of the instance's layers (same scope: shared "
                               "parameters).", derived="the instance name"),
}
REPEAT_PROPS = {"times": Prop("pint", 3, "How many times the layers up to RepeatEnd are chained.", "Times")}
RECURRENT_PROPS = {
    "RecurrentInput": {"axis": Prop("uint", 0, "Time axis of the input (0 = first after the batch).", "Axis")},
    "RecurrentOutput": {"axis": Prop("uint", 0, "Axis along which the steps are stacked.", "Axis")},
    "Delay": {
        "size": Prop("pints", None, "Shape of the delayed value (without the batch axis).", "Size"),
        "initial_dataset": Prop("str", "c", "Dataset variable holding the first step's value, used when "
                                "initial_generator is None.", "Initial.Dataset"),
        "initial_generator": Prop("option", "Constant", "Where the first step's value comes from.",
                                  "Initial.Generator", options=("None", "Constant")),
        "initial_generator_multiplier": Prop("float", 0.0, "The constant value of the first step.",
                                             "Initial.GeneratorMultiplier"),
    },
}
# Every structural type with its properties, in palette order (schema and docs list them so).
STRUCTURAL: Dict[str, Dict[str, Prop]] = {"Unit": UNIT_PROPS, "RepeatStart": REPEAT_PROPS, "RepeatEnd": {},
                                          **RECURRENT_PROPS}
STRUCTURAL_DOCS = {
    "Unit": "An instance of a unit defined under `units:`; other keys are the unit's arguments.",
    "RepeatStart": "Start of layers chained `times` times.",
    "RepeatEnd": "End of a RepeatStart block.",
    **{k: f"NNC's {k} (recurrent block, unrolled over the time axis)." for k in RECURRENT_PROPS},
}
BLOCKS = {"RepeatStart": "RepeatEnd", "RecurrentInput": "RecurrentOutput"}     # opener -> its closer
OPENERS = tuple(BLOCKS)
CLOSERS = tuple(BLOCKS.values())


def is_structural(type_name: Any) -> bool:
    return type_name in STRUCTURAL


def takes_no_input(type_name: Any) -> bool:
    """A computing layer that needs no input (Input, Parameter, Constant): its default input is none,
    not the previous layer."""
    layer = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    return layer is not None and layer.takes_no_input()


def default_name(type_name: str, unit: Any, counts: MutableMapping[str, int], taken) -> str:
    """The name NNC gives an unnamed layer: Convolution, Convolution_2, ... (a Unit instance: its unit's
    name), skipping names in `taken`; `counts` carries the numbering along one layer list."""
    base = unit if type_name == "Unit" and isinstance(unit, str) else type_name
    while True:
        counts[base] = counts.get(base, 0) + 1
        n = counts[base]
        name = base if n == 1 else f"{base}_{n}"
        if name not in taken:
            return name
