"""Shape arithmetic shared by convolution and pooling layers (nnabla's rules).

>>> conv_out(28, kernel=5, pad=0, stride=1, dilation=1)
24
>>> conv_out(32, kernel=3, pad=1, stride=2, dilation=1)
16
>>> deconv_out(7, kernel=4, pad=1, stride=2, dilation=1)
14
>>> pool_out(9, kernel=2, pad=0, stride=2, ignore_border=True)
4
>>> pool_out(9, kernel=2, pad=0, stride=2, ignore_border=False)
5
>>> same_padding(kernel=5, dilation=1)
2
"""
from __future__ import annotations


def conv_out(size: int, *, kernel: int, pad: int, stride: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def deconv_out(size: int, *, kernel: int, pad: int, stride: int, dilation: int) -> int:
    return stride * (size - 1) + dilation * (kernel - 1) + 1 - 2 * pad


def pool_out(size: int, *, kernel: int, pad: int, stride: int, ignore_border: bool) -> int:
    # nnabla: (w + p - (ignore_border ? k - p : 1)) / s + 1
    if ignore_border:
        return (size + 2 * pad - kernel) // stride + 1
    return (size + pad - 1) // stride + 1


def same_padding(*, kernel: int, dilation: int) -> int:
    """Padding that keeps the size for odd kernels (NNC's BorderMode=same)."""
    return dilation * (kernel - 1) // 2


def border_padding(mode: str, kernel: int, dilation: int) -> int:
    """NNC's *ConvolutionPaddingSize: padding implied by BorderMode."""
    if mode == "valid":
        return 0
    if mode == "full":
        return dilation * (kernel - 1)
    return same_padding(kernel=kernel, dilation=dilation)
