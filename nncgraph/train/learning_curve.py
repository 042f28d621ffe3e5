"""learning_curve.png: cost and error per epoch, as NNC's training view shows."""
from __future__ import annotations

from typing import Dict, List

from ..atomic_files import atomic_output


def plot_learning_curve(rows: List[Dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, (ax_cost, ax_err) = plt.subplots(1, 2, figsize=(10, 4))
    ax_cost.plot(epochs, [r["cost"] for r in rows], marker="o", label="training cost")
    valid = [(r["epoch"], r["valid_cost"]) for r in rows if r.get("valid_cost") is not None]
    if valid:
        ax_cost.plot(*zip(*valid), marker="o", label="validation cost")
    ax_err.plot(epochs, [r["train_error"] for r in rows], marker="o", label="training error")
    valid = [(r["epoch"], r["valid_error"]) for r in rows if r.get("valid_error") is not None]
    if valid:
        ax_err.plot(*zip(*valid), marker="o", label="validation error")
    for ax, label in ((ax_cost, "cost"), (ax_err, "error")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    try:
        with atomic_output(path, ".png") as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
