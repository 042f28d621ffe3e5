"""Shared test helpers: the CLI as a user runs it, and small real image datasets."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))


def run_cli(*args, cwd=None, env=None):
    """Run `python -m nncgraph ARGS` in a fresh process; (status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "nncgraph", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def write(path, text: str) -> str:
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def write_digits(folder, n=24, classes=3, size=8, seed=0, labels=None):
    """A tiny real-PNG dataset: class k images are bright in band k (learnable)."""
    from PIL import Image

    rng = np.random.RandomState(seed)
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)
    rows = ["x:image,y:label"]
    for i in range(n):
        label = i % classes if labels is None else labels[i]
        pixels = rng.randint(0, 60, (size, size)).astype(np.uint8)
        band = int(label) % classes
        pixels[:, band * size // classes:(band + 1) * size // classes] += 180
        Image.fromarray(pixels, "L").save(os.path.join(folder, "img", f"{i}.png"))
        rows.append(f"img/{i}.png,{label}")
    path = os.path.join(folder, "data.csv")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")
    return path


TINY_NETWORK = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
  - {type: ReLU}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def tiny_project(folder, train_csv, valid_csv=None, network=TINY_NETWORK, epochs=2, extra=""):
    valid = f"\n  validation: {{csv: {valid_csv}}}" if valid_csv else ""
    text = (f"name: tiny\ndatasets:\n  training: {{csv: {train_csv}}}{valid}\n"
            + textwrap.dedent(network).lstrip("\n")
            + f"training: {{max_epoch: {epochs}, batch_size: 8, seed: 1}}\n" + extra)
    path = os.path.join(folder, "project.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.fixture
def digits(tmp_path):
    return write_digits(str(tmp_path / "data"))
