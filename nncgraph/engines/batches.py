"""Every sample once, in batches of the compiled size: the last batch is padded.

A compiled network has a fixed batch size, so the last, shorter batch is
filled up with zeros; the caller keeps the first `stop - start` rows of what
comes out (training wraps around instead: see train/trainer.py).
"""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, Mapping, Optional, Tuple

import numpy as np

from ..data.csv_dataset import to_float32
from .generated import EVALUATION, Draws


def padded_batches(arrays: Mapping[str, np.ndarray], batch_size: int, names: Iterable[str],
                   scales: Optional[Mapping[str, float]] = None, n: Optional[int] = None,
                   draws: Optional[Draws] = None) -> Iterator[Tuple[int, int, Dict[str, np.ndarray]]]:
    """(start, stop, {name: float32 values of samples start..stop, padded to batch_size rows}).

    `arrays` holds stored samples (uint8 images are turned into values with `scales`, as training
    does: a BoundData carries its own); `n` defaults to the length of the first array. `draws`: the
    network's generator inputs, drawn for samples start.. at (EVALUATION,), are in each batch too."""
    scales = getattr(arrays, "scales", {}) if scales is None else scales
    names = list(names)
    n = len(arrays[names[0]]) if n is None else n
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        batch = {}
        for name in names:
            chunk = to_float32(arrays[name][start:stop], scales.get(name, 1.0))
            if stop - start < batch_size:
                chunk = np.concatenate([chunk, np.zeros((batch_size - (stop - start), *chunk.shape[1:]),
                                                        chunk.dtype)])
            batch[name] = chunk
        if draws is not None:
            batch.update(draws.at((EVALUATION,), start))
        yield start, stop, batch
