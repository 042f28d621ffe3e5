"""nnabla's .h5 files (parameters, solver states) built in memory; the caller writes the bytes to disk.

HDF5 buffers its writes and flushes them when the file closes. On a disk that
fills up meanwhile, nn.save_parameters raises a RuntimeError from inside
h5py's close, and Solver.save_states only prints "Exception ignored" and
carries on; either way the HDF5 objects left behind crash the interpreter
(SIGSEGV) later, at the latest when it exits. So HDF5 never writes to a disk
here: it writes into a BytesIO, and our own atomic write (atomic_files) meets
the full disk as an OSError it can report in one line.
"""
from __future__ import annotations

import io
from typing import Dict


def parameters_h5(params: Dict) -> bytes:
    """nn.save_parameters(path, params) as bytes: the same file, loadable by nn.load_parameters."""
    import nnabla as nn

    buf = io.BytesIO()
    nn.save_parameters(buf, params, extension=".h5")
    return buf.getvalue()


def solver_states_h5(solver) -> bytes:
    """solver.save_states(path) as bytes, in its layout, which solver.load_states reads: a group per
    parameter (its `index` attribute the order of get_states()), a dataset per state (`index`: its order
    in pstate) and the step count `t`. Solver.save_states takes only a path, hence this copy of it."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for index, (name, state) in enumerate(solver.get_states().items()):
            for position, (key, value) in enumerate(state.pstate.items()):
                f.create_dataset(f"{name}/{key}", data=value.d).attrs["index"] = position
            f.create_dataset(f"{name}/t", data=state.t)
            f[name].attrs["index"] = index
    return buf.getvalue()
