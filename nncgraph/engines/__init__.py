"""Engines: the tensor libraries a graph runs on, behind one interface (base.py).

Only the engine modules (and the layers' `emit` lowerings they call) import a
tensor library; the trainer, the evaluator and the reports go through here.
"""
from __future__ import annotations

from typing import Optional

from .base import Engine

DEFAULT = "nnabla"


def make_engine(context, seed: Optional[int] = None, name: str = DEFAULT) -> Engine:
    """A fresh engine on the project's `context` (backend, device, precision), its parameter store
    empty and, with `seed`, its random generators seeded; a backend that is not there is a UserError."""
    if name != "nnabla":
        raise ValueError(f"unknown engine {name!r}")
    from .nnabla.engine import NnablaEngine      # imports nnabla only when an engine is made

    return NnablaEngine(context, seed)
