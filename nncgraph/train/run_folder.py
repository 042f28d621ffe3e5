"""The run folder a user keeps: atomic writes, so a killed run corrupts nothing.

A run writes only after claiming its folder (run_claim.py); until then nothing
here creates a file or folder, so a refused run leaves no trace.
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from typing import Dict, List

from ..atomic_files import atomic_write
from ..finite_checks import check_saved_parameters


class RunFolder:
    METRIC_COLUMNS = ("epoch", "cost", "train_error", "valid_cost", "valid_error", "learning_rate",
                      "train_seconds", "seconds")

    def __init__(self, path: str, unique: bool = False):
        # Created when claimed, so a run refused for bad input leaves nothing behind.
        self.path = os.path.abspath(path)
        # `unique`: a name of our choosing; if another run takes it first, the claim picks the next one
        self.unique = unique

    def _ensure(self) -> None:
        os.makedirs(os.path.join(self.path, "checkpoints"), exist_ok=True)

    @classmethod
    def new(cls, root: str, name: str) -> "RunFolder":
        return cls(os.path.join(root, name, time.strftime("%Y%m%d-%H%M%S")), unique=True)

    def existing(self, *parts: str) -> str:
        """A path inside the folder, for reading: creates nothing."""
        return os.path.join(self.path, *parts)

    def file(self, *parts: str) -> str:
        self._ensure()
        return os.path.join(self.path, *parts)

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text)

    def write_json(self, name: str, data) -> None:
        atomic_write(self.file(name), json.dumps(data, indent=2, sort_keys=True) + "\n")

    def write_metrics(self, rows: List[Dict]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in self.METRIC_COLUMNS})
        atomic_write(self.file("metrics.csv"), buf.getvalue())

    def save_parameters(self, name: str, params: Dict) -> str:
        """The parameter file (.h5, by NNC names), written atomically (built in memory: engines/parameter_file.py says why)."""
        from ..engines.parameter_file import parameters_h5

        path = self.file("checkpoints", name)
        check_saved_parameters(params, path)    # a non-finite best/last would pass for a trained model
        atomic_write(path, parameters_h5(params), "wb")
        return path
