"""NNC's initializer names (W.Initializer and friends), by parameter kind, and the older names NNC
still loads.

nnabla's loader (core/graph_def.py) reads `NormalAffineHe`, `NormalConvolutionHe` and `NormalCLConvHe`
as the He-forward initializers they were renamed to; older .sdcproj files still carry them. Each
option property that offers an initializer accepts an old name and keeps the current one, so
everything after the loader sees one spelling.
"""
from __future__ import annotations

CONVOLUTION_INITIALIZERS = ("Normal", "NormalConvolutionHeForward", "NormalConvolutionHeBackward",
                            "NormalConvolutionGlorot", "NormalCLConvHeForward", "NormalCLConvHeBackward",
                            "NormalCLConvGlorot", "Uniform", "UniformConvolutionGlorot", "UniformCLConvGlorot",
                            "Constant")
AFFINE_INITIALIZERS = ("Normal", "NormalAffineHeForward", "NormalAffineHeBackward", "NormalAffineGlorot",
                       "Uniform", "UniformAffineGlorot", "Constant")
PLAIN_INITIALIZERS = ("Normal", "Uniform", "Constant")
DECONVOLUTION_INITIALIZERS = tuple(k for k in CONVOLUTION_INITIALIZERS if "CLConv" not in k)
# a Parameter layer holds any kind of value
ALL_INITIALIZERS = ("Normal", "NormalAffineHeForward", "NormalAffineHeBackward", "NormalAffineGlorot",
                    "NormalConvolutionHeForward", "NormalConvolutionHeBackward", "NormalConvolutionGlorot",
                    "NormalCLConvHeForward", "NormalCLConvHeBackward", "NormalCLConvGlorot", "Uniform",
                    "UniformAffineGlorot", "UniformConvolutionGlorot", "UniformCLConvGlorot", "Constant")

# old name -> the name it became (a pair tuple: Prop is a frozen, hashable dataclass)
OLD_INITIALIZER_NAMES = (("NormalAffineHe", "NormalAffineHeForward"),
                         ("NormalConvolutionHe", "NormalConvolutionHeForward"),
                         ("NormalCLConvHe", "NormalCLConvHeForward"))


def old_names_for(options) -> tuple:
    """The old names that stand for one of `options`."""
    return tuple((old, new) for old, new in OLD_INITIALIZER_NAMES if new in options)
