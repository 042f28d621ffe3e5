"""nncgraph: Neural Network Console-style YAML layer graphs, compiled to nnabla.

The package reads like the pipeline:
project (load/validate) -> graph (IR, variants, shape+cost pass)
-> engines (nnabla: compile, step) -> train / evaluate -> cli.

As a library (docs/python-api.md): `nncgraph.load("project.yaml")` gives a Project to check and train;
`nncgraph.open_run(path)` a run folder to evaluate and infer with; the tools beside them (compare,
structure_search, import_project, the dataset writers, layer_types, schema) are the CLI's other commands
as calls. Importing nncgraph imports none of them (and no nnabla): each name loads its module when first used.
"""

# The one place the version is written: pyproject.toml reads it, `nncgraph --version` prints it, and
# CHANGELOG.md has a section for it.
__version__ = "0.1.0"

# No name may be a subpackage's (layers, search, report, ...): once that subpackage is imported, the
# package attribute is the subpackage and __getattr__ is never asked.
__all__ = ["load", "open_run", "Project", "Run", "compare", "structure_search", "import_project",
           "create_dataset", "write_kfold", "write_mnist_sample", "layer_types", "layer_info", "schema"]


def __getattr__(name):
    # The API is these functions themselves, not wrappers. Each import is written out (not importlib with a
    # string) so that tests/test_code_shape.py sees it.
    if name in ("load", "open_run", "Project", "Run"):
        from . import api as module
    elif name in ("compare", "structure_search", "import_project"):
        from . import api_tools as module
    elif name == "create_dataset":
        from .data import create as module
    elif name == "write_kfold":
        from .data import kfold as module
    elif name == "write_mnist_sample":
        from .data import mnist_sample as module
    elif name in ("layer_types", "layer_info"):
        from . import layer_docs as module
    elif name == "schema":
        from .project.schema import project_schema

        return project_schema
    else:
        raise AttributeError(f"module 'nncgraph' has no attribute '{name}'")
    return getattr(module, name)
