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
from typing import AbstractSet, Dict, Iterator, Mapping

import numpy as np


class Parameters(Mapping[str, np.ndarray]):
    """Parameter values by NNC name ("conv1/conv/W"); `fixed` names those no gradient updates
    (batch statistics, frozen layers), which the file records as need_grad false."""

    def __init__(self, values: Dict[str, np.ndarray], fixed: AbstractSet[str] = frozenset()):
        self._values, self.fixed = values, frozenset(fixed)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


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
