"""Grayscale vs RGB and input size, on the bundled digits (field report 3's experiments).

    python examples/image-experiments/run.py [--epochs N]

For every configuration in this folder it makes the dataset with
`nncgraph dataset create` (the digits resized from data/mnist/images), trains
it with `nncgraph run`, and prints one table: channels, size, parameters,
multiply-adds, validation accuracy and seconds per epoch.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def nncgraph(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "nncgraph", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr.strip() or f"nncgraph {' '.join(map(str, args))} failed")
    return proc.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override each configuration's max_epoch")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs", "image-experiments",
                                                       time.strftime("%Y%m%d-%H%M%S")))
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "experiments"),
                        help="where the datasets are made (the configurations read data/experiments)")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(ROOT, "data", "mnist", "train.csv")):
        nncgraph("dataset", "mnist-sample", "-o", "data/mnist")
    rows = []
    for config in sorted(glob.glob(os.path.join(HERE, "*.yaml"))):
        name = os.path.basename(config)[:-5]
        size = json.loads(nncgraph("check", config, "--json"))["networks"]["Main"]["variants"]["training"]
        shape = size["layers"][0]["output"]
        data = os.path.join(args.data, name)
        if not os.path.isfile(os.path.join(data, "train.csv")):
            nncgraph("dataset", "create", "data/mnist/images", "-o", data, "--width", shape[2], "--height",
                     shape[1], "--channels", shape[0], "--mode", "resize", "--split", "80,20")
        run = os.path.join(args.runs, name)
        nncgraph("run", config, "-o", run, "--dataset", f"training={data}/train.csv",
                 "--dataset", f"validation={data}/valid.csv", *(["--epochs", args.epochs] if args.epochs else []))
        result = json.load(open(os.path.join(run, "result.json")))
        seconds = result["seconds"] / result["epochs"]
        rows.append((name, shape[0], f"{shape[1]}x{shape[2]}", size["total_params"], size["total_macs"],
                     1 - result["final"]["valid_error"], seconds))
    print(f"{'configuration':<14} {'channels':>8} {'size':>6} {'params':>9} {'macs':>11} {'accuracy':>9} "
          f"{'s/epoch':>8}")
    for name, ch, size, params, macs, acc, sec in rows:
        print(f"{name:<14} {ch:>8} {size:>6} {params:>9,} {macs:>11,} {acc:>9.4f} {sec:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
