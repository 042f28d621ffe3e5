"""Non-finite numbers never pass for results.

A NaN or inf that reaches a metric, a checkpoint or the loss would make a run
lie (NaN compares false, so "error < best" and top-1 error both read it as
success). The checks here are cheap -- one np.isfinite over each parameter
when it is saved, one scalar per training iteration -- and the errors they
raise say what went wrong and what the likely cause is.
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, Optional, Tuple

import numpy as np

from .errors import Location, UserError
from .optimizers import OPTIMIZERS

# A diverged run's rate at or above this many times the optimizer's usual (NNC default) rate is named as
# the likely cause; below it, the data and the initial weights are the better suspects.
HIGH_RATE_FACTOR = 10.0


class NonFiniteError(UserError):
    """Training produced NaN or inf (a cost or the weights); the run stops, its good checkpoints kept."""


def is_finite_number(value) -> bool:
    return value is not None and math.isfinite(value)


def first_non_finite(params: Dict) -> Optional[Tuple[str, str]]:
    """(name, 'nan' or 'inf') of the first parameter holding a non-finite value, or None.

    `params` maps names to nn.Variable or NumPy arrays."""
    for name, value in params.items():
        array = np.asarray(value.d if hasattr(value, "d") else value)
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            return name, ("nan" if np.isnan(array).any() else "inf")
    return None


def check_saved_parameters(params: Dict, path: str) -> None:
    """Refuse to write a checkpoint that holds NaN or inf (it would be kept as best or last)."""
    bad = first_non_finite(params)
    if bad is not None:
        raise NonFiniteError(f"parameter '{bad[0]}' holds {bad[1]}, so {path} was not written (the file "
                             "there, if any, is the last good one).",
                             fix="lower the learning rate, or check the data and the initial weights.")


def check_loaded_parameter(values: np.ndarray, source: str, name: str, **where) -> None:
    """A parameter read from a file (w_file, init_from) must be finite before training starts."""
    array = np.asarray(values)
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        count = int(array.size - np.isfinite(array).sum())
        raise UserError(f"parameter '{name}' read from '{source}' holds {count} non-finite value(s) "
                        f"(NaN or inf) of {array.size}.", **where,
                        fix="give a file of finite values (a run that diverged saved nothing usable), "
                            "or remove it to use the initializer.")


def column_sums(values: np.ndarray) -> np.ndarray:
    """Per-column sums of a monitor batch. NaN/inf pass through for the caller to check; NumPy's overflow
    warning would print a second line under the one-line error."""
    with np.errstate(over="ignore", invalid="ignore"):
        return values.sum(axis=0)


def kind_of(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def diverged(subject: str, epoch: int, iteration: int, rate: float, optimizer, *, bad_inputs: Iterable[str],
             updates_done: int, location: Optional[Location]) -> NonFiniteError:
    """The one-line error for training that produced NaN/inf, with its most likely cause.

    `subject`: what became non-finite, e.g. "cost became nan"."""
    bad_inputs = sorted(bad_inputs)
    usual = OPTIMIZERS[optimizer.type].rate.default
    if bad_inputs:
        cause = f"this batch's {', '.join(repr(b) for b in bad_inputs)} holds non-finite values, so the data is " \
                "the cause"
        fix = "remove or repair the non-finite values in the dataset."
    elif updates_done == 0:
        cause = "no update had been made yet, so the initial weights (or extreme data values) are the cause"
        fix = "use smaller initial weights (w_initializer_multiplier, w_file, init_from) or normalize the data."
    elif abs(rate) >= HIGH_RATE_FACTOR * usual:
        cause = f"the learning rate {rate:g} is likely too high"
        fix = f"lower the learning rate (optimizer, lr_scheduler); {optimizer.type}'s usual rate is {usual:g}."
    else:
        cause = (f"the learning rate {rate:g} is not unusually high for {optimizer.type}, so extreme values in "
                 "the data or the initial weights are the more likely cause")
        fix = "check the data's range and the initial weights; a lower learning rate may still help."
    kept = f"The checkpoints of epoch {epoch - 1} are kept." if epoch > 1 else "No epoch finished, so no " \
        "checkpoint was written."
    return NonFiniteError(f"{subject} at epoch {epoch}, iteration {iteration}; {cause}. {kept}",
                          location=location, fix=fix)


def finite_rows(values: np.ndarray) -> np.ndarray:
    """Per sample (first axis): whether every value of its output is finite."""
    values = np.asarray(values)
    return np.isfinite(values.reshape(len(values), -1)).all(axis=1)
