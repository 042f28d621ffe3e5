"""The non-layer sections of a project file, as typed field tables.

These tables are the single source for validation, defaults, `render` and the
JSON Schema, exactly as the layer registry is for layers.
"""
from __future__ import annotations

from ..errors import Location, UserError
from ..layers.base import MAX_SEED, Prop
from ..optimizers import L2, OPTIMIZERS, SCHEDULERS, WARMUP

# The project-file format this nncgraph reads and `render` writes. Raise it when a file that uses something
# new would be misread (not merely refused) by an older nncgraph, and say so in CHANGELOG.md.
FORMAT = 1
FORMAT_FIELD = Prop("pint", FORMAT, f"Project-file format; optional. This nncgraph reads format {FORMAT}; a file "
                    "of a newer format is refused rather than misread.")


def check_format(value, where: Location) -> int:
    try:
        number = FORMAT_FIELD.coerce(value)
    except ValueError as exc:
        raise UserError(f"the project's `format` {exc}.", location=where,
                        fix=f"write format: {FORMAT}, or leave it out.") from None
    if number > FORMAT:
        raise UserError(f"this project file was written by a newer nncgraph (format {number}); this one reads "
                        f"format {FORMAT}.", location=where,
                        fix="upgrade nncgraph (in its checkout: git pull, then make setup).")
    return number


# Upper bounds of the training integers (docs/project-file.md, "Limits"): beyond them a value is a typo.
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 10_000_000
MAX_DEVICE_ID = 255
MAX_EVALUATIONS = 10_000     # passes per batch: beyond it one evaluation costs ten thousand, a typo

DATASET_FIELDS = {
    "csv": Prop("str", None, "NNC-format dataset CSV (e.g. `x:image,y:label`), relative to the project file."),
    "shuffle": Prop("bool", None, "Shuffle every epoch (default: true for training, false otherwise).",
                    derived="true for the training dataset"),
    "image_normalization": Prop("bool", True, "Divide image pixel values by 255 (NNC's ImageNormalization)."),
}

TRAINING_FIELDS = {
    "max_epoch": Prop("pint", 10, "Number of passes over the training set.", maximum=MAX_EPOCHS),
    "batch_size": Prop("pint", 64, "Samples per iteration.", maximum=MAX_BATCH_SIZE),
    "monitor_interval": Prop("pint", 1, "Validate every this many epochs (and always after the last).",
                             maximum=MAX_EPOCHS),
    "save_best": Prop("bool", True, "Keep the parameters of the epoch with the lowest validation error."),
    "seed": Prop("uint", 0, "Random seed for initialization, shuffling and dropout, 0 to 2^31 - 1 (what nnabla "
                 "accepts); there is no \"random\" value such as -1: the same seed repeats the run.",
                 maximum=MAX_SEED),
    "train_error": Prop("option", "pass", "How the training error is measured: `pass` takes it from the "
                        "training passes themselves (free); `exact` re-runs the whole training set through "
                        "the validation variant after each epoch, as nnabla_cli does.",
                        options=("pass", "exact")),
    "resume_every": Prop("float", 10.0, "Minutes between the resume points written inside an epoch (one is "
                         "also written after every epoch); fractions of a minute are allowed. `run --resume` "
                         "continues from the last one at its iteration."),
}

MAX_UPDATE_INTERVAL = 1_000_000

# One optimizer (NNC's [Optimizer_N]): an entry of `training.optimizers`, or, for the only one, these keys
# written in `training:` itself (all but `name`); its `optimizer` and `lr_scheduler` are typed blocks below.
OPTIMIZER_ENTRY_FIELDS = {
    "name": Prop("str", None, "The optimizer's name (NNC's Optimizer_Name): metrics.csv's per-optimizer columns and "
                 "messages use it.", derived="its network's name"),
    "network": Prop("str", None, "Network it trains; its loss layers' sum is minimized (default: the first "
                    "network).", derived="the first network"),
    "dataset": Prop("str", "training", "Dataset (a key of `datasets:`) its batches come from."),
    "update_interval": Prop("pint", 1, "Update every this many iterations, the gradients of the iterations in "
                            "between summed (NNC's UpdateInterval).", maximum=MAX_UPDATE_INTERVAL),
}

# Each optimizer's and scheduler's fields, from the one table of their facts (nncgraph/optimizers.py).
OPTIMIZER_FIELDS = {
    kind: {**{h.name: Prop("float", h.default, f"{kind} {h.name} (nnabla `{h.nnabla}`)") for h in o.params},
           "weight_decay": Prop("float", o.decay.default,
                                "L2 weight decay added to every parameter's gradient before the update."
                                if o.decay_kind == L2 else
                                f"{kind}'s decoupled weight decay (nnabla `{o.decay.nnabla}`), applied by its "
                                "update apart from the gradient.")}
    for kind, o in OPTIMIZERS.items()}

SCHEDULER_FIELDS = {kind: {p.name: Prop(p.kind, p.default, p.doc) for p in s.params + (WARMUP,)}
                    for kind, s in SCHEDULERS.items()}

# NNC's executor (its Config tab's "Number of Evaluations" and "Repeat Evaluation Type"); nnabla_cli forward
# reads them as the executor's num_evaluations and repeat_evaluation_type (docs/project-file.md, `evaluation`).
REPEATS = ("mean", "last")
EVALUATION_FIELDS = {
    "num_evaluations": Prop("pint", 1, "Forward passes of the runtime network per batch in `evaluate` and `infer` "
                            "(NNC's Number of Evaluations); each pass draws new randomness in the layers still "
                            "random there (Dropout with skip_at_test: false).", maximum=MAX_EVALUATIONS),
    "repeat": Prop("option", "mean", "What the passes give (NNC's Repeat Evaluation Type): `mean` averages their "
                   "outputs, `last` keeps the last pass's.", options=REPEATS),
}

CONTEXT_FIELDS = {
    "backend": Prop("option", "cpu", "Where to compute: `cpu`, or `cudnn` (needs nnabla-ext-cuda and a GPU).",
                    options=("cpu", "cudnn")),
    "device_id": Prop("uint", 0, "GPU number for `cudnn`.", maximum=MAX_DEVICE_ID),
    "precision": Prop("option", "float", "Arithmetic: `float` (32-bit) or `half` (16-bit, GPU).",
                      options=("float", "half")),
}
