"""Spectral layers: FFT and IFFT on complex data stored as a trailing axis of 2 (real, imaginary).

nnabla 1.39's FFT and IFFT functions have CPU stubs only (forward raises
not_implemented), so the transforms are lowered as one DFT matrix product per
signal axis (nnabla `affine` with a constant matrix). That costs O(N^2) per axis
instead of O(N log N), which is small for the signal sizes networks use, and it
runs on every nnabla backend with the same gradients.
"""
from __future__ import annotations

import math

from .base import Layer, Prop, ShapeError


class _Fourier(Layer):
    category = "Spectral"
    shape_rule = "same shape as the input"
    sign = -1            # exponent sign of the transform
    nntxt_gap = "nnabla's nntxt writer cannot write its functions"
    props = {
        "signal_ndim": Prop("pint", 2, "How many axes, before the trailing (real, imaginary) axis, are transformed "
                            "(1, 2 or 3).", "SignalNDim"),
        "normalized": Prop("bool", False, "Scale by 1/sqrt(N) (unitary) instead of the default.", "Normalized"),
    }

    def infer_shape(self, in_shapes, p):
        shape, d = in_shapes[0], p["signal_ndim"]
        if d > 3:
            raise ShapeError(f"signal_ndim is {d}, but NNC transforms 1, 2 or 3 axes.", fix="use 1, 2 or 3.")
        if len(shape) < d + 1 or shape[-1] != 2:
            raise ShapeError(f"expects complex data (..., {', '.join(['N'] * d)}, 2) with real and imaginary parts "
                             f"in a trailing axis of 2, got shape {list(shape)}.",
                             fix="append an axis of 2 holding (real, imaginary), e.g. by Concatenate of the real "
                                 "part and zeros after a Reshape to (..., 1).")
        return tuple(shape)

    def _matrix(self, n, normalized):
        """The (2n, 2n) real matrix acting on interleaved (real, imaginary) pairs as the 1-D transform."""
        import numpy as np

        k = np.arange(n)
        theta = 2 * np.pi * (np.outer(k, k) % n) / n   # the remainder keeps large angles exact
        cos, sin = np.cos(theta), self.sign * np.sin(theta)
        w = np.empty((n, 2, n, 2))
        # (xr + i xi)(cos + i sin) = xr cos - xi sin + i (xr sin + xi cos)
        w[:, 0, :, 0], w[:, 1, :, 0], w[:, 0, :, 1], w[:, 1, :, 1] = cos, -sin, sin, cos
        return (w * self.scale(n, normalized)).reshape(2 * n, 2 * n).astype(np.float32)

    def emit(self, ctx, inputs, p):
        x = inputs[0]
        last = x.ndim - 2    # the signal axis next to the complex axis
        for axis in range(x.ndim - 1 - p["signal_ndim"], x.ndim - 1):
            perm = list(range(x.ndim))
            perm[axis], perm[last] = last, axis
            y = x if axis == last else ctx.F.transpose(x, perm)
            n = y.shape[last]
            w = ctx.nn.Variable.from_numpy_array(self._matrix(n, p["normalized"]))
            y = ctx.F.reshape(ctx.F.affine(y, w, base_axis=last), y.shape)
            x = y if axis == last else ctx.F.transpose(y, perm)
        return x


class FFT(_Fourier):
    doc = ("Discrete Fourier transform over the `signal_ndim` axes before the trailing (real, imaginary) axis "
           "(as nnabla `fft`, computed with DFT matrices).")
    nnabla_function = ""    # computed with DFT matrices, not nnabla's fft
    sign = -1

    def scale(self, n, normalized):
        return 1 / math.sqrt(n) if normalized else 1.0


class IFFT(_Fourier):
    doc = ("Inverse discrete Fourier transform over the `signal_ndim` axes before the trailing (real, imaginary) "
           "axis, divided by N (as nnabla `ifft`, computed with DFT matrices).")
    nnabla_function = ""
    sign = 1

    def scale(self, n, normalized):
        return 1 / math.sqrt(n) if normalized else 1.0 / n


LAYERS = [FFT, IFFT]
