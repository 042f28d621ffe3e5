"""Harness cases for Unpooling, the spectral, parameter/IO, extra loss and pre-process layers.

Random layers use a fixed seed: nnabla seeds each function's own generator with
it, so a direct nnabla call with the same arguments and seed reproduces the
training variant's draw exactly (with seed -1 the draw is unpredictable, so no
case uses it). Their validation variants are deterministic (identity or centre crop).
"""
from __future__ import annotations

import nnabla.functions as F
import numpy as np

from layer_case import Case, nnabla_call

HARNESS_BATCH = 3   # test_layer_harness.BATCH: zero-input layers broadcast over it


def complex_transform(x, axes, inverse=False, normalized=False):
    """NumPy's FFT on (..., 2) arrays holding (real, imaginary); nnabla's ifft divides by N like NumPy's."""
    c = x[..., 0] + 1j * x[..., 1]
    norm = "ortho" if normalized else "backward"
    y = np.fft.ifftn(c, axes=axes, norm=norm) if inverse else np.fft.fftn(c, axes=axes, norm=norm)
    return np.stack([y.real, y.imag], axis=-1)


def running_mean_update(x, w, sample_axes):
    # nnabla truncates the batch count t to an integer, then averages cumulatively:
    # mean <- (mean * t + batch mean) / (t + 1)
    n = np.trunc(w["mean_subtraction/t"])
    mean = (w["mean_subtraction/mean"] * n + x.mean(axis=sample_axes)) / (n + 1)
    return x - mean


def kl(p, q, axes):
    return (p * np.log(p / q)).sum(axis=axes, keepdims=True)


# Axis numbers in `props` are NNC's (0 = first axis after the batch); NumPy and
# nnabla axes in the references include the batch axis, so they are one higher.
CASES = [
    # -- Pooling
    Case("Unpooling", [(2, 3, 4)], {"kernel_shape": [2, 3]},
         ref=lambda x, w: x[0].repeat(2, axis=2).repeat(3, axis=3), exact=True),
    # a 1-D kernel spreads only the last axis
    Case("Unpooling", [(2, 5)], {"kernel_shape": [3]}, ref=lambda x, w: x[0].repeat(3, axis=2), exact=True,
         id="1d"),

    # -- Spectral: the trailing axis of 2 holds (real, imaginary)
    Case("FFT", [(2, 4, 5, 2)], ref=lambda x, w: complex_transform(x[0], axes=(2, 3))),
    # signal_ndim 1 transforms only the axis before the complex axis; unitary scaling
    Case("FFT", [(3, 6, 2)], {"signal_ndim": 1, "normalized": True},
         ref=lambda x, w: complex_transform(x[0], axes=(2,), normalized=True), id="1d-normalized"),
    Case("IFFT", [(4, 5, 2)], {"signal_ndim": 2},
         ref=lambda x, w: complex_transform(x[0], axes=(1, 2), inverse=True)),
    Case("IFFT", [(2, 3, 4, 2)], {"signal_ndim": 3, "normalized": True},
         ref=lambda x, w: complex_transform(x[0], axes=(1, 2, 3), inverse=True, normalized=True),
         id="3d-normalized"),

    # -- Parameter and IO: no inputs; the value is the same for every sample of the batch
    Case("Parameter", [], {"size": [2, 3], "param_initializer": "Uniform", "param_initializer_multiplier": 0.5,
                           "parameter_scope": "bias"},
         ref=lambda x, w: np.broadcast_to(w["param"], (HARNESS_BATCH, 2, 3))),
    Case("Constant", [], {"value": [1, 2, 3, 4, 5, 6], "value_type": "Int", "size": [2, 3]},
         ref=lambda x, w: np.broadcast_to(np.arange(1, 7, dtype=np.float32).reshape(2, 3), (HARNESS_BATCH, 2, 3)),
         exact=True),
    # NNC's comma-separated text; without size, one axis holds the values
    Case("Constant", [], {"value": "0.5,-2"},
         ref=lambda x, w: np.tile(np.float32([0.5, -2]), (HARNESS_BATCH, 1)), exact=True, id="text"),
    Case("Constant", [], {"value": 0.25, "value_type": "Float", "size": [2, 1, 2]},
         ref=lambda x, w: np.full((HARNESS_BATCH, 2, 1, 2), 0.25, dtype=np.float32), exact=True, id="fill"),

    # -- Loss: the last array is the target
    Case("EpsilonInsensitiveLoss", [(2, 3)], {"epsilon": 0.3, "target": "t"}, target="real",
         ref=lambda x, w: np.maximum(np.abs(x[0] - x[1]) - 0.3, 0)),
    # one divergence per row: the distribution spans axis 1 (NumPy axis 2)
    # nnabla's writer folds the axes before base_axis into the batch: it comes back as (5,) distributions
    Case("KLMultinomial", [(4, 5)], {"base_axis": 1, "target": "q"}, data="prob", target="prob",
         ref=lambda x, w: kl(x[0], x[1], axes=(2,)),
         nntxt="nnabla's .nntxt writer folds the axes before base_axis into the batch axis"),
    Case("KLMultinomial", [(2, 3)], {"target": "q"}, data="prob", target="prob",
         ref=lambda x, w: kl(x[0], x[1], axes=(1, 2)).reshape(-1, 1), id="whole-sample"),

    # -- Pre-process. Validation takes the centre (rows 1:5 of 6, columns 1:6 of 7); training draws
    # one random augmentation, which the same nnabla call with the same seed reproduces. nnabla's
    # functions have no skip_at_test: an .nntxt loses it (the import gives the default, true).
    Case("ImageAugmentation", [(2, 6, 7)],
         {"shape": [2, 4, 5], "pad": [1, 1], "angle": 0.2, "flip_lr": True, "brightness": 0.1, "contrast": 1.2,
          "noise": 0.05, "seed": 3},
         ref=lambda x, w: x[0][:, :, 1:5, 1:6],
         train_ref=lambda x, w: nnabla_call(F.image_augmentation, x[0], shape=(2, 4, 5), pad=(1, 1), angle=0.2,
                                            flip_lr=True, brightness=0.1, contrast=1.2, contrast_center=0.5,
                                            noise=0.05, seed=3),
         exact=True),
    # A larger shape: validation repeats the edges, 1 row on each side and 1 column on the right.
    Case("ImageAugmentation", [(1, 4, 4)], {"shape": [1, 6, 5], "min_scale": 0.8, "max_scale": 1.2, "seed": 5},
         ref=lambda x, w: np.pad(x[0], ((0, 0), (0, 0), (1, 1), (0, 1)), mode="edge"),
         train_ref=lambda x, w: nnabla_call(F.image_augmentation, x[0], shape=(1, 6, 5), min_scale=0.8,
                                            max_scale=1.2, contrast_center=0.5, seed=5),
         exact=True, id="larger"),
    # skip_at_test false: validation augments too
    Case("ImageAugmentation", [(3, 5, 5)],
         {"flip_ud": True, "aspect_ratio": 1.3, "distortion": 0.1, "brightness": 0.2, "brightness_each": True,
          "contrast": 1.5, "contrast_center": 0.0, "contrast_each": True, "seed": 1, "skip_at_test": False},
         nntxt={"skip_at_test": True},
         ref=lambda x, w: nnabla_call(F.image_augmentation, x[0], shape=(3, 5, 5), flip_ud=True, aspect_ratio=1.3,
                                      distortion=0.1, brightness=0.2, brightness_each=True, contrast=1.5,
                                      contrast_center=0.0, contrast_each=True, seed=1),
         exact=True, id="at-test"),
    # nnabla's function is given (and an .nntxt holds) the whole output sample shape
    Case("RandomCrop", [(2, 6, 7)], {"shape": [4, 5], "seed": 2}, nntxt={"shape": [2, 4, 5]},
         ref=lambda x, w: x[0][:, :, 1:5, 1:6],
         train_ref=lambda x, w: nnabla_call(F.random_crop, x[0], shape=(2, 4, 5), base_axis=1, seed=2),
         exact=True),
    Case("RandomErase", [(2, 5, 6)],
         {"prob": 0.9, "area_ratios": [0.1, 0.3], "aspect_ratios": "0.5,2.0", "replacements": [-1, 1], "n": 2,
          "share": False, "seed": 4, "ste_fine_grained": False},
         ref=lambda x, w: x[0],
         train_ref=lambda x, w: nnabla_call(F.random_erase, x[0], prob=0.9, area_ratios=(0.1, 0.3),
                                            aspect_ratios=(0.5, 2.0), replacements=(-1.0, 1.0), n=2, share=False,
                                            base_axis=1, seed=4, ste_fine_grained=False),
         exact=True),
    # nnabla's CPU kernel rejects channel_last at forward time (the harness expects that failure);
    # skip_at_test false so the validation variant runs the kernel too
    Case("RandomErase", [(5, 6, 2)], {"channel_last": True, "seed": 1, "skip_at_test": False},
         nntxt={"skip_at_test": True},
         ref=lambda x, w: x[0], id="channel-last"),
    Case("RandomFlip", [(2, 3, 4)], {"axes": [1, 2], "seed": 7},
         ref=lambda x, w: x[0],
         train_ref=lambda x, w: nnabla_call(F.random_flip, x[0], axes=[2, 3], base_axis=1, seed=7), exact=True),
    Case("RandomFlip", [(4, 3)], {"seed": 8, "skip_at_test": False}, nntxt={"skip_at_test": True},
         ref=lambda x, w: nnabla_call(F.random_flip, x[0], axes=[1], base_axis=1, seed=8), exact=True,
         id="at-test"),
    Case("RandomShift", [(2, 5, 6)], {"shift": [1, 2], "border_mode": "reflect", "seed": 9},
         ref=lambda x, w: x[0],
         train_ref=lambda x, w: nnabla_call(F.random_shift, x[0], shifts=(1, 2), border_mode="reflect",
                                            base_axis=1, seed=9), exact=True),
    # base_axis 1: one running mean per (3, 4) position, averaged over the batch and axis 0
    # (nnabla writes a variable batch size by folding the axes before base_axis into the batch, so the
    # .nntxt's MeanSubtraction reads (3, 4) with base_axis 0)
    Case("MeanSubtraction", [(2, 3, 4)], {"base_axis": 1, "parameter_scope": "ms"}, nntxt={"base_axis": 0},
         ref=lambda x, w: x[0] - w["mean_subtraction/mean"],
         train_ref=lambda x, w: running_mean_update(x[0], w, sample_axes=(0, 1))),
    Case("MeanSubtraction", [(3, 4)], {"update_running_mean": False},
         ref=lambda x, w: x[0] - w["mean_subtraction/mean"], id="frozen"),
]
