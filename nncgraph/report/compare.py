"""`nncgraph compare RUN_DIR...`: validation error curves of several runs on one
plot (compare.png) and their final metrics as a table (printed and compare.csv)."""
from __future__ import annotations

import csv
import io
import os
from typing import Dict, List, Sequence

from ..atomic_files import atomic_write, make_folder
from ..errors import UserError
from ..train.run_folder import RunFolder

COLUMNS = ("run", "epochs", "final_train_error", "final_valid_error", "best_valid_error", "params", "seconds")


def run_summary(run: RunFolder, label: str) -> Dict:
    rows = run.read_metrics()
    result = run.read_result()
    if not rows:
        what = "rows: no epoch finished" if run.has_metrics() else "file"
        raise UserError(f"run folder '{run.path}' has no metrics.csv {what}.",
                        fix="compare runs that trained at least one epoch.")
    valid = [r["valid_error"] for r in rows if r.get("valid_error") is not None]
    final = rows[-1]
    return {"run": label, "epochs": final["epoch"], "final_train_error": final.get("train_error"),
            "final_valid_error": valid[-1] if valid else None,
            "best_valid_error": min(valid) if valid else None,
            "params": result.get("total_params"), "seconds": result.get("seconds"),
            "curve": [(r["epoch"], r["valid_error"]) for r in rows if r.get("valid_error") is not None]}


def labels_for(run_dirs: Sequence[str]) -> List[str]:
    """Short names: the path relative to the working directory, or absolute outside it."""
    out = []
    for d in run_dirs:
        rel = os.path.relpath(d)
        out.append(d if rel.startswith("..") else rel)
    return out


def compare_runs(run_dirs: Sequence[str], output: str) -> List[Dict]:
    if len(run_dirs) < 1:
        raise UserError("compare needs at least one run folder.", fix="nncgraph compare RUN_DIR RUN_DIR ...")
    runs = [RunFolder.open(d) for d in run_dirs]
    summaries = [run_summary(r, label) for r, label in zip(runs, labels_for([r.path for r in runs]))]
    make_folder(output)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in summaries:
        writer.writerow(["" if s[c] is None else s[c] for c in COLUMNS])
    atomic_write(os.path.join(output, "compare.csv"), buf.getvalue())
    _plot(summaries, os.path.join(output, "compare.png"))
    return summaries


def _plot(summaries: List[Dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for s in summaries:
        if s["curve"]:
            ax.plot(*zip(*s["curve"]), marker="o", label=s["run"])
    if not any(s["curve"] for s in summaries):
        ax.text(0.5, 0.5, "no run recorded a validation error", ha="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation error")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_title("Validation error")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buf.getvalue(), "wb")


def table_lines(summaries: List[Dict]) -> List[str]:
    def cell(v, column):
        if v is None:
            return "-"
        if column in ("final_train_error", "final_valid_error", "best_valid_error"):
            return f"{v:.4f}"
        if column == "params":
            return f"{v:,}"
        return str(v)

    table = [list(COLUMNS)] + [[cell(s[c], c) for c in COLUMNS] for s in summaries]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in table]
