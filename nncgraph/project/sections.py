"""The non-layer sections of a project file, as typed field tables.

These tables are the single source for validation, defaults, `render` and the
JSON Schema, exactly as the layer registry is for layers.
"""
from __future__ import annotations

from ..layers.base import MAX_SEED, Prop
from ..optimizers import L2, OPTIMIZERS, SCHEDULERS, WARMUP

# Upper bounds of the training integers (docs/project-file.md, "Limits"): beyond them a value is a typo.
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 10_000_000
MAX_DEVICE_ID = 255

DATASET_FIELDS = {
    "csv": Prop("str", None, "NNC-format dataset CSV (e.g. `x:image,y:label`), relative to the project file."),
    "shuffle": Prop("bool", None, "Shuffle every epoch (default: true for training, false otherwise).",
                    derived="true for the training dataset"),
    "image_normalization": Prop("bool", True, "Divide image pixel values by 255 (NNC's ImageNormalization)."),
}

TRAINING_FIELDS = {
    "network": Prop("str", None, "Network to train (default: the first one).", derived="the first network"),
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

CONTEXT_FIELDS = {
    "backend": Prop("option", "cpu", "Where to compute: `cpu`, or `cudnn` (needs nnabla-ext-cuda and a GPU).",
                    options=("cpu", "cudnn")),
    "device_id": Prop("uint", 0, "GPU number for `cudnn`.", maximum=MAX_DEVICE_ID),
    "precision": Prop("option", "float", "Arithmetic: `float` (32-bit) or `half` (16-bit, GPU).",
                      options=("float", "half")),
}
