"""Helpers every subcommand module uses; main.py and the subcommand modules import them from here, so
neither imports the other."""
from __future__ import annotations

import os

from ..errors import UserError


def display_path(path: str) -> str:
    """Relative to the working directory when inside it, else absolute."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def add_dataset_option(parser) -> None:
    parser.add_argument("--dataset", action="append", default=[], metavar="NAME=CSV",
                        help="use CSV for dataset NAME (training, validation), e.g. for a zoo project or an NNC "
                             "project's dataset URIs")


def dataset_overrides(args):
    """--dataset NAME=CSV ... as {NAME: CSV}: paths relative to the working directory, as typed."""
    out = {}
    for item in args.dataset:
        name, sep, csv = item.partition("=")
        if not sep or not name or not csv:
            raise UserError(f"--dataset needs NAME=CSV, got '{item}'.", fix="e.g. --dataset training=data/train.csv")
        out[name] = csv
    return out
