"""Structure search: Pareto hypervolume reached per training epoch, by method.

On the bundled digits (a subset, so that a full comparison takes minutes),
every method gets the same budget of training epochs (--budget) and the same
epochs per fully trained candidate (--epochs):

  mutation        NNC-style random mutation of projects/lenet-mnist.yaml's network
  nsga2, tpe      Optuna's samplers over the declared space of examples/search/lenet-space.yaml
  ...+fidelity    the same, with multi-fidelity (1 epoch, then --epochs; Pareto-rank promotion)

For each, the hypervolume of the Pareto front of (validation error,
multiply-adds / --macs-ref) against the reference point (--error-ref, 1) is
followed as training epochs accumulate. Reported: every method's final
hypervolume as a ratio to the mutation baseline's, and the fraction of the
budget each method needed to reach the baseline's final hypervolume (the
issue's target: at most 0.5 for the best method).

    python benchmarks/bench_search.py [--budget 36] [--epochs 3] [--seeds 0 1] [--out PATH]
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time

import yaml

from bench_report import write_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SPACE = os.path.join(ROOT, "examples", "search", "lenet-space.yaml")
LENET = os.path.join(ROOT, "projects", "lenet-mnist.yaml")
METHODS = ["mutation", "nsga2", "tpe", "mutation+fidelity", "nsga2+fidelity", "tpe+fidelity"]


def subset(csv_in: str, csv_out: str, n: int) -> str:
    with open(csv_in) as f:
        rows = f.read().splitlines()
    with open(csv_out, "w") as f:
        f.write("\n".join(rows[:n + 1]) + "\n")
    return csv_out


def project_file(folder: str, source: str, train: str, valid: str, epochs: int) -> str:
    doc = yaml.safe_load(open(source))
    doc.pop("search", None)
    doc["datasets"] = {"training": {"csv": train}, "validation": {"csv": valid}}
    doc["training"]["max_epoch"] = epochs
    doc["training"]["batch_size"] = 32
    path = os.path.join(folder, os.path.basename(source))
    with open(path, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return path


def run_method(method: str, projects: dict, out: str, args, seed: int) -> dict:
    from nncgraph.search.engine import run_search
    from nncgraph.search.settings import Fidelity, SearchSettings

    base, _, fidelity = method.partition("+")
    settings = SearchSettings(trials=10_000, objective="error+macs", sampler="random" if base == "mutation" else base,
                              seed=seed, epoch_budget=args.budget,
                              fidelity=Fidelity(1, args.epochs, "sha") if fidelity else None)
    started = time.perf_counter()
    run_search(projects["mutation" if base == "mutation" else "space"], out, settings, log=lambda _: None)
    seconds = time.perf_counter() - started
    with open(os.path.join(out, "search.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["state"] in ("COMPLETE", "PRUNED")]
    return {"rows": rows, "seconds": round(seconds, 1)}


def curve(rows, args):
    """[(epochs spent so far, hypervolume of the fully trained candidates so far)] in trial order."""
    from nncgraph.search.results import hypervolume

    spent, points, out = 0, [], []
    for r in sorted(rows, key=lambda r: int(r["trial"])):
        spent += int(r["epochs"])
        if spent > args.budget:
            break
        if r["state"] == "COMPLETE":
            points.append((float(r["valid_error"]), int(r["cost_multiply_add"]) / args.macs_ref))
        front = points        # hypervolume() ignores dominated points itself
        out.append((spent, hypervolume([(e, m) for e, m in front], (args.error_ref, 1.0))))
    return out


def epochs_to_reach(points, target: float):
    return next((spent for spent, hv in points if hv >= target - 1e-12), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=36, help="training epochs per method (default 36)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of a fully trained candidate (default 3)")
    parser.add_argument("--train", type=int, default=1500, help="training digits used (default 1500)")
    parser.add_argument("--valid", type=int, default=500, help="validation digits used (default 500)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--error-ref", type=float, default=0.5)
    parser.add_argument("--macs-ref", type=float, default=3_000_000)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "search.json"))
    args = parser.parse_args()

    from nncgraph.engines.nnabla.context import quiet_nnabla_logging
    from nncgraph.data.mnist_sample import write_mnist_sample

    quiet_nnabla_logging()
    report = {"budget_epochs": args.budget, "epochs_per_candidate": args.epochs, "train_digits": args.train,
              "valid_digits": args.valid, "reference": {"error": args.error_ref, "macs": args.macs_ref},
              "seeds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_mnist_sample(os.path.join(tmp, "mnist"))
        train = subset(data["train_csv"], os.path.join(tmp, "mnist", "train-subset.csv"), args.train)
        valid = subset(data["valid_csv"], os.path.join(tmp, "mnist", "valid-subset.csv"), args.valid)
        projects = {"space": project_file(tmp, SPACE, train, valid, args.epochs),
                    "mutation": project_file(tmp, LENET, train, valid, args.epochs)}
        for seed in args.seeds:
            results = {}
            for method in args.methods:
                got = run_method(method, projects, os.path.join(tmp, f"{method}-{seed}"), args, seed)
                points = curve(got["rows"], args)
                results[method] = {"final_hypervolume": points[-1][1] if points else 0.0,
                                   "epochs_spent": points[-1][0] if points else 0,
                                   "candidates": len(points), "seconds": got["seconds"], "curve": points}
                print(f"seed {seed} {method:18s} hypervolume {results[method]['final_hypervolume']:.4f} "
                      f"after {results[method]['epochs_spent']} epochs, {len(points)} candidates, "
                      f"{got['seconds']} s", flush=True)
            if "mutation" in results:
                baseline = results["mutation"]["final_hypervolume"]
                for method, r in results.items():
                    r["hypervolume_ratio_to_mutation"] = round(r["final_hypervolume"] / baseline, 4) \
                        if baseline else None
                    reach = epochs_to_reach(r["curve"], baseline)
                    r["budget_fraction_to_reach_mutation_final"] = None if reach is None else \
                        round(reach / args.budget, 4)
            report["seeds"][str(seed)] = results
    summary = {}
    for method in args.methods:
        fractions = [report["seeds"][s][method].get("budget_fraction_to_reach_mutation_final")
                     for s in report["seeds"]]
        ratios = [report["seeds"][s][method].get("hypervolume_ratio_to_mutation") for s in report["seeds"]]
        summary[method] = {
            "hypervolume_ratio_to_mutation_median": statistics.median([r for r in ratios if r is not None])
            if any(r is not None for r in ratios) else None,
            "budget_fraction_to_reach_mutation_final": fractions}
        print(f"{method:18s} hypervolume / mutation's: {ratios}; budget fraction to reach mutation's final: "
              f"{fractions}")
    report["summary"] = summary
    write_report(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
