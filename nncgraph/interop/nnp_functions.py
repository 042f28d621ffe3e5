"""nnabla functions (as an .nntxt lists them) -> nncgraph layers with NNC properties.

nnabla counts axes with the batch axis; NNC properties count them without
it, so every axis, shape and per-axis list loses its first entry here. Each
converter gets the function's argument message, the input and output sample
shapes and the shapes of its parameter inputs, and returns the layer's
properties; a function with nothing to convert maps onto the layer of the
same name when that layer takes no properties.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

Shape = Tuple[int, ...]


class Unconvertible(Exception):
    """The function or one of its arguments has no nncgraph equivalent; the message says which."""


def dims(shape_message) -> List[int]:
    return [int(d) for d in shape_message.dim]


def _axis(a: int) -> int:
    if a < 1:
        raise Unconvertible(f"axis {a} is the batch axis (or counts from the end), which NNC layers cannot name")
    return a - 1


def _base_axis(args) -> None:
    if getattr(args, "base_axis", 1) not in (0, 1):     # 0: the proto default when unset
        raise Unconvertible(f"base_axis {args.base_axis} (NNC layers treat only the first axis as the batch)")


def convolution(args, ins, out, params):
    _base_axis(args)
    w = params[0]
    kernel = list(w[1:-1]) if args.channel_last else list(w[2:])
    return {"out_maps": w[0], "kernel_shape": kernel, "padding": dims(args.pad), "strides": dims(args.stride),
            "dilation": dims(args.dilation), "group": args.group or 1, "channel_last": args.channel_last,
            "with_bias": len(params) > 1}


def deconvolution(args, ins, out, params):
    _base_axis(args)
    if any(dims(args.output_padding)):
        raise Unconvertible("output_padding (NNC's Deconvolution has no such property)")
    w = params[0]
    group = args.group or 1
    return {"out_maps": w[1] * group, "kernel_shape": list(w[2:]), "padding": dims(args.pad),
            "strides": dims(args.stride), "dilation": dims(args.dilation), "group": group,
            "channel_last": args.channel_last, "with_bias": len(params) > 1}


def depthwise_convolution(args, ins, out, params):
    _base_axis(args)
    return {"kernel_shape": list(params[0][1:]), "padding": dims(args.pad), "strides": dims(args.stride),
            "dilation": dims(args.dilation), "multiplier": args.multiplier or 1, "with_bias": len(params) > 1}


def affine(args, ins, out, params):
    _base_axis(args)
    return {"out_shape": list(out), "with_bias": len(params) > 1}


def batch_normalization(args, ins, out, params):
    if args.no_scale or args.no_bias:
        raise Unconvertible("no_scale/no_bias (NNC's BatchNormalization always has beta and gamma)")
    return {"axes": [_axis(a) for a in args.axes], "decay_rate": args.decay_rate, "epsilon": args.eps,
            "batch_stat": args.batch_stat}


def pooling(with_channel_last=True, with_including_pad=False):
    def convert(args, ins, out, params):
        p = {"kernel_shape": dims(args.kernel), "strides": dims(args.stride), "ignore_border": args.ignore_border,
             "padding": dims(args.pad)}
        if with_channel_last:
            p["channel_last"] = args.channel_last
        elif getattr(args, "channel_last", False):
            raise Unconvertible("channel_last")
        if with_including_pad:
            p["including_pad"] = args.including_pad
        return p
    return convert


def axis_only(args, ins, out, params):
    return {"axis": _axis(args.axis)}


def reshape(args, ins, out, params):
    return {"out_shape": list(out)}


def broadcast(args, ins, out, params):
    return {"out_shape": list(out)}


def transpose(args, ins, out, params):
    axes = list(args.axes)
    if not axes or axes[0] != 0:
        raise Unconvertible(f"axes {axes} move the batch axis")
    return {"axes": [_axis(a) for a in axes[1:]]}


def slice_(args, ins, out, params):
    start, stop, step = list(args.start), list(args.stop), list(args.step)
    if len(start) == len(ins[0]) + 1:     # nnabla lists the batch axis too
        if (start[0], step[0]) != (0, 1) or stop[0] not in (0, -1) and stop[0] < 0:
            raise Unconvertible("a slice of the batch axis")
        start, stop, step = start[1:], stop[1:], step[1:]
    return {"start": start, "stop": stop, "step": step}


def reduction(args, ins, out, params):
    return {"axes": [_axis(a) for a in args.axes], "keep_dims": args.keep_dims}


def fields(*names, rename=None):
    """Arguments copied under the same (or a renamed) property name."""
    rename = rename or {}

    def convert(args, ins, out, params):
        return {rename.get(n, n): getattr(args, n) for n in names}
    return convert


def embed(args, ins, out, params):
    return {"num_class": params[0][0], "shape": list(params[0][1:])}


def prelu(args, ins, out, params):
    return {"base_axis": _axis(args.base_axis) if args.base_axis else 0}


def loss_with_axis(args, ins, out, params):
    return {"axis": _axis(args.axis)}


CONVERTERS: Dict[str, Callable] = {
    "Convolution": convolution,
    "Deconvolution": deconvolution,
    "DepthwiseConvolution": depthwise_convolution,
    "Affine": affine,
    "BatchNormalization": batch_normalization,
    "MaxPooling": pooling(),
    "AveragePooling": pooling(with_including_pad=True),
    "SumPooling": pooling(with_channel_last=False),
    "Unpooling": lambda args, ins, out, params: {"kernel_shape": dims(args.kernel)},
    "Softmax": axis_only,
    "LogSoftmax": axis_only,
    "Concatenate": axis_only,
    "Stack": axis_only,
    "Reshape": reshape,
    "Broadcast": broadcast,
    "Transpose": transpose,
    "Slice": slice_,
    "Mean": reduction,
    "Sum": reduction,
    "Max": reduction,
    "Min": reduction,
    "Prod": reduction,
    "Dropout": fields("p", "seed"),
    "LeakyReLU": fields("alpha"),
    "ELU": fields("alpha"),
    "SELU": fields("scale", "alpha"),
    "CELU": fields("alpha", "axis"),
    "MulScalar": fields("val", rename={"val": "value"}),
    "AddScalar": fields("val", rename={"val": "value"}),
    "PowScalar": fields("val", rename={"val": "value"}),
    "RSubScalar": fields("val", rename={"val": "value"}),
    "RDivScalar": fields("val", rename={"val": "value"}),
    "RPowScalar": fields("val", rename={"val": "value"}),
    "MaximumScalar": fields("val", rename={"val": "value"}),
    "MinimumScalar": fields("val", rename={"val": "value"}),
    "Embed": embed,
    "PReLU": prelu,
    "SoftmaxCrossEntropy": loss_with_axis,
    "CategoricalCrossEntropy": loss_with_axis,
    "HuberLoss": fields("delta"),
    "EpsilonInsensitiveLoss": fields("epsilon"),
}

# nnabla arguments whose value changes nothing NNC can express (in-place memory reuse)
IGNORED_ARGUMENTS = {"inplace", "in_place"}


def convert_function(function, registry, ins: List[Shape], out: Shape, params: List[Shape]
                     ) -> Tuple[str, Dict]:
    """(layer type, properties) for one proto Function; raises Unconvertible."""
    kind = function.type
    layer = registry.get(kind)
    if layer is None or layer.nnabla_function != kind:
        raise Unconvertible(f"nnabla function {kind} has no nncgraph layer")
    args = _arguments(function)
    converter = CONVERTERS.get(kind)
    if converter is not None:
        return kind, converter(args, ins, out, params)
    settable = set(layer.props) - IGNORED_ARGUMENTS - {"target", "parameter_scope"}
    given = [f.name for f, v in args.ListFields()] if args is not None else []
    given = [g for g in given if g not in IGNORED_ARGUMENTS]
    if given or settable - {p for p in settable if p.endswith(("_file", "_initializer", "_multiplier"))}:
        raise Unconvertible(f"nnabla function {kind}'s arguments ({', '.join(given) or 'defaults'}) have no "
                            f"converter to the properties of layer {kind}")
    return kind, {}


def _arguments(function) -> Optional[object]:
    which = function.WhichOneof("parameter")
    return getattr(function, which) if which else None
