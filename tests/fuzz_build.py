"""The fuzz tests' last step for an input that checks: build it in nnabla and run it forward, as
`nncgraph run` would. `check` accepting what nnabla then refuses is a traceback in a run."""
from __future__ import annotations

import logging

logging.getLogger("nnabla").setLevel(logging.WARNING)   # before nnabla's first import

import os

import numpy as np

from fuzz_oracle import assert_one_clear_line
from nncgraph.errors import UserError

# Networks small enough to build and run in milliseconds; larger ones are only checked.
BUILD_LIMIT = 200_000          # parameters, and values of all layer outputs per sample


def outputs_size(results) -> int:
    return sum(int(np.prod(i.out_shape)) for variants in results.values() for g in variants.values()
               for i in g.ordered())


def build_and_run_if_small(project, results) -> bool:
    """Build the training and validation variants of every network of `results` (check_project's) at batch
    size 2 and run them forward on zeros (every label 0, valid for any loss). A UserError on the way (a
    parameter file that cannot be used, channel_last on the CPU) must be one clear line. True if it ran."""
    params = sum(g.total_params for variants in results.values() for g in variants.values())
    if params > BUILD_LIMIT or outputs_size(results) > BUILD_LIMIT:
        return False
    import nnabla as nn

    from nncgraph.engines import make_engine
    from nncgraph.engines.nnabla.graph import compile_graph
    from nncgraph.project.model import ContextSpec

    try:
        engine = make_engine(ContextSpec(backend="cpu", device_id=0, precision="float"))
        for variants in results.values():
            engine.check_supported(variants["training"].graph)
            for variant in ("training", "validation"):
                nn.clear_parameters()
                compiled = compile_graph(variants[variant], 2, os.path.dirname(project.path))
                for variable in compiled.inputs.values():
                    variable.d = 0
                consumed = {name for info in variants[variant].ordered() for name in info.node.inputs}
                for name, output in compiled.outputs.items():
                    if name not in consumed and output.parent is not None:     # the ends of the graph
                        output.forward()
    except UserError as exc:
        assert_one_clear_line(exc)
        return False
    finally:
        nn.clear_parameters()
    return True
