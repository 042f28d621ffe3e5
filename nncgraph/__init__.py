"""nncgraph: Neural Network Console-style YAML layer graphs, compiled to nnabla.

The package reads like the pipeline:
project (load/validate) -> graph (IR, variants, shape+cost pass)
-> engines (nnabla: compile, step) -> train / evaluate -> cli.

As a library (docs/python-api.md): `nncgraph.load("project.yaml")` gives a Project to check and train;
`nncgraph.open_run(path)` a run folder to evaluate and infer with. Importing nncgraph imports no nnabla:
the names below load nncgraph.api when first used.
"""

# The one place the version is written: pyproject.toml reads it, `nncgraph --version` prints it, and
# CHANGELOG.md has a section for it.
__version__ = "0.1.0"
__all__ = ["load", "open_run", "Project", "Run"]


def __getattr__(name):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'nncgraph' has no attribute '{name}'")
