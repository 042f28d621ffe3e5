"""Atomic file writes: a reader never sees half a file, and a killed writer leaves the old one.

Every temporary name carries its writer's PID (`<name>.tmp-<pid>[.<ext>]`), so a
later run can tell a dead writer's leftovers from a live one's (`remove_dead_temporaries`).
A write that fails (a full disk, a read-only folder, a folder where the file
goes) removes its temporary, leaves the old file as it was, and is reported as
one UserError naming the path and what to do (`write_error`).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import uuid
from typing import Iterator, List, Optional

from .errors import UserError

# `<something>.tmp-<pid>` optionally followed by `.ext` (nnabla and Pillow pick the format from it)
_TEMPORARY = re.compile(r".+\.tmp-(\d+)(?:\.[^/]*)?$")


def temporary_path(path: str, extension: str = "") -> str:
    """The temporary name this process writes `path` under before renaming it into place."""
    return f"{path}.tmp-{os.getpid()}{extension}"


# errno -> (what is true, what to do), for the one line a failed read or write becomes
_OS_ERRORS = {
    errno.ENOSPC: ("no space is left on the device", "free space there, or write somewhere else (-o)"),
    errno.EDQUOT: ("the disk quota is used up", "free space in your quota, or write somewhere else (-o)"),
    errno.EFBIG: ("the file is larger than the file system allows", "write somewhere else (-o)"),
    errno.EROFS: ("the file system is read-only", "write to a writable folder (-o), or remount it read-write"),
    errno.EACCES: ("permission denied", "write where you may, or change the folder's permissions"),
    errno.EPERM: ("the operation is not permitted", "write where you may, or change the folder's permissions"),
    errno.EISDIR: ("it is a directory", "move the folder away, or name another path"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "name a path whose parents are folders"),
    errno.ENAMETOOLONG: ("the name is too long", "use a shorter path"),
    errno.EEXIST: ("it exists already", "remove it, or name another path"),
    errno.ENOENT: ("it does not exist", "check the path"),
}


_WRITING = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def os_error(exc: OSError, path: Optional[str] = None, doing: Optional[str] = None) -> UserError:
    """The UserError for an OSError met while doing `doing` to `path` (the path the user knows; the
    error's own file name wins where it is another, e.g. a parent folder that cannot be made).
    Without `doing`: "write" where only a write fails so, else "use"."""
    doing = doing or ("write" if exc.errno in _WRITING else "use")
    name = exc.filename if exc.filename is not None else path
    if path is not None and (name is None or _is_staging(str(name), path)):
        name = path             # our temporary's name means nothing to the user
    reason, fix = _OS_ERRORS.get(exc.errno, (exc.strerror or str(exc), "check the path and the disk"))
    parent = os.path.dirname(os.path.abspath(str(name))) if name is not None else None
    if exc.errno == errno.ENOENT and doing in ("write", "make") and parent and os.path.isdir(parent):
        # the folder is there, yet nothing can be made in it: /proc, /sys, a FUSE mount
        reason, fix = f"the folder '{parent}' does not let anything be made in it", "write somewhere else (-o)"
    target = f" '{name}'" if name is not None else ""
    return UserError(f"cannot {doing}{target}: {reason}.", fix=f"{fix}; what was there before is unchanged.")


def staging_folder(path: str) -> str:
    """The hidden sibling a whole output folder is written under before it is renamed to `path`."""
    parent, name = os.path.split(path)
    return os.path.join(parent, f".{name}.writing-{uuid.uuid4().hex[:8]}")


def make_staging_folder(path: str) -> str:
    """Create `path`'s staging folder (and `path`'s parents); a failure is one UserError naming `path`."""
    tmp = staging_folder(path)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.mkdir(tmp)
    except OSError as exc:
        raise os_error(exc, path, "make") from None
    return tmp


def _is_staging(name: str, path: str) -> bool:
    parent, base = os.path.split(path)
    return name.startswith(f"{path}.tmp-") or name.startswith(os.path.join(parent, f".{base}.writing-"))


def make_folder(path: str, what: str = "output folder") -> str:
    """os.makedirs(path, exist_ok=True) for an output the user named (-o); a file in its place, or a
    folder that cannot be made, is one UserError naming it."""
    if os.path.lexists(path) and not os.path.isdir(path):
        state = "is a file, not a folder" if os.path.isfile(path) else "is not a folder"
        raise UserError(f"{what} '{path}' {state}.", fix="name another -o folder, or move that one away; "
                        "it is unchanged.")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, path, "make") from None
    return path


def remove_quietly(path: str) -> None:
    """Remove a file or folder we were writing; what cannot be removed stays (the error said why)."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
    except OSError:
        pass


@contextlib.contextmanager
def atomic_output(path: str, extension: str = "") -> Iterator[str]:
    """Yields the temporary path to write `path` under; renames it into place when the block ends well.
    On a failure the temporary is removed, `path` keeps its old content, and an OSError becomes one
    UserError naming `path`. `extension`: what the writer reads the format from (".h5", ".png")."""
    tmp = temporary_path(path, extension)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        remove_quietly(tmp)
        raise os_error(exc, path, "write") from None
    except BaseException:
        remove_quietly(tmp)
        raise


def atomic_write(path: str, data, mode: str = "w") -> None:
    """Write to a temporary file beside `path`, then rename over it."""
    with atomic_output(path) as tmp:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


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
