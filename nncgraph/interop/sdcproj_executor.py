"""NNC's [Executor_N] as the project's `evaluation:` (how `evaluate` and `infer` run the runtime network).

NNC's console writes an executor's NumEvaluations as nnabla's `num_evaluations`
and its RepeatEvaluationType as `repeat_evaluation_type`: 0 is "mean", 1 is
"last" (NNC's editor offers the two, Mean and Last). nnabla's loader runs a
NumEvaluations of 0 or less once, and nnabla_cli forward then averages the
passes' outputs, or keeps the last pass's. What the project file cannot hold
(a second executor, back propagation after each pass, another dataset) is a
note above the section.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..errors import shown
from ..project.sections import MAX_EVALUATIONS
from .sdcproj_ini import IniFile

REPEAT_TYPES = {"0": "mean", "1": "last"}       # NNC's RepeatEvaluationType -> nnabla's repeat_evaluation_type


def executor_settings(ini: IniFile, note: Callable[[str, str], None]) -> Optional[dict]:
    """The `evaluation:` section for the project's first executor; None when it runs its network once."""
    executors = list(ini.numbered("Executor_"))
    if not executors:
        return None
    first = executors[0]
    for extra in executors[1:]:
        note("evaluation", f"NNC's executor '{extra.get('Executor_Name')}' (network "
                           f"'{extra.get('Executor_NetworkName')}', [{extra.name}]) was not imported: nncgraph "
                           "evaluates one network.")
    dataset = first.get("Executor_DatasetName")
    if dataset and dataset != "Validation":
        note("evaluation", f"NNC's executor evaluates dataset '{dataset}'; `nncgraph evaluate` uses the validation "
                           "dataset unless given `--dataset CSV`.")
    if first.get("NeedBackPropagation", "0") not in ("0", "", "False", "false"):
        note("evaluation", "NNC's executor also runs back propagation after each pass (NeedBackPropagation=1); "
                           "nncgraph's evaluation runs forward passes only.")
    text = first.get("NumEvaluations", "1").strip() or "1"
    try:
        passes = int(text)
    except ValueError:
        raise ini.error(f"{first.title} NumEvaluations={shown(text, quote=False)} is not a whole number.",
                        first.line_of("NumEvaluations"), fix="set Number of Evaluations to 1 or more in NNC.") from None
    if passes > MAX_EVALUATIONS:
        raise ini.error(f"{first.title} NumEvaluations={shown(f'{passes:,}', quote=False)} is more than the {MAX_EVALUATIONS:,} passes per "
                        "sample nncgraph runs.", first.line_of("NumEvaluations"),
                        fix=f"set Number of Evaluations to 1 to {MAX_EVALUATIONS:,} in NNC.")
    kind = first.get("RepeatEvaluationType", "0").strip() or "0"
    if kind not in REPEAT_TYPES:
        raise ini.error(f"{first.title} RepeatEvaluationType={shown(kind, quote=False)} is neither 0 (mean) nor "
                        "1 (last).", first.line_of("RepeatEvaluationType"),
                        fix="set Repeat Evaluation Type to Mean or Last in NNC.")
    if passes <= 1:         # nnabla runs 0 or less once; one pass is its own mean and last
        return None
    return {"num_evaluations": passes, "repeat": REPEAT_TYPES[kind]}
