"""A run's exclusive hold on its folder, taken before its first write.

The claim is a lock file inside the folder, `flock`ed by the run and holding
its PID for the message a second run prints. The kernel drops a flock when its
holder dies however it dies, so a dead run's claim is simply taken over; two
runs started at the same instant into one folder cannot both hold it. Once the
folder is claimed, the temporary files dead writers left in it are removed.
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from typing import Optional

from ..atomic_files import is_dead_temporary, os_error, remove_dead_temporaries
from ..errors import UserError
from .run_folder import RunFolder

LOCK = ".nncgraph-run.lock"


class RunClaim:
    """Held until `release()` (or until the process ends)."""

    def __init__(self, path: str, fd: int):
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd is None:
            return
        lock = os.path.join(self.path, LOCK)
        try:
            if os.stat(lock).st_ino == os.fstat(self.fd).st_ino:
                os.remove(lock)     # while still locked, so no one else's lock file is removed
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def refuse_non_empty(path: str) -> None:
    """A new run may only write into a missing or empty folder (a dead run's lock and temporaries aside)."""
    try:
        entries = [e for e in os.listdir(path) if e != LOCK and not is_dead_temporary(e)]
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise UserError(f"run folder '{path}' is a file, not a folder.",
                        fix="choose another -o folder.") from None
    if entries:
        raise UserError(f"run folder '{path}' already holds files; a new run would overwrite them.",
                        fix="choose another -o folder, remove that one first, or continue it with --resume.")


def claim_run_folder(run: RunFolder, *, resume: bool) -> RunClaim:
    """Claim `run`'s folder (creating it for a new run), or raise the UserError saying who holds it."""
    try:
        if resume:
            pass                        # the resume point was found there already
        elif run.unique:
            run.path = _create_unique(run.path)
        else:
            os.makedirs(run.path, exist_ok=True)
        claim = RunClaim(run.path, _lock(run.path))
    except OSError as exc:
        raise _unwritable(run.path, exc) from None
    try:
        if not resume:
            refuse_non_empty(run.path)  # again, now that no one else can write it
        os.ftruncate(claim.fd, 0)
        os.pwrite(claim.fd, f"{os.getpid()}\n".encode(), 0)
        remove_dead_temporaries(run.path)
    except UserError:
        claim.release()
        raise
    except OSError as exc:
        claim.release()
        raise _unwritable(run.path, exc) from None
    return claim


def _create_unique(path: str) -> str:
    """`path`, or `path-2`, `path-3`, ...: the first one this process creates itself."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    candidate, suffix = path, 1
    while True:
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            suffix += 1
            candidate = f"{path}-{suffix}"


def _lock(folder: str) -> int:
    lock = os.path.join(folder, LOCK)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            who = f"PID {holder}" if holder else "another process"
            raise UserError(f"run folder '{folder}' is in use by another nncgraph run ({who}).",
                            fix="wait for that run to finish or stop it, or choose another -o folder.") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(lock).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            return fd
        os.close(fd)        # the holder released (removed) it between our open and flock: lock the new one


def _holder(fd: int) -> Optional[int]:
    # The holder writes its PID right after locking: give it a moment (more on a loaded machine)
    for _ in range(200):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.01)
    return None


def _unwritable(path: str, exc: OSError) -> UserError:
    if exc.errno == errno.EEXIST or isinstance(exc, NotADirectoryError):
        return UserError(f"run folder '{path}' cannot be created: a file is in the way.",
                         fix="choose another -o folder.")
    if exc.errno == errno.ENOENT:       # a parent that is there but takes no folders (/proc), or vanished
        return os_error(exc, path, "make")
    return UserError(f"cannot write the run folder '{path}': {exc.strerror or exc}.",
                     fix="choose a -o folder on a writable disk with free space.")
