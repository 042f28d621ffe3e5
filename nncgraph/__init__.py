"""nncgraph: Neural Network Console-style YAML layer graphs, compiled to nnabla.

The package reads like the pipeline:
project (load/validate) -> graph (IR, variants, shape+cost pass)
-> engines (nnabla: compile, step) -> train / evaluate -> cli.
"""

# The one place the version is written: pyproject.toml reads it, `nncgraph --version` prints it, and
# CHANGELOG.md has a section for it.
__version__ = "0.1.0"
