"""Transfer learning on the bundled digits, as in field reports 1 and 5.

    python examples/transfer/run.py [--per-class 30]

1. pretrain.yaml learns a shared feature unit on digits 0-4 (all training images);
2. finetune.yaml reuses it (init_from) with a new head on digits 5-9 with only
   `--per-class` training images per class, features learning ten times slower;
3. scratch.yaml trains the same network on the same small set from scratch.
Prints both validation accuracies on all held-back 5-9 digits.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MNIST = os.path.join(ROOT, "data", "mnist")
DATA = os.path.join(ROOT, "data", "transfer")
RUNS = os.path.join(ROOT, "runs", "transfer")


def nncgraph(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "nncgraph", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr.strip())
    return proc.stdout


def write_subset(source: str, target: str, digits, per_class=None) -> int:
    """Rows of `source` with the given digits (relabelled 0..4), at most per_class of each."""
    with open(source, newline="") as f:
        rows = list(csv.reader(f))
    counts, kept = {}, [rows[0]]
    for path, label in rows[1:]:
        digit = int(label)
        if digit in digits and (per_class is None or counts.get(digit, 0) < per_class):
            counts[digit] = counts.get(digit, 0) + 1
            kept.append([os.path.relpath(os.path.join(MNIST, path), DATA), str(digits.index(digit))])
    with open(target, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(kept)
    return len(kept) - 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=30)
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(MNIST, "train.csv")):
        nncgraph("dataset", "mnist-sample", "-o", MNIST)
    os.makedirs(DATA, exist_ok=True)
    first, second = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
    sizes = {
        "pretrain-train": write_subset(os.path.join(MNIST, "train.csv"), os.path.join(DATA, "pretrain-train.csv"), first),
        "pretrain-valid": write_subset(os.path.join(MNIST, "valid.csv"), os.path.join(DATA, "pretrain-valid.csv"), first),
        "small-train": write_subset(os.path.join(MNIST, "train.csv"), os.path.join(DATA, "small-train.csv"), second,
                                    args.per_class),
        "small-valid": write_subset(os.path.join(MNIST, "valid.csv"), os.path.join(DATA, "small-valid.csv"), second),
    }
    shutil.rmtree(RUNS, ignore_errors=True)
    accuracy = {}
    for step in ("pretrain", "finetune", "scratch"):
        nncgraph("run", os.path.join(HERE, f"{step}.yaml"), "-o", os.path.join(RUNS, step))
        with open(os.path.join(RUNS, step, "result.json")) as f:
            accuracy[step] = 1 - json.load(f)["final"]["valid_error"]
    print(f"samples: {sizes}")
    print(f"pretrained on digits 0-4:             validation accuracy {accuracy['pretrain']:.4f}")
    print(f"digits 5-9, {args.per_class}/class, from scratch:   validation accuracy {accuracy['scratch']:.4f}")
    print(f"digits 5-9, {args.per_class}/class, fine-tuned:     validation accuracy {accuracy['finetune']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
