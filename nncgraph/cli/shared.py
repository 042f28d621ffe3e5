"""Helpers every subcommand module uses; main.py and the subcommand modules import them from here, so
neither imports the other."""
from __future__ import annotations

import os


def display_path(path: str) -> str:
    """Relative to the working directory when inside it, else absolute."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
