"""Train a project-written NNC fixture (tests/sdcproj_text.py) on a few real PNG digits, in this process:
issue 13's "imports, checks and trains one step" for each family of NNC semantics."""
from __future__ import annotations

import math

import nncgraph
from conftest import write_digits
from nncgraph.interop.sdcproj_import import import_sdcproj


def train_fixture(tmp_path, text: str, epochs: int = 1, stem: str = "fixture", **data):
    """Import `text` (an .sdcproj whose datasets are Training and Validation), train `epochs` on write_digits
    sets (`data`: write_digits' keywords), and return the run's metric rows, each checked finite."""
    source = tmp_path / f"{stem}.sdcproj"
    source.write_text(text, encoding="utf-8")
    project_file = tmp_path / f"{stem}.yaml"
    project_file.write_text(import_sdcproj(str(source)), encoding="utf-8")
    train = write_digits(str(tmp_path / "train"), **{"n": 24, **data})
    valid = write_digits(str(tmp_path / "valid"), **{"n": 12, "seed": 1, **data})
    run = nncgraph.load(str(project_file)).train(str(tmp_path / "run"), epochs=epochs, finish=False,
                                                log=lambda line: None,
                                                datasets={"training": train, "validation": valid})
    rows = run.metrics
    assert len(rows) == epochs
    for row in rows:
        assert all(math.isfinite(v) for k, v in row.items() if k.endswith(("cost", "error")) and v is not None)
    return rows
