"""The non-layer sections of a project file, as typed field tables.

These tables are the single source for validation, defaults, `render` and the
JSON Schema, exactly as the layer registry is for layers. Optimizer parameters
follow NNC's solver list (names snake_cased: LearningRate -> learning_rate).
"""
from __future__ import annotations

from ..layers.base import MAX_SEED, Prop

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

# NNC solver name -> its parameters (NNC name snake_cased) and nnabla's argument name.
OPTIMIZERS = {
    "Sgd": {"learning_rate": ("lr", 0.01)},
    "Momentum": {"learning_rate": ("lr", 0.01), "momentum": ("momentum", 0.9)},
    "Nesterov": {"learning_rate": ("lr", 0.01), "momentum": ("momentum", 0.9)},
    "Adam": {"alpha": ("alpha", 0.001), "beta1": ("beta1", 0.9), "beta2": ("beta2", 0.999),
             "epsilon": ("eps", 1e-8)},
    "AdamW": {"alpha": ("alpha", 0.001), "beta1": ("beta1", 0.9), "beta2": ("beta2", 0.999),
              "epsilon": ("eps", 1e-8)},
    "AMSGRAD": {"alpha": ("alpha", 0.001), "beta1": ("beta1", 0.9), "beta2": ("beta2", 0.999),
                "epsilon": ("eps", 1e-8)},
    "Adamax": {"alpha": ("alpha", 0.002), "beta1": ("beta1", 0.9), "beta2": ("beta2", 0.999),
               "epsilon": ("eps", 1e-8)},
    "RMSprop": {"learning_rate": ("lr", 0.001), "decay": ("decay", 0.9), "epsilon": ("eps", 1e-8)},
    "Adagrad": {"learning_rate": ("lr", 0.01), "epsilon": ("eps", 1e-8)},
    "Adadelta": {"learning_rate": ("lr", 1.0), "decay": ("decay", 0.95), "epsilon": ("eps", 1e-6)},
}

# The parameter that is "the learning rate" for schedulers, per optimizer.
LEARNING_RATE_PARAM = {name: ("alpha" if "alpha" in params else "learning_rate")
                       for name, params in OPTIMIZERS.items()}

OPTIMIZER_COMMON = {
    "weight_decay": Prop("float", 0.0, "L2 weight decay added to every parameter's gradient "
                         "(for AdamW: the decoupled decay; NNC's default there is 0.0001).",
                         derived="0, or 0.0001 for AdamW"),
}

SCHEDULERS = {
    "Step": {"multiplier": Prop("float", 0.1, "Factor applied at each step."),
             "steps": Prop("pints", [5], "Epochs at which the rate is multiplied.")},
    "Exponential": {"multiplier": Prop("float", 0.9, "Factor applied after every epoch.")},
    "Cosine": {"min_rate": Prop("float", 0.0, "Rate reached at the last epoch, as a fraction of the base.")},
    "Polynomial": {"power": Prop("float", 1.0, "Exponent of (1 - progress).")},
}

SCHEDULER_COMMON = {
    "warmup_epochs": Prop("float", 0.0, "Linear warm-up from 0 to the base rate over this many epochs."),
}

CONTEXT_FIELDS = {
    "backend": Prop("option", "cpu", "Where to compute: `cpu`, or `cudnn` (needs nnabla-ext-cuda and a GPU).",
                    options=("cpu", "cudnn")),
    "device_id": Prop("uint", 0, "GPU number for `cudnn`.", maximum=MAX_DEVICE_ID),
    "precision": Prop("option", "float", "Arithmetic: `float` (32-bit) or `half` (16-bit, GPU).",
                      options=("float", "half")),
}
