"""The evaluation's pictures: the confusion matrix and NNC's likelihood graph."""
from __future__ import annotations

import os
from typing import List, Optional, Sequence

import numpy as np

from ..atomic_files import atomic_output


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")     # no display: the files are the result
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> None:
    plt = _pyplot()
    try:
        with atomic_output(path, ".png") as tmp:      # a reader never sees half a picture
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path: str, title: str,
                          columns: Optional[Sequence[str]] = None) -> None:
    """Counts in every cell; rows are true labels, columns predictions (`columns`: their labels, when they
    are more than the classes, e.g. a "non-finite" column)."""
    plt = _pyplot()
    columns = list(columns or labels)
    n, m = len(labels), len(columns)
    side = min(4 + 0.5 * n, 24)     # 100 classes still fit on a screen
    fig, ax = plt.subplots(figsize=(side, side * 0.85))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(1, int(matrix.max())))
    ax.set_xticks(np.arange(m))
    ax.set_yticks(np.arange(n))
    ax.set_xticklabels(columns, rotation=90 if m > 10 or max(map(len, columns), default=0) > 4 else 0)
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 40:     # beyond that the digits are unreadable anyway
        bright = matrix.max() / 2 if matrix.max() else 1
        size = max(5, 12 - n // 5)
        for i in range(n):
            for j in range(m):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=size,
                        color="white" if matrix[i, j] > bright else "black")
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)


def plot_likelihood(edges: Sequence[float], correct: List[int], incorrect: List[int], path: str,
                    title: str) -> None:
    """How sure the network was (top-1 probability), for right and wrong answers side by side."""
    plt = _pyplot()
    edges = np.asarray(edges)
    width = edges[1] - edges[0]
    left = edges[:-1]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(left + width * 0.05, correct, width=width * 0.45, align="edge", color="tab:blue", label="correct")
    ax.bar(left + width * 0.5, incorrect, width=width * 0.45, align="edge", color="tab:red", label="incorrect")
    ax.set_xlim(0, 1)
    ax.set_xticks(edges[::2])
    ax.set_xlabel("top-1 probability")
    ax.set_ylabel("samples")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)
