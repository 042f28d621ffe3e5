"""`nncgraph check` scales linearly with the number of layers.

    python benchmarks/bench_check.py [--repeats R] [--out PATH]

One project, a unit of two layers (Affine, ReLU) chained with `repeat: N`
between an Input and a SoftmaxCrossEntropy, written for N = 1,000 and 8,000
(2,003 and 16,003 layers). For each, in one process, seconds = the best of
--repeats rounds (the median is recorded too: on a shared machine the best is
the least disturbed) of what `nncgraph check` does after Python starts: load
the project, expand it, build the graph, run the shape pass for the three
variants and format the table. Linear work gives a ratio near 8; before the
graph's topological sort used a heap it was 21 (quadratic).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from bench_report import write_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SIZES = (1000, 8000)


def project_text(repeat: int) -> str:
    return f"""name: bench-check
datasets:
  training: {{csv: data.csv}}
units:
  Block:
    args: {{maps: 4}}
    layers:
      - {{type: Affine, out_shape: $maps}}
      - {{type: ReLU}}
network:
  - {{type: Input, size: [4]}}
  - {{type: Unit, unit: Block, repeat: {repeat}}}
  - {{type: Affine, out_shape: 3}}
  - {{type: SoftmaxCrossEntropy, target: y}}
"""


def time_check(path: str) -> float:
    from nncgraph.graph.network_table import check_project, check_text
    from nncgraph.project.load import load_project

    start = time.perf_counter()
    check_text(check_project(load_project(path)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "check.json"))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            path = os.path.join(tmp, f"repeat{n}.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(project_text(n))
            time_check(path)            # warm: imports and the layer registry
            times = [time_check(path) for _ in range(args.repeats)]
            results[str(n)] = {"layers": 2 * n + 3, "seconds": min(times), "median": statistics.median(times),
                               "all": times}
            print(f"repeat {n:>5}: {2 * n + 3:>6} layers  best {min(times):.3f} s, median "
                  f"{statistics.median(times):.3f} s")
    ratio = results[str(SIZES[1])]["seconds"] / results[str(SIZES[0])]["seconds"]
    print(f"time ratio {SIZES[1]} / {SIZES[0]} repeats: {ratio:.1f} (linear: {SIZES[1] / SIZES[0]:.0f})")
    write_report(args.out, {"benchmark": "check", "repeats": args.repeats, "sizes": results,
                            "ratio": ratio, "linear_ratio": SIZES[1] / SIZES[0]})


if __name__ == "__main__":
    main()
