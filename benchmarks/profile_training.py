"""Where nncgraph's training loop spends its time, per iteration, next to the hand loop.

    python benchmarks/profile_training.py [--epochs 2] [--top 25]

Runs bench_training's two loops under cProfile (one after the other, same
process) and prints the functions with the most own time, in milliseconds per
training iteration. Only the profiler's view of the training loop is of
interest: nncgraph's totals also include graph building, data loading,
validation and checkpointing, which happen once per run or epoch.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_training as bench  # noqa: E402


# Python helpers nncgraph's train loop calls once (or more) per iteration.
PER_ITERATION = ("(sample_costs)", "(sample_errors)", "(per_sample)", "(learning_rate)", "(_decay)",
                 "tqdm/std.py", "(prediction)", "set_learning_rate", "zero_grad", "(update)",
                 "(forward)", "(backward)", "argmax", "(rint)", "_methods.py")


def table(profile: cProfile.Profile, iterations: int, top: int, title: str) -> None:
    stats = pstats.Stats(profile)
    rows = []
    for (path, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        where = func if path == "~" else f"{os.path.relpath(path, bench.ROOT) if path.startswith(bench.ROOT) else os.path.basename(path)}:{line}({func})"
        rows.append((tt, ct, nc, where))
    rows.sort(reverse=True)
    print(f"\n== {title}: {iterations} iterations; ms per iteration (own / cumulative), calls per iteration")
    for tt, ct, nc, where in rows[:top]:
        print(f"{tt / iterations * 1e3:8.3f} {ct / iterations * 1e3:8.3f} {nc / iterations:7.2f}  {where}")
    picked = [r for r in rows if any(k in r[3] for k in PER_ITERATION)]
    if picked:
        print("-- per-iteration helpers of the loop (own / cumulative ms per iteration, calls per iteration)")
        for tt, ct, nc, where in sorted(picked, key=lambda r: -r[1]):
            print(f"{tt / iterations * 1e3:8.3f} {ct / iterations * 1e3:8.3f} {nc / iterations:7.2f}  {where}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    bench._quiet()
    import nnabla  # noqa: F401
    bench._quiet()
    train, valid = bench.load_arrays()
    iterations = -(-len(train["x"]) // 64) * args.epochs

    bench.run_hand(1, train, valid)          # warm up both paths outside the profile
    bench.run_nncgraph(1)

    p = cProfile.Profile()
    p.enable()
    res = bench.run_nncgraph(args.epochs)
    p.disable()
    print(f"nncgraph: train_seconds {res['train_seconds']:.2f}s "
          f"({res['train_seconds'] / iterations * 1e3:.2f} ms/iteration under the profiler)")
    table(p, iterations, args.top, "nncgraph train_project")

    p = cProfile.Profile()
    p.enable()
    res = bench.run_hand(args.epochs, train, valid)
    p.disable()
    print(f"\nhand: train_seconds {res['train_seconds']:.2f}s "
          f"({res['train_seconds'] / iterations * 1e3:.2f} ms/iteration under the profiler)")
    table(p, iterations, args.top, "hand-written loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
