"""nnabla solver states as .h5 bytes, built in memory (engines/parameter_file.py says why)."""
from __future__ import annotations

import io


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
