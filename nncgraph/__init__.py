"""nncgraph: Neural Network Console-style YAML layer graphs, compiled to nnabla.

The package reads like the pipeline:
project (load/validate) -> graph (IR, variants, shape+cost pass)
-> compile (nnabla) -> train / data -> cli.
"""

__version__ = "0.1.0"
