"""`nncgraph import FILE.nntxt|FILE.nnp`: an nnabla network definition as a project file.

The networks the file's optimizers train (else its executor's) become the
project's `network:` (or `networks:` and `training.optimizers`, one entry per
optimizer), one layer per nnabla function; data variables become
Input layers and a loss's second input its `target`; whatever only reduces
the losses (the Mean nnabla_cli minimizes) is dropped, since nncgraph adds
it. Datasets, epochs, batch size, optimizer and schedule come from the
file's settings; a generator variable (a GAN's latent z: the proto's
generator_variable) becomes an Input with that `generator`. Parameters stay
where they are: the project's `init_from` points at the .nnp (or an .h5
written beside the project for an .nntxt that holds them), mapping each of
our parameter names onto the file's.
"""
from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Tuple

from ..atomic_files import atomic_write
from ..engines.parameter_file import parameters_h5
from ..errors import UserError
from .nnp_feeds import Feeds
from .nnp_functions import Unconvertible, convert_function, dims
from .nnp_settings import dataset_settings, evaluation_settings, tidy, training_settings
from .nnp_source import Source


def import_nnp(path: str, output: str, located: bool = False, source: Optional[Source] = None) -> str:
    """The project YAML for `path`; side files (an .h5 of inline parameters) are written beside `output`.
    `located`: a project built in memory (`nncgraph run model.nntxt`): nothing is written, inline parameters
    are read from `path` itself, and each layer's line ends with a mark of its function's line
    (located_yaml.relocate). `source`: the file, already read."""
    source = source or Source(path)
    networks = {}
    parameter_order: Dict[Tuple[str, str], List[str]] = {}    # (network, layer) -> its parameter variables
    entry_lines: Dict[int, int] = {}      # id(layer mapping) -> its function's line
    for network in _trained_networks(source):
        networks[network.name] = _layers(source, network, parameter_order, entry_lines, located)
    return _project_text(source, networks, parameter_order, path if located else output, entry_lines, located)


def _layers(source: Source, network, parameter_order, entry_lines, located: bool) -> List[Dict]:
    """One network's functions as layers (parameter_order and entry_lines filled in as they are made)."""
    from ..layers import REGISTRY

    proto = source.proto
    feeds = Feeds(source, network.name)
    variables = {v.name: v for v in network.variable}
    producers = {o: f for f in network.function for o in f.output}
    parameters = {v.name for v in network.variable if v.type == "Parameter"}
    losses = {name for name, layer in REGISTRY.items() if layer.role == "loss"}
    # what the optimizer of this network does with each parameter: 0 leaves it alone (another network's)
    multipliers = {p.variable_name: p.learning_rate_multiplier for o in proto.optimizer
                   if o.network_name == network.name for p in o.parameter_variable}

    layers: List[Dict] = []
    names: Dict[str, str] = {}            # variable -> the layer that produces it
    taken = set()
    dropped = set()                       # variables that only carry losses onwards
    for function in network.function:
        where = source.location(network.name, function.name)
        if function.type in losses:
            pass
        elif all(i in dropped or (i in producers and producers[i].type in losses) for i in function.input
                 if i not in parameters):
            dropped.update(function.output)
            continue
        data_inputs = [i for i in function.input if i not in parameters]
        param_inputs = [i for i in function.input if i in parameters]
        target = None
        if function.type in losses and len(data_inputs) == 2 and data_inputs[1] not in producers:
            target = feeds.target(data_inputs[1], function, where)
            data_inputs = data_inputs[:1]
        for var in data_inputs:
            if var not in producers and var not in names:
                name = _unique(var, taken)
                layers.append(tidy({"type": "Input", "name": name, "size": _sample_shape(variables[var]),
                                     **feeds.input_props(var)}))
                names[var] = name
        try:
            kind, props = convert_function(
                function, REGISTRY, [_sample_shape(variables[i]) for i in data_inputs],
                _sample_shape(variables[function.output[0]]),
                [tuple(dims(variables[p].shape)) for p in param_inputs])
        except Unconvertible as exc:
            raise UserError(f"cannot import function '{function.name}' ({function.type}): {exc}.",
                            location=where, layer=function.name, layer_type=function.type,
                            fix="replace it in the source network by layers nncgraph has "
                                "(`nncgraph layers` lists them), or add the layer to nncgraph.") from None
        if len(function.output) != 1:
            raise UserError(f"function '{function.name}' ({function.type}) has {len(function.output)} outputs; "
                            "nncgraph layers have one.", location=where, layer=function.name,
                            layer_type=function.type, fix="import a network without multi-output functions.")
        name = _unique(_layer_name(function, param_inputs), taken)
        layer = {"type": kind, "name": name}
        scope = _parameter_scope(param_inputs)
        if scope is not None and scope != name and "parameter_scope" in REGISTRY[kind].props:
            props["parameter_scope"] = scope      # keeps the file's parameter names, e.g. "stage1_1/bn1"
        sources = [names[i] for i in data_inputs if i in names]
        if len(sources) != len(data_inputs):
            missing = [i for i in data_inputs if i not in names]
            raise UserError(f"function '{function.name}' reads {missing[0]}, which no earlier function makes.",
                            location=where, layer=function.name, layer_type=function.type,
                            fix="the network's functions must be listed in execution order.")
        layer["input"] = sources[0] if len(sources) == 1 else sources
        layer.update(props)
        if target is not None:
            layer["target"] = target
        layer.update(_initializers(function, param_inputs, variables, REGISTRY[kind]))
        layer.update(_multipliers(param_inputs, multipliers, REGISTRY[kind]))
        layers.append(_without_defaults(tidy(layer), REGISTRY[kind]))
        if located:
            entry_lines[id(layers[-1])] = where.line
        names[function.output[0]] = name
        parameter_order[(network.name, name)] = param_inputs
    _drop_default_inputs(layers)
    return layers



def _trained_networks(source: Source) -> List:
    """The networks the file's optimizers train, in their order (the first is the project's main one);
    without an optimizer, its executor's network, else its first."""
    proto = source.proto        # it has a network: nnp_source.check_meaning saw to it
    by_name = {n.name: n for n in proto.network}
    trained = [by_name[n] for n in dict.fromkeys(o.network_name for o in proto.optimizer) if n in by_name]
    if trained:
        return trained
    return next(([by_name[e.network_name]] for e in proto.executor if e.network_name in by_name),
                [proto.network[0]])


def _sample_shape(variable) -> List[int]:
    return [int(d) for d in dims(variable.shape)[1:]]


def _unique(name: str, taken: set) -> str:
    name = re.sub(r"[^A-Za-z0-9_\-']", "_", name) or "layer"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _parameter_scope(param_inputs: List[str]) -> Optional[str]:
    """"conv1/conv/W" -> "conv1": the scope nnabla's parametric functions put before "conv/W"."""
    if param_inputs:
        parts = param_inputs[0].split("/")
        if len(parts) >= 3:
            return "/".join(parts[:-2])
    return None


def _layer_name(function, param_inputs: List[str]) -> str:
    """The parameter scope when there are parameters, else the function's name without the
    "@Network/" prefix nnabla's graph writer adds."""
    return _parameter_scope(param_inputs) or re.sub(r"^@[^/]*/", "", function.name)


# what a reader looks for first in a layer, written even when it equals the default
ALWAYS_WRITTEN = {"out_maps", "kernel_shape", "out_shape", "target", "size"}


def _without_defaults(layer: Dict, spec) -> Dict:
    """Other properties equal to the layer's defaults are left out, as a user would write the layer."""
    return {k: v for k, v in layer.items() if k not in spec.props or k in ALWAYS_WRITTEN
            or spec.props[k].default is None or v != spec.props[k].default}


def _initializers(function, param_inputs, variables, layer) -> Dict:
    """NNC initializer properties from the proto's, for a file without parameter values."""
    out = {}
    for var_name in param_inputs:
        init = variables[var_name].initializer
        key = var_name.rsplit("/", 1)[-1].lower()
        if init.type and f"{key}_initializer" in layer.props:
            out[f"{key}_initializer"] = init.type
            out[f"{key}_initializer_multiplier"] = init.multiplier
    return out


def _multipliers(param_inputs, multipliers: Dict[str, float], layer) -> Dict:
    """NNC's per-parameter LRateMultiplier (`w_lrate_multiplier`, ...) from the optimizer's
    parameter_variable; the defaults are dropped with the layer's others."""
    out = {}
    for var_name in param_inputs:
        key = f"{var_name.rsplit('/', 1)[-1].lower()}_lrate_multiplier"
        if var_name in multipliers and key in layer.props:
            out[key] = multipliers[var_name]
    return out


def _drop_default_inputs(layers: List[Dict]) -> None:
    """`input:` is implied when a layer reads the layer just before it."""
    for before, layer in zip(layers, layers[1:]):
        if layer.get("input") == before["name"]:
            del layer["input"]


def _project_text(source: Source, networks: Dict[str, List[Dict]], parameter_order, output: str, entry_lines,
                  located) -> str:
    from ..project.located_yaml import source_mark
    from ..project.yaml_text import project_text

    proto = source.proto
    doc = {"name": re.sub(r"[^A-Za-z0-9_\-]", "-", os.path.splitext(os.path.basename(source.path))[0])}
    datasets = dataset_settings(proto)
    if datasets:
        doc["datasets"] = datasets
    if len(networks) == 1:
        doc["network"] = next(iter(networks.values()))
    else:
        doc["networks"] = networks
    batch_sizes = {n.name: n.batch_size for n in proto.network}
    training = training_settings(proto, list(networks), batch_sizes[next(iter(networks))])
    if training:
        doc["training"] = training
    evaluation = evaluation_settings(source)
    if evaluation:
        doc["evaluation"] = evaluation
    shown_names = ", ".join(f"'{n}'" for n in networks)
    header = (f"imported by `nncgraph import` from {os.path.basename(source.path)} "
              f"(network{'s' if len(networks) > 1 else ''} {shown_names})")
    init_from = _init_from(source, project_text(doc), parameter_order, output, located)
    if init_from:
        doc["init_from"] = init_from
    return project_text(doc, header, mark=lambda layer: source_mark(entry_lines.get(id(layer))))


def _init_from(source: Source, text: str, parameter_order, output: str, located: bool) -> Optional[Dict]:
    """init_from with one map entry per parameter: our name (scope/conv/W) -> the file's name."""
    proto = source.proto
    inline = len(proto.parameter) > 0
    if not (source.has_parameter_file or inline):
        return None
    mapping = _parameter_map(source, text, parameter_order, output)
    if all(ours == theirs for ours, theirs in mapping.items()):
        mapping = None       # the default map {"*": "*"} says the same
    base = os.path.dirname(os.path.abspath(output))
    if inline and not located:
        target = os.path.splitext(os.path.abspath(output))[0] + ".parameters.h5"
        _write_inline_parameters(proto, target)
    else:
        target = os.path.abspath(source.path)
    path = os.path.relpath(target, base)
    return {"path": path} if mapping is None else {"path": path, "map": mapping}


def _parameter_map(source: Source, text: str, parameter_order, output: str) -> Dict[str, str]:
    """Build the imported project as nncgraph will, and pair each layer's parameters with the file's."""
    import tempfile

    from ..graph.variants import variant_graph
    from ..project.load import load_project

    shapes = {v.name: tuple(dims(v.shape)) for n in source.proto.network for v in n.variable
              if v.type == "Parameter"}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "imported.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        project = load_project(path)
        inferred = {net: variant_graph(project, net, "training") for net in project.training.networks}
    mapping = {}
    for net, graph in inferred.items():
        # a single network is the project's `network:`, called Main there whatever the file called it
        theirs_of = {layer: order for (network, layer), order in parameter_order.items()
                     if network == net or len(inferred) == 1}
        _map_parameters(source, graph, theirs_of, shapes, mapping)
    return mapping


def _map_parameters(source: Source, inferred, parameter_order, shapes, mapping: Dict[str, str]) -> None:
    for info in inferred.ordered():
        theirs = parameter_order.get(info.node.name, [])
        for spec, name in zip(info.params, theirs):
            if tuple(spec.shape) != shapes.get(name):
                raise UserError(f"parameter '{name}' has shape {list(shapes.get(name, ()))} in the file, but "
                                f"layer '{info.node.name}' needs {list(spec.shape)} for '{spec.name}'.",
                                location=source._where(None), layer=info.node.name, layer_type=info.node.type,
                                fix="report this: the importer mapped the function's arguments wrongly.")
            mapping[spec.name] = name


def _write_inline_parameters(proto, path: str) -> None:
    """Parameter values an .nntxt carries inline, as an nnabla .h5 beside the project (written whole)."""
    import nnabla as nn
    import numpy as np

    params = {}
    for p in proto.parameter:
        var = nn.Variable(tuple(dims(p.shape)), need_grad=p.need_grad)
        var.d = np.array(p.data, np.float32).reshape(tuple(dims(p.shape)))
        params[p.variable_name] = var
    atomic_write(path, parameters_h5(params), "wb")
