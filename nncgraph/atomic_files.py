"""Atomic file writes: a reader never sees half a file, and a killed writer leaves the old one."""
from __future__ import annotations

import os


def atomic_write(path: str, data, mode: str = "w") -> None:
    """Write to a temporary file beside `path`, then rename over it."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
