"""Write a project as nnabla's own file: `.nntxt` (text protobuf) or `.nnp` (zip with parameters).

The file holds what `nnabla_cli train`, `nnabla_cli forward` and NnpLoader
need, named as NNC names them: networks `Main` (the first optimizer's network,
as it trains), `MainValidation` and `MainRuntime`, and the training network of
each other optimizer under its project name; datasets `Training`/`Validation`
(others by their names); each optimizer with its learning-rate schedule in
iterations and its update interval; the monitors `train_error`/`valid_error`;
and the executor `Executor` over MainRuntime, with the project's `evaluation:`
as its num_evaluations and repeat_evaluation_type.

nnabla's `create_proto` builds the skeleton from our compiled graphs; what it
cannot know is written here afterwards: each parameter's NNC initializer (so
`nnabla_cli train` starts from the distribution we would start from, not from
zeros), each parameter's learning-rate multiplier, the solver's parameters,
the scheduler (from the table in nncgraph/optimizers.py), and the generator of
each generator input (nnabla_cli draws it before every pass, as we do).
"""
from __future__ import annotations

import io
import math
import os
import zipfile
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..errors import UserError
from ..optimizers import L2, OPTIMIZERS, SCHEDULERS, WARMUP, WARMUP_MESSAGE, WARMUP_TYPE

NETWORK_NAMES = {"training": "Main", "validation": "MainValidation", "runtime": "MainRuntime"}
DATASET_NAMES = {"training": "Training", "validation": "Validation"}
FORMATS = ("nnp", "nntxt")


@dataclass
class ExportSummary:
    path: str
    networks: List[str]
    parameters: int              # number of parameter arrays written (0 for .nntxt)
    parameter_source: str        # "initial values" or the checkpoint's path
    outputs: List[str]           # MainRuntime's output names (the executor's)


def export_project(project, path: str, fmt: str, checkpoint: Optional[str] = None,
                   base_dir: str = ".", runtime_batch_size: int = 1) -> ExportSummary:
    """Compile every variant of `project` and write it to `path` as `fmt`.

    `checkpoint` (.h5) supplies trained parameters; without it the parameters are
    the project's initial values (its initializers, `w_file`s, `init_from`)."""
    return Exporter(project, base_dir, runtime_batch_size).write(path, fmt, checkpoint)


class Exporter:
    """The compiled variants and the file's protobuf, built once; `write` then only swaps parameters
    (a run folder's best and last models share everything else)."""

    def __init__(self, project, base_dir: str = ".", runtime_batch_size: int = 1):
        import nnabla as nn
        from nnabla.utils.save import create_proto

        from ..engines.nnabla.context import make_context, quiet_nnabla_logging
        from ..engines.nnabla.graph import compile_graph
        from ..evaluate.model import _outputs
        from ..graph.variants import variant_graphs

        quiet_nnabla_logging()
        training = project.training
        self.variants = variant_graphs(project, training.network, ("training", "validation", "runtime"))
        if not self.variants["training"].has_loss:
            # nnabla's file holds the training network with the loss its optimizer minimizes
            raise UserError(f"network '{training.network}' has no loss layer, and an .nnp/.nntxt holds the "
                            "training network with its loss.", location=project.locations.get("network"),
                            fix="end the network in a loss layer (e.g. SoftmaxCrossEntropy, target: y).")
        # the other optimizers' networks, as they train (their names as the project's, unless taken)
        names = export_names(project)
        others = {net: variant_graphs(project, net, ("training",))["training"] for net in training.networks[1:]}
        nn.set_default_context(make_context(project.context))
        nn.clear_parameters()
        batch = training.batch_size
        # every training network first, as the trainer builds them: the same initial values
        compiled = {"training": compile_graph(self.variants["training"], batch, base_dir)}
        other_compiled = {net: compile_graph(graph, batch, base_dir) for net, graph in others.items()}
        compiled.update({v: compile_graph(self.variants[v], runtime_batch_size if v == "runtime" else batch, base_dir)
                         for v in ("validation", "runtime")})
        if project.init_from is not None:
            from ..train.init_from import apply_init_from

            apply_init_from(project.init_from, nn.get_parameters(grad_only=False), log=lambda _: None)
        outputs = _outputs(self.variants["validation"], self.variants["runtime"])
        networks = [_network(NETWORK_NAMES["training"], compiled["training"], batch),
                    _network(NETWORK_NAMES["validation"], compiled["validation"], batch),
                    {"name": NETWORK_NAMES["runtime"], "batch_size": runtime_batch_size,
                     "outputs": {o.column: compiled["runtime"].outputs[o.node] for o in outputs},
                     "names": _variable_names(compiled["runtime"])}]
        networks += [_network(names[net], c, batch) for net, c in other_compiled.items()]
        trained = {training.network: compiled["training"], **other_compiled}
        per_epoch = _iterations_per_epoch(project)
        self.proto = create_proto(_contents(project, networks, compiled, trained, [o.column for o in outputs],
                                            per_epoch), include_params=False, variable_batch_size=True)
        # before any checkpoint replaces them: the initializers describe the values training starts from
        _write_initializers(self.proto, {**self.variants, **others})
        _write_learning_rate_multipliers(self.proto, {o.name: others.get(o.network, self.variants["training"])
                                                      for o in training.optimizers})
        _write_solver(self.proto, project, per_epoch)
        _write_generators(self.proto, {**self.variants, **others})
        self.network_names = [n["name"] for n in networks]
        self.outputs = [o.column for o in outputs]

    def write(self, path: str, fmt: str, checkpoint: Optional[str] = None) -> ExportSummary:
        if fmt not in FORMATS:
            raise UserError(f"unknown export format '{fmt}'.", fix=f"use one of: {', '.join(FORMATS)}, onnx.")
        import nnabla as nn

        from ..evaluate.model import _check_parameters
        from ..engines.nnabla.engine import load_parameters

        if checkpoint:
            # the variables exist already, so loading fills them in place under the same graph
            load_parameters(checkpoint)
            _check_parameters(self.variants["runtime"], {k: tuple(v.shape) for k, v in
                                                         nn.get_parameters(grad_only=False).items()}, checkpoint)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        params = nn.get_parameters(grad_only=False)
        if fmt == "nntxt":
            _atomic_bytes(path, _text(self.proto).encode("utf-8"))
            written = 0
        else:
            _write_nnp(path, self.proto, params)
            written = len(params)
        return ExportSummary(path, self.network_names, written, checkpoint or "initial values", self.outputs)


def export_names(project) -> Dict[str, str]:
    """Each network an optimizer trains -> its name in the file: NNC's `Main` for the first (beside
    MainValidation and MainRuntime), the project's own name for the others (`_2` and on where one of
    NNC's names has it)."""
    out = {project.training.network: NETWORK_NAMES["training"]}
    taken = set(NETWORK_NAMES.values())
    for net in project.training.networks[1:]:
        name, n = net, 2
        while name in taken:
            name, n = f"{net}_{n}", n + 1
        taken.add(name)
        out[net] = name
    return out


def _variable_names(compiled) -> dict:
    """The network's data variables by dataset column, its generator inputs by their layer names."""
    return {**compiled.inputs, **compiled.generated}


def dataset_name(key: str) -> str:
    """A project dataset's name in the file: NNC's Training and Validation, the others as written."""
    return DATASET_NAMES.get(key, key)


def _network(name: str, compiled, batch: int) -> dict:
    return {"name": name, "batch_size": batch, "outputs": {"loss": compiled.loss}, "names": _variable_names(compiled)}


def _contents(project, networks: list, compiled: dict, trained: Dict, runtime_outputs: List[str],
              per_epoch: int) -> dict:
    """`trained`: each optimizer's network as it trains (compiled)."""
    import nnabla as nn

    from ..engines.nnabla.solvers import make_solver
    from ..train.optimizer import applies_weight_decay

    training = project.training
    read = {"training", "validation"} | {o.dataset for o in training.optimizers}
    data = {name: spec for name, spec in project.datasets.items() if name in read}
    inputs = {net: tuple(c.inputs) for net, c in trained.items()}
    main = inputs[training.network]
    # what each dataset's iterator yields: every variable a network fed from it reads
    variables = {name: list(dict.fromkeys(v for o in training.optimizers if o.dataset == name
                                          for v in inputs[o.network])) or list(main) for name in data}
    datasets = [{"name": dataset_name(name), "uri": os.path.abspath(spec.csv), "cache_dir": "",
                 "variables": tuple(variables[name]), "shuffle": bool(spec.shuffle),
                 "batch_size": training.batch_size, "no_image_normalization": not spec.image_normalization}
                for name, spec in data.items()]
    names = export_names(project)
    contents = {
        "global_config": {"default_context": nn.get_current_context()},
        "training_config": {"max_epoch": training.max_epoch, "iter_per_epoch": per_epoch,
                            "save_best": True},
        "networks": networks,
        # nnabla_cli forward runs MainRuntime num_evaluations times per batch, as `nncgraph evaluate` does
        "executors": [{"name": "Executor", "network": NETWORK_NAMES["runtime"],
                       "data": list(compiled["runtime"].inputs), "output": runtime_outputs,
                       "num_evaluations": project.evaluation.num_evaluations,
                       "repeat_evaluation_type": project.evaluation.repeat,
                       "generator_variables": list(compiled["runtime"].generated)}],
    }
    # the optimizers are written even without datasets (a zoo project): each names its training network
    contents["optimizers"] = []
    for o in training.optimizers:
        solver = make_solver(o.optimizer)
        solver.set_parameters(nn.get_parameters())     # the multipliers (written after) say which it updates
        contents["optimizers"].append({
            "name": o.name, "solver": solver, "network": names[o.network],
            "dataset": [dataset_name(o.dataset)] if o.dataset in data else [],
            # network variable -> dataset column; without it nnabla_cli feeds nothing and trains on zeros
            "data_variables": {v: v for v in inputs[o.network]},
            "generator_variables": list(trained[o.network].generated),
            "update_interval": o.update_interval, "lr_decay": 1.0, "lr_decay_interval": 1,
            # a decoupled decay is the solver's own parameter (_write_solver), not solver.weight_decay
            "weight_decay": o.optimizer.weight_decay if applies_weight_decay(o.optimizer) else 0.0})
    feeds = {v: v for v in main}
    if training.optimizers[0].dataset in data:
        contents["datasets"] = datasets
        generated = list(compiled["validation"].generated)
        monitors = [{"name": "train_error", "network": NETWORK_NAMES["validation"],
                     "dataset": dataset_name(training.optimizers[0].dataset), "data_variables": feeds,
                     "generator_variables": generated}]
        if "validation" in data:
            monitors.append({"name": "valid_error", "network": NETWORK_NAMES["validation"],
                             "dataset": DATASET_NAMES["validation"], "data_variables": feeds,
                             "generator_variables": generated})
        contents["monitors"] = monitors
    return contents


def _iterations_per_epoch(project) -> int:
    """Iterations in one epoch of the first optimizer's CSV, as nnabla_cli counts them (the last batch wraps)."""
    spec = project.datasets.get(project.training.optimizers[0].dataset)
    if spec is None or not os.path.isfile(spec.csv):
        return 1
    with open(spec.csv, encoding="utf-8-sig") as f:
        rows = sum(1 for line in f if line.strip()) - 1
    return max(1, math.ceil(rows / project.training.batch_size))


def _parameter_settings(variants) -> Dict[str, tuple]:
    """Full parameter name -> (node props, ParamSpec) from whichever variant holds it."""
    found = {}
    for inferred in variants.values():
        for info in inferred.ordered():
            for spec in info.params:
                found.setdefault(spec.name, (info.node.props, spec))
    return found


def _write_initializers(proto, variants) -> None:
    """Each Parameter variable gets the initializer nncgraph itself would use."""
    import nnabla as nn

    settings = _parameter_settings(variants)
    values = nn.get_parameters(grad_only=False)
    for network in proto.network:
        for var in network.variable:
            if var.type != "Parameter":
                continue
            props, spec = settings.get(var.name, ({}, None))
            key = spec.prop_key if spec is not None else ""
            if f"{key}_initializer" in props:
                var.initializer.type = props[f"{key}_initializer"]
                var.initializer.multiplier = float(props[f"{key}_initializer_multiplier"])
            elif var.name in values:
                # a layer without NNC initializer properties (AdaptiveSeparableConvolution):
                # describe the values it starts from (written before any checkpoint is loaded)
                start = values[var.name].d
                if np.all(start == start.flat[0]):
                    var.initializer.type, var.initializer.multiplier = "Constant", float(start.flat[0])
                else:
                    var.initializer.type, var.initializer.multiplier = "Normal", float(start.std())


def _write_learning_rate_multipliers(proto, trained: Dict) -> None:
    """Each optimizer's parameter_variable from its network's multipliers (`trained`: optimizer name -> the
    training variant of its network). nnabla_cli updates those above 0 and computes no gradient for those
    at 0 in that network (utils/load.py), as nncgraph's training does."""
    from ..train.optimizer import learning_rate_multipliers

    for optimizer in proto.optimizer:
        multipliers = learning_rate_multipliers(trained[optimizer.name])
        for p in optimizer.parameter_variable:
            if p.variable_name in multipliers:
                p.learning_rate_multiplier = float(multipliers[p.variable_name])


def _write_solver(proto, project, per_epoch: int) -> None:
    """The solver's parameters, as the table names them (nnabla's own save leaves some solvers', such as
    AMSGRAD's, unwritten), and the schedule: ours counts epochs, nnabla's iterations."""
    entries = {o.name: o for o in project.training.optimizers}
    for o in proto.optimizer:
        optimizer, spec = entries[o.name].optimizer, entries[o.name].lr_scheduler
        table = OPTIMIZERS[optimizer.type]
        solver = o.solver
        message = getattr(solver, table.message)
        for h in table.params:
            setattr(message, h.nnabla, optimizer.params[h.name])
        if table.decay_kind != L2:
            setattr(message, table.decay.nnabla, optimizer.weight_decay)
        if spec.type is not None:
            _write_schedule(solver, SCHEDULERS[spec.type], spec, project.training.max_epoch, per_epoch)
        if spec.warmup_epochs > 0:
            solver.lr_warmup_scheduler_type = WARMUP_TYPE
            setattr(getattr(solver, WARMUP_MESSAGE), WARMUP.nnabla, int(spec.warmup_epochs * per_epoch))


def _write_schedule(solver, table, spec, max_epoch: int, per_epoch: int) -> None:
    solver.lr_scheduler_type = table.type
    message = getattr(solver, table.message)
    for p in table.params:
        value = spec.params[p.name]
        if not p.nnabla:
            if value != p.default:
                raise UserError(f"nnabla's {table.type} scheduler {p.nnabla_lacks}; this project's {p.name} is "
                                f"{value}.", fix=f"set training.lr_scheduler.{p.name} to {p.default:g} before "
                                "exporting, or use another scheduler.")
        elif p.epochs:
            getattr(message, p.nnabla).extend(int(s * per_epoch) for s in value)
        else:
            setattr(message, p.nnabla, value)
    if table.span_field:
        setattr(message, table.span_field, max_epoch * per_epoch)
    if table.interval_field:
        setattr(message, table.interval_field, per_epoch)


def _write_generators(proto, variants) -> None:
    """nnabla's save writes each generator variable as Constant 0: give it the Input's generator."""
    from ..engines.generated import generated_inputs

    settings = {g.name: g for inferred in variants.values() for g in generated_inputs(inferred)}
    for group in (proto.optimizer, proto.monitor, proto.executor):
        for item in group:
            for variable in item.generator_variable:
                g = settings[variable.variable_name]
                variable.type, variable.multiplier = g.generator, g.multiplier


def _text(proto) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(proto)


def _atomic_bytes(path: str, data: bytes) -> None:
    from ..atomic_files import atomic_write

    atomic_write(path, data, "wb")


def _write_nnp(path: str, proto, params) -> None:
    """nnp = zip(nnp_version.txt, network.nntxt, parameter.h5), as nnabla.utils.save writes it; built in
    memory (engines/parameter_file.py says why), so the only write is the atomic one to `path`."""
    from nnabla.utils.nnp_format import nnp_version

    from ..engines.parameter_file import parameters_h5

    staged = io.BytesIO()
    with zipfile.ZipFile(staged, "w") as z:
        z.writestr("nnp_version.txt", nnp_version())
        z.writestr("network.nntxt", _text(proto))
        z.writestr("parameter.h5", parameters_h5(params))
    _atomic_bytes(path, staged.getvalue())
