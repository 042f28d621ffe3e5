"""What fills an nnabla network's data variables, as an .nntxt/.nnp says it: the optimizer's, monitors'
and executor's data_variable (a dataset column) and generator_variable (nnabla_cli draws it: a GAN's
latent z), read for the import (nnp_import.py) as nncgraph's Input `dataset` or `generator`."""
from __future__ import annotations

from typing import Dict

from ..errors import UserError
from ..layers.io import GENERATORS, NO_GENERATOR
from .nnp_source import Source


class Feeds:
    def __init__(self, source: Source, network: str):
        self.columns: Dict[str, str] = {}        # variable -> dataset column
        self.generators: Dict[str, Dict] = {}    # variable -> the generator Input's properties
        proto = source.proto
        for group in (proto.optimizer, proto.monitor, proto.executor):
            for item in group:
                if item.network_name != network:
                    continue
                for d in item.data_variable:
                    self.columns.setdefault(d.variable_name, d.data_name)
                for g in item.generator_variable:
                    if g.type not in GENERATORS or g.type == NO_GENERATOR:
                        raise UserError(f"'{item.name}' fills variable '{g.variable_name}' with generator type "
                                        f"{g.type!r}, which nnabla does not draw.", location=source._where(None),
                                        fix=f"use one of {', '.join(GENERATORS[1:])} in the source.")
                    self.generators.setdefault(g.variable_name,
                                               {"generator": g.type, "generator_multiplier": g.multiplier})

    def input_props(self, variable: str) -> Dict:
        """The Input properties that say where `variable` comes from."""
        return self.generators.get(variable) or {"dataset": self.columns.get(variable, variable)}

    def target(self, variable: str, function, where) -> str:
        """The dataset column a loss function's target `variable` reads."""
        if variable in self.generators:
            raise UserError(f"function '{function.name}' ({function.type}) compares with '{variable}', which a "
                            f"{self.generators[variable]['generator']} generator fills; an nncgraph loss reads its "
                            "target from a dataset column.", location=where, layer=function.name,
                            layer_type=function.type,
                            fix="give the target a dataset column (e.g. a column of constant labels) in the source.")
        return self.columns.get(variable, variable)
