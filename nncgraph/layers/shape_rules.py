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
>>> broadcast_shape((4, 1, 8), (4, 6, 1))
(4, 6, 8)
"""
from __future__ import annotations

from ..errors import ShapeError


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


def broadcast_shape(a, b, what: str = ""):
    """NumPy's broadcast of two shapes of equal rank; nnabla refuses unequal ranks.

    `what` names the compared part when it is not the whole shapes, e.g. "leading-axes".
    """
    a, b = tuple(a), tuple(b)
    if len(a) != len(b) or any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        part = f"{what} " if what else ""
        raise ShapeError(f"cannot combine inputs whose {part}shapes are {list(a)} and {list(b)}: they need the same "
                         "number of axes, and on each axis equal sizes or a size of 1 (which is broadcast).",
                         fix="make both branches end in the same shape (e.g. match out_maps, strides or add a "
                             "Convolution with kernel_shape [1, 1] on the shortcut), or Reshape one so that the "
                             "axes to broadcast have size 1.")
    return tuple(max(x, y) for x, y in zip(a, b))
