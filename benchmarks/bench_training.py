"""Training throughput: nncgraph's trainer against a hand-written nnabla loop.

Both train the LeNet of projects/lenet-mnist.yaml on the bundled digits
(4,000 training, 1,000 validation samples) with the same initialization,
batch size, optimizer, shuffling and iterations per epoch, in one process:

    python benchmarks/bench_training.py [--epochs N] [--repeats R] [--out PATH]

Throughput counts only the training passes (nncgraph: the per-epoch
`train_seconds` of its metrics; hand loop: the same span timed here), so data
loading, validation and checkpointing are outside it for both. The two runs
alternate (nncgraph, hand, hand, nncgraph, ...) to cancel drift, and the
median of each is reported.

The whole-run figure times the epochs together with a validation after every
epoch (both sides), after data loading and graph building: nncgraph also
writes checkpoints and the learning curve, and validates on a second thread.
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from bench_report import write_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PROJECT = os.path.join(ROOT, "projects", "lenet-mnist.yaml")


def _quiet() -> None:
    logging.getLogger("nnabla").setLevel(logging.WARNING)


# -- (a) nncgraph -------------------------------------------------------------
def run_nncgraph(epochs: int) -> dict:
    from nncgraph.project.load import load_project
    from nncgraph.train.run_folder import RunFolder
    from nncgraph.train.trainer import train_project

    project = load_project(PROJECT)
    project.training.max_epoch = epochs
    with tempfile.TemporaryDirectory(prefix="bench-nncgraph-") as tmp:
        run = RunFolder(os.path.join(tmp, "run"))
        t0 = time.perf_counter()
        result = train_project(project, run, log=lambda line: None)
        wall = time.perf_counter() - t0
        with open(run.file("result.json"), encoding="utf-8") as f:
            summary = json.load(f)
    n = summary["train_samples"]
    train_seconds = sum(row["train_seconds"] for row in result.rows)
    return {
        "train_samples": n,
        "epochs": epochs,
        "train_seconds": train_seconds,
        "train_seconds_per_epoch": [row["train_seconds"] for row in result.rows],
        "images_per_second": n * epochs / train_seconds,
        "wall_seconds": wall,
        # the epochs with their validation, checkpoints and plot; after data loading and graph building
        "whole_seconds": summary["seconds"],
        "final_cost": result.final["cost"],
        "valid_error": result.final["valid_error"],
        "valid_accuracy": 1.0 - result.final["valid_error"],
    }


# -- (b) hand-written nnabla ----------------------------------------------------
def lenet(x):
    """projects/lenet-mnist.yaml written directly; same scopes and init as nncgraph."""
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.initializer as I
    import nnabla.parametric_functions as PF

    def conv(h, maps, k, scope):
        std = I.calc_normal_std_glorot(h.shape[1], maps, k)
        with nn.parameter_scope(scope):
            return PF.convolution(h, maps, k, pad=(0, 0), w_init=I.NormalInitializer(std),
                                  b_init=I.ConstantInitializer(0))

    def affine(h, n, scope):
        std = I.calc_normal_std_glorot(int(np.prod(h.shape[1:])), n)
        with nn.parameter_scope(scope):
            return PF.affine(h, n, w_init=I.NormalInitializer(std), b_init=I.ConstantInitializer(0))

    h = conv(x, 16, (7, 7), "Convolution")
    h = F.relu(h)
    h = F.max_pooling(h, (2, 2))
    h = conv(h, 30, (3, 3), "Convolution_2")
    h = F.max_pooling(h, (2, 2))
    h = F.tanh(h)
    h = affine(h, 150, "Affine")
    h = F.relu(h)
    h = affine(h, 10, "Affine_2")
    return F.softmax(h)


def run_hand(epochs: int, train: dict, valid: dict, *, batch: int = 64, seed: int = 0,
             alpha: float = 0.001) -> dict:
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.solvers as S
    from nnabla.ext_utils import get_extension_context

    x_train, y_train = train["x"], train["y"]
    x_valid, y_valid = valid["x"], valid["y"]
    nn.set_default_context(get_extension_context("cpu", type_config="float"))
    nn.clear_parameters()
    np.random.seed(seed)            # the initializers draw from NumPy's global generator
    nn.random.seed(seed)

    x = nn.Variable((batch, *x_train.shape[1:]))
    t = nn.Variable((batch, 1))
    loss = F.mean(F.categorical_cross_entropy(lenet(x), t, axis=1))
    vx = nn.Variable((batch, *x_valid.shape[1:]))
    vpred = lenet(vx)

    solver = S.Adam(alpha=alpha)
    solver.set_parameters(nn.get_parameters())

    def validate() -> float:
        """Accuracy over the validation digits, each counted once (last batch padded)."""
        m, correct = len(x_valid), 0
        for start in range(0, m, batch):
            stop = min(start + batch, m)
            count = stop - start
            chunk = x_valid[start:stop]
            if count < batch:
                chunk = np.concatenate([chunk, np.zeros((batch - count, *chunk.shape[1:]), chunk.dtype)])
            vx.d = chunk
            vpred.forward(clear_buffer=True)
            correct += int((vpred.d[:count].argmax(axis=1) == np.rint(y_valid[start:stop, 0])).sum())
        return correct / m

    n = len(x_train)
    iterations = -(-n // batch)
    rng = np.random.RandomState(seed)
    per_epoch = []
    whole_start = time.perf_counter()
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        order = np.concatenate([order, order[:iterations * batch - n]])   # last batch wraps around
        for it in range(iterations):
            idx = order[it * batch:(it + 1) * batch]
            x.d = x_train[idx]
            t.d = y_train[idx]
            # nnabla accumulates parameter gradients, so they are zeroed each step
            # (nncgraph does the same); without it Adam sees the running sum.
            solver.zero_grad()
            loss.forward(clear_no_need_grad=True)
            loss.backward(clear_buffer=True)
            solver.update()
        per_epoch.append(time.perf_counter() - t0)
        accuracy = validate()        # every epoch, as nncgraph does: the same work
    whole_seconds = time.perf_counter() - whole_start
    train_seconds = sum(per_epoch)
    return {
        "train_samples": n,
        "epochs": epochs,
        "train_seconds": train_seconds,
        "train_seconds_per_epoch": [round(t, 3) for t in per_epoch],
        "images_per_second": n * epochs / train_seconds,
        "valid_error": 1.0 - accuracy,
        "valid_accuracy": accuracy,
        "whole_seconds": whole_seconds,
    }


# -- driver ---------------------------------------------------------------------
def load_arrays() -> tuple:
    from nncgraph.data.csv_dataset import load_csv_dataset
    from nncgraph.project.load import load_project

    project = load_project(PROJECT)
    out = []
    for name in ("training", "validation"):
        spec = project.datasets[name]
        if not os.path.isfile(spec.csv):
            sys.exit(f"{spec.csv} is missing; create it with "
                     "`.venv/bin/nncgraph dataset mnist-sample -o data/mnist` from the project root.")
        data = load_csv_dataset(spec.csv, image_normalization=spec.image_normalization)   # image / 255
        out.append({"x": data.as_float32("x"), "y": data.as_float32("y")})
    return tuple(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2, help="rounds; each runs both once")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "training.json"))
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1:
        parser.error("--epochs and --repeats must be at least 1")

    _quiet()
    import nnabla  # noqa: F401  (import, and its INFO line, before anything is timed)
    _quiet()
    train, valid = load_arrays()
    from nncgraph.project.load import load_project

    settings = load_project(PROJECT).training      # the hand loop uses the project's own settings
    batch, alpha = settings.batch_size, settings.optimizer.params["alpha"]

    runs = {"nncgraph": [], "hand": []}
    for r in range(args.repeats):
        order = ("nncgraph", "hand") if r % 2 == 0 else ("hand", "nncgraph")
        for which in order:
            if which == "nncgraph":
                res = run_nncgraph(args.epochs)
            else:
                res = run_hand(args.epochs, train, valid, batch=batch, alpha=alpha, seed=settings.seed)
            res["round"] = r + 1
            runs[which].append(res)
            print(f"  round {r + 1} {which:8s} {res['images_per_second']:8.0f} images/s  "
                  f"train {res['train_seconds']:6.2f}s  valid acc {res['valid_accuracy']:.4f}",
                  file=sys.stderr)

    med = {k: statistics.median(r["images_per_second"] for r in v) for k, v in runs.items()}
    acc = {k: runs[k][-1]["valid_accuracy"] for k in runs}
    ratio = med["nncgraph"] / med["hand"]
    diff_points = (acc["nncgraph"] - acc["hand"]) * 100
    wall = statistics.median(r["wall_seconds"] for r in runs["nncgraph"])
    whole = {k: statistics.median(r["whole_seconds"] for r in v) for k, v in runs.items()}
    whole_ratio = whole["hand"] / whole["nncgraph"]
    # Secondary, robust to a single slow epoch (other processes on the machine):
    # the median over every epoch of every run.
    med_epoch = {k: statistics.median(r["train_samples"] / s for r in v for s in r["train_seconds_per_epoch"])
                 for k, v in runs.items()}

    print(f"LeNet / digits, {args.epochs} epochs x {runs['hand'][0]['train_samples']} samples, "
          f"batch {batch}, Adam {alpha}, median of {args.repeats}")
    print(f"{'':10s} {'images/s':>10s} {'valid acc':>10s}")
    print(f"{'nncgraph':10s} {med['nncgraph']:10.0f} {acc['nncgraph']:10.4f}")
    print(f"{'hand':10s} {med['hand']:10.0f} {acc['hand']:10.4f}")
    print(f"ratio nncgraph/hand  {ratio:.3f}   (median per-epoch images/s: nncgraph {med_epoch['nncgraph']:.0f}, "
          f"hand {med_epoch['hand']:.0f}, ratio {med_epoch['nncgraph'] / med_epoch['hand']:.3f})")
    print(f"accuracy difference  {diff_points:+.2f} points (nncgraph - hand)")
    print(f"whole run (training + validation every epoch): nncgraph {whole['nncgraph']:.2f}s, "
          f"hand {whole['hand']:.2f}s, speed ratio nncgraph/hand {whole_ratio:.3f}")
    print(f"nncgraph train_project wall time incl. loading the PNGs (median)  {wall:.2f}s")

    report = {
        "benchmark": "training throughput, nncgraph train_project vs hand-written nnabla loop",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "project": os.path.relpath(PROJECT, ROOT),
        "settings": {"epochs": args.epochs, "repeats": args.repeats, "batch_size": batch,
                     "optimizer": f"Adam(alpha={alpha})", "seed": settings.seed,
                     "order": "alternating nncgraph, hand, hand, nncgraph, ..."},
        "median_images_per_second": med,
        "ratio_nncgraph_over_hand": ratio,
        "median_epoch_images_per_second": med_epoch,
        "ratio_median_epoch_nncgraph_over_hand": med_epoch["nncgraph"] / med_epoch["hand"],
        "final_valid_accuracy": acc,
        "accuracy_difference_points": diff_points,
        "nncgraph_wall_seconds_median": wall,
        "whole_run_seconds_median": whole,
        "whole_run_speed_ratio_nncgraph_over_hand": whole_ratio,
        "runs": runs,
    }
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
