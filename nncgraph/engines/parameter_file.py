"""The parameter file of a run (checkpoints/*.h5): one format, whichever engine trained it.

It is nnabla's .h5 layout (a dataset per parameter, by its NNC name, with
`need_grad` and an `index` that keeps the order), so nnabla, NNC and every
reader here load it; an engine hands over values by name, not its variables.

HDF5 buffers its writes and flushes them when the file closes. On a disk that
fills up meanwhile, h5py raises from inside its close (and nnabla's
Solver.save_states only prints "Exception ignored" and carries on); either
way the HDF5 objects left behind crash the interpreter (SIGSEGV) later, at
the latest when it exits. So HDF5 never writes to a disk here: it writes into
a BytesIO, and our own atomic write (atomic_files) meets the full disk as an
OSError it can report in one line.
"""
from __future__ import annotations

import io
from typing import AbstractSet, Dict, Mapping

import numpy as np


class Parameters(dict):
    """Parameter values by NNC name ("conv1/conv/W") -> ndarray; `fixed` names those no gradient
    updates (batch statistics), which the file records as need_grad false."""

    def __init__(self, values: Dict[str, np.ndarray], fixed: AbstractSet[str] = frozenset()):
        super().__init__(values)
        self.fixed = frozenset(fixed)


def parameters_h5(params: Mapping) -> bytes:
    """The .h5 file of `params` as bytes: a Parameters, or variables with `.d` and `.need_grad`
    (the interop code's nnabla variables)."""
    import h5py

    fixed = getattr(params, "fixed", frozenset())
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for index, (name, value) in enumerate(params.items()):
            f[name] = np.asarray(getattr(value, "d", value))
            f[name].attrs["need_grad"] = bool(getattr(value, "need_grad", name not in fixed))
            f[name].attrs["index"] = index
    return buf.getvalue()
