"""Atomic file writes: a reader never sees half a file, and a killed writer leaves the old one.

Every temporary name carries its writer's PID (`<name>.tmp-<pid>[.<ext>]`), so a
later run can tell a dead writer's leftovers from a live one's (`remove_dead_temporaries`).
"""
from __future__ import annotations

import os
import re
import shutil
from typing import List

# `<something>.tmp-<pid>` optionally followed by `.ext` (nnabla and Pillow pick the format from it)
_TEMPORARY = re.compile(r".+\.tmp-(\d+)(?:\.[^/]*)?$")


def temporary_path(path: str, extension: str = "") -> str:
    """The temporary name this process writes `path` under before renaming it into place."""
    return f"{path}.tmp-{os.getpid()}{extension}"


def atomic_write(path: str, data, mode: str = "w") -> None:
    """Write to a temporary file beside `path`, then rename over it."""
    tmp = temporary_path(path)
    with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True     # exists, owned by someone else
    return True


def is_dead_temporary(name: str) -> bool:
    """Whether `name` is a temporary file whose writer is gone (or is this process)."""
    match = _TEMPORARY.match(name)
    return bool(match) and (int(match.group(1)) == os.getpid() or not pid_alive(int(match.group(1))))


def remove_dead_temporaries(folder: str) -> List[str]:
    """Remove the temporary files and folders under `folder` whose writer is no longer alive
    (or is this process: nothing of ours is being written while we clean). Returns them."""
    removed = []
    for parent, dirs, files in os.walk(folder):
        for name in list(dirs) + files:
            if not is_dead_temporary(name):
                continue        # not a temporary, or another live process is writing it
            full = os.path.join(parent, name)
            if name in dirs:
                dirs.remove(name)
                shutil.rmtree(full, ignore_errors=True)
            else:
                try:
                    os.remove(full)
                except FileNotFoundError:
                    continue
            removed.append(full)
    return removed
