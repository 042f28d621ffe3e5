"""What reaches the user's terminal besides our own lines: nothing, unless --verbose.

nnabla logs `[INFO] Initializing CPU extension...` on import through the
Python logger 'nnabla' (its import also installs a root handler, through
which matplotlib's font-cache lines appear), and libraries warn through
Python's `warnings` (Pillow's DecompressionBombWarning, NumPy's
RuntimeWarnings, Optuna's ExperimentalWarning, our own dataset-cache
fallback). A user reads our one line per event; `--verbose` shows all of it.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator

LIBRARY_LOGGERS = ("nnabla", "matplotlib", "PIL")
_verbose = False


def quiet_libraries() -> None:
    """Library loggers at WARNING (their INFO lines are not ours to print), unless --verbose. Safe to call
    before or after the library is imported: the level sits on the named logger, which import keeps."""
    level = logging.INFO if _verbose else logging.WARNING
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def output_settings(verbose: bool) -> Iterator[None]:
    """For one command: library logs and Python warnings shown only when `verbose`; restored afterwards
    (main() also runs in-process, under tests and the Python API)."""
    global _verbose
    was, levels = _verbose, {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    _verbose = verbose
    quiet_libraries()
    try:
        with warnings.catch_warnings():
            if not verbose:
                warnings.simplefilter("ignore")
            yield
    finally:
        _verbose = was
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def verbose() -> bool:
    return _verbose
