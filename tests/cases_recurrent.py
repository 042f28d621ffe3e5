"""Harness case for NNC's LSTM layer, against a NumPy LSTM."""
from __future__ import annotations

import numpy as np

from layer_case import Case, sigmoid


def lstm_reference(x, w, size, axis=1, h0=0.0, c0=0.0):
    x = np.moveaxis(x, axis, 1).reshape(x.shape[0], x.shape[axis], -1)
    h = np.full((x.shape[0], size), h0, np.float64)
    c = np.full((x.shape[0], size), c0, np.float64)
    out = []
    for t in range(x.shape[1]):
        z = np.concatenate([x[:, t], h], axis=1)
        gate = {g: z @ w[f"{g}/affine/W"] + w[f"{g}/affine/b"] for g in ("Affine", "IGate", "FGate", "OGate")}
        c = sigmoid(gate["FGate"]) * c + sigmoid(gate["IGate"]) * np.tanh(gate["Affine"])
        h = sigmoid(gate["OGate"]) * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


CASES = [
    # Every step, 4 gates each map [input, h] of 3 + 4 values onto 4: macs = 5 steps * 4 * 7 * 4 = 560.
    Case("LSTM", [(5, 3)], {"size": 4}, ref=lambda x, w: lstm_reference(x[0], w, 4), macs=5 * 4 * 7 * 4),
    # time on the second axis, features (2, 3) flattened; non-zero initial state.
    # macs = 4 steps * 4 gates * (6 + 3) * 3 = 432.
    Case("LSTM", [(2, 4, 3)], {"axis": 1, "size": 3, "h_initial_generator_multiplier": 0.5,
                               "c_initial_generator_multiplier": -0.25},
         ref=lambda x, w: lstm_reference(x[0], w, 3, axis=2, h0=0.5, c0=-0.25), macs=4 * 4 * 9 * 3,
         id="time-axis-1"),
]
