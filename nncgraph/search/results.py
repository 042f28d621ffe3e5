"""What a search leaves: search.csv, tradeoff.png and the Pareto projects, from the study.

Everything is read back from the study, so any worker (on any machine) can
write the results of all of them, and a resumed search rewrites them whole.
Columns follow NNC's structure-search table: trial, state, epochs, training
and validation error, CostParameter and CostMultiplyAdd, and whether the
candidate is Pareto-optimal in (validation error, cost).
"""
from __future__ import annotations

import csv
import io
import os
from typing import List

from ..atomic_files import atomic_output, atomic_write
from ..finite_checks import is_finite_number
from .fidelity import fronts

COLUMNS = ["trial", "state", "epochs", "train_error", "valid_error", "cost_parameter", "cost_multiply_add",
           "pareto", "seconds", "worker", "change", "project"]


def pareto_trials(trials, cost_key: str = "macs") -> List:
    """Complete trials not dominated in (validation error, cost) and within the error range."""
    feasible = [t for t in trials if t.state.name == "COMPLETE" and cost_key in t.user_attrs
                and is_finite_number(t.user_attrs.get("valid_error"))
                and all(c <= 0 for c in t.user_attrs.get("constraints", [0.0]))]
    if not feasible:
        return []
    points = [(t.user_attrs["valid_error"], t.user_attrs[cost_key]) for t in feasible]
    first = fronts(points)[0]
    return sorted((feasible[i] for i in first), key=lambda t: t.user_attrs[cost_key])


def write_results(study, out: str, settings) -> dict:
    trials = study.get_trials(deepcopy=False)
    front = pareto_trials(trials, settings.cost_key)
    on_front = {t.number for t in front}
    rows = []
    for t in sorted(trials, key=lambda t: t.number):
        attrs = t.user_attrs
        rows.append({
            "trial": t.number, "state": _state_name(t),
            "epochs": attrs.get("epochs", ""), "train_error": _num(attrs.get("train_error")),
            "valid_error": _num(attrs.get("valid_error")), "cost_parameter": attrs.get("params", ""),
            "cost_multiply_add": attrs.get("macs", ""), "pareto": int(t.number in on_front),
            "seconds": attrs.get("seconds", ""), "worker": attrs.get("worker", ""),
            "change": attrs.get("change", attrs.get("invalid", "")),
            "project": os.path.join("trials", f"{t.number:04d}", "project.yaml") if "candidate" in attrs else ""})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(os.path.join(out, "search.csv"), buffer.getvalue())
    pareto_dir = os.path.join(out, "pareto")
    os.makedirs(pareto_dir, exist_ok=True)
    for t in front:
        atomic_write(os.path.join(pareto_dir, f"trial_{t.number:04d}.yaml"), t.user_attrs["candidate"])
    for stale in os.listdir(pareto_dir):      # a resumed search's front can lose members
        if stale.endswith(".yaml") and int(stale[6:10]) not in on_front:
            os.remove(os.path.join(pareto_dir, stale))
    plot_tradeoff(rows, os.path.join(out, "tradeoff.png"), study.study_name,
                  "cost_parameter" if settings.cost_key == "params" else "cost_multiply_add")
    return {"trials": len(rows), "complete": sum(r["state"] == "COMPLETE" for r in rows),
            "pruned": sum(r["state"] == "PRUNED" for r in rows),
            "invalid": sum(r["state"] == "INVALID" for r in rows),
            "diverged": sum(r["state"] == "DIVERGED" for r in rows),
            "pareto": [t.number for t in front], "csv": os.path.join(out, "search.csv"),
            "plot": os.path.join(out, "tradeoff.png"), "pareto_dir": pareto_dir}


def _state_name(trial) -> str:
    """Optuna's state, with the failures told apart: never trained (INVALID) or trained into NaN (DIVERGED)."""
    if "invalid" in trial.user_attrs:
        return "INVALID"
    return "DIVERGED" if "diverged" in trial.user_attrs else trial.state.name


def _num(value):
    return "" if value is None else f"{value:.6g}"


def plot_tradeoff(rows, path: str, title: str, cost_column: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for state, style in (("COMPLETE", dict(c="#4878a8", s=28, label="trained")),
                         ("PRUNED", dict(c="#bbbbbb", s=18, marker="x", label="stopped early"))):
        pts = [(r[cost_column], float(r["valid_error"])) for r in rows
               if r["state"] == state and r["valid_error"] != "" and r[cost_column] != ""]
        if pts:
            ax.scatter(*zip(*pts), **style)
    front = sorted((r[cost_column], float(r["valid_error"]), r["trial"]) for r in rows if r["pareto"])
    if front:
        ax.plot([p[0] for p in front], [p[1] for p in front], "-o", c="#d1495b", ms=7, label="Pareto front")
        for x, y, n in front:
            ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("multiply-adds" if cost_column == "cost_multiply_add" else "parameters")
    ax.set_ylabel("validation error")
    ax.set_title(f"structure search '{title}'")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        with atomic_output(path, ".png") as tmp:
            fig.savefig(tmp)
    finally:
        plt.close(fig)


def hypervolume(points, reference) -> float:
    """Area dominated by `points` (both coordinates minimized) inside the box up to `reference`."""
    inside = sorted((x, y) for x, y in points if x < reference[0] and y < reference[1])
    # sweep by x: each point that lowers y adds the band between its y and the previous best,
    # from its x to the reference's x
    area, prev_y = 0.0, reference[1]
    for x, y in inside:
        if y < prev_y:
            area += (reference[0] - x) * (prev_y - y)
            prev_y = y
    return area
