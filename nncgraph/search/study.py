"""The Optuna study behind a search: storage, sampler, directions.

Storage is a journal file in the search folder unless --storage gives an
SQLAlchemy URL: the journal is append-only with a file lock, so several
worker processes on one machine can share it and a killed search loses at
most the trial it was training; a database (PostgreSQL) lets workers on
several machines join the same study by name.
"""
from __future__ import annotations

import logging
import os

from ..atomic_files import make_folder
from ..errors import UserError
from ..run_files import check_file, damaged, detail_of, fix_for

JOURNAL = "study.journal"


def make_storage(url, folder: str):
    if url is None:
        make_folder(folder)
        return journal_storage(os.path.join(folder, JOURNAL))
    if "://" not in url:           # a path: a journal file elsewhere (e.g. on a shared disk)
        return journal_storage(url)
    try:
        return _rdb_storage(url)
    except ImportError as exc:
        raise UserError(f"the storage '{_redacted(url)}' needs a database driver: {exc}.",
                        fix="for PostgreSQL: `.venv/bin/pip install -e '.[postgres]'` (psycopg2).") from None
    except Exception as exc:       # SQLAlchemy reports unreachable servers with many exception types
        raise UserError(f"cannot open the storage '{_redacted(url)}': {str(exc).splitlines()[0]}.",
                        fix="check the URL, that the server runs and that the database exists.") from None


def journal_storage(path: str):
    """Optuna's journal storage on `path`, which it replays at once: a damaged journal (cut mid-line,
    garbage, a line Optuna cannot apply) is one line naming it, not Optuna's traceback."""
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if check_file(path, optional=True):      # a folder in its place says so
        _check_journal_lines(path)
    try:
        return JournalStorage(JournalFileBackend(path))
    except OSError:
        raise
    except Exception as exc:        # Optuna's KeyError or TypeError on a line it cannot apply
        raise damaged(path, f"an entry Optuna cannot apply: {type(exc).__name__} {detail_of(exc)}", fix=_FIX_JOURNAL) from None


_FIX_JOURNAL = fix_for(JOURNAL)


def _check_journal_lines(path: str) -> None:
    """Every line of the journal is one whole JSON entry. Optuna skips a last line without its newline
    (a writer may be mid-line) and fails on it only once a later line arrives, deep in a search; read
    under the journal's own lock, where no writer is mid-line, such a line is a cut-off file."""
    import json

    from optuna.storages.journal import JournalFileSymlinkLock

    from ..run_files import read_bytes

    lock = JournalFileSymlinkLock(path)
    lock.acquire()
    try:
        data = read_bytes(path)
    finally:
        lock.release()
    lines = data.split(b"\n")
    if lines[-1]:
        raise damaged(path, "its last line is cut off", len(lines), fix=_FIX_JOURNAL)
    for number, line in enumerate(lines[:-1], start=1):
        try:
            entry = json.loads(line)
        except ValueError as exc:       # JSONDecodeError, UnicodeDecodeError
            raise damaged(path, f"line {number} is not a journal entry ({getattr(exc, 'msg', None) or detail_of(exc)})",
                          number, fix=_FIX_JOURNAL) from None
        if not isinstance(entry, dict) or "op_code" not in entry:
            raise damaged(path, f"line {number} is not a journal entry (it has no op_code)", number, fix=_FIX_JOURNAL)


def _rdb_storage(url: str, attempts: int = 6):
    """RDBStorage, retried while another worker is creating the same tables.

    Optuna creates its schema with check-then-create, which PostgreSQL does not
    make atomic: two workers starting together on an empty database race, and
    the loser sees a duplicate type or table. Once the winner is done a retry
    simply finds the tables."""
    import random
    import time

    import optuna
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 + random.random() * (attempt + 1))


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user_pass = head.partition("//")
    return f"{scheme}//{user_pass.split(':', 1)[0]}:***@{tail}"


def make_sampler(name: str, n_objectives: int, seed: int, constraints):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints, multivariate=True,
                                          n_startup_trials=5)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints, population_size=8)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        try:
            import torch  # noqa: F401  (Optuna's GPSampler computes with PyTorch)
        except ImportError:
            raise UserError("--sampler gp uses Optuna's GPSampler, which needs PyTorch, and PyTorch is not "
                            "installed.", fix="`.venv/bin/pip install -e '.[gp]'` (PyTorch; about 5.5 GB from "
                                              "PyPI), or use --sampler tpe (also model-based) or nsga2.") from None
        return optuna.samplers.GPSampler(seed=seed, constraints_func=constraints)
    raise UserError(f"unknown sampler '{name}'.", fix="use tpe, nsga2, random or gp.")


def open_study(storage, name: str, directions, sampler, pruner, resume: bool):
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    try:
        existing = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    except Exception as exc:
        raise UserError(f"cannot read the study storage: {str(exc).splitlines()[0]}.",
                        fix="check --storage, or remove a damaged study.journal.") from None
    if resume and name not in existing:
        raise UserError(f"there is no study '{name}' to resume in this storage.",
                        fix="drop --resume to start it, or give --study with the name the search printed.")
    study = optuna.create_study(storage=storage, study_name=name, directions=directions, sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    if list(study.directions) != [optuna.study.StudyDirection.MINIMIZE] * len(directions):
        raise UserError(f"study '{name}' was started with {len(study.directions)} objective(s), not "
                        f"{len(directions)}.", fix="use the same --objective as the other workers, or another "
                                                  "--study name.")
    return study
