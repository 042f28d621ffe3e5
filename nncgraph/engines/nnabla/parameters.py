"""Create every parameter before the layers are lowered.

Initialization is generic: it follows each parameter's NNC properties
(`w_initializer`, `w_initializer_multiplier`, `w_file`) and its shape, so layer
code never builds initializers. nnabla's parametric functions then find the
parameters already there and reuse them.
"""
from __future__ import annotations

import os

import numpy as np

from ...errors import UserError, file_state
from ...layers.base import ParamSpec, size_of
from ...finite_checks import check_loaded_parameter


def fans(spec: ParamSpec):
    if spec.fans is not None:
        return spec.fans
    return spec.shape[0], size_of(spec.shape[1:]), ()


def make_initializer(kind: str, multiplier: float, spec: ParamSpec):
    import nnabla.initializer as I

    if kind == "Constant":
        return I.ConstantInitializer(multiplier)
    if kind == "Normal":
        return I.NormalInitializer(multiplier)
    if kind == "Uniform":
        return I.UniformInitializer((-multiplier, multiplier))
    fan_in, fan_out, kernel = fans(spec)
    kernel = tuple(kernel) or (1, 1)
    if kind.startswith("Uniform"):          # UniformAffineGlorot, UniformConvolutionGlorot, UniformCLConvGlorot
        low, high = I.calc_uniform_lim_glorot(fan_in, fan_out, kernel)    # nnabla returns the (low, high) pair
        return I.UniformInitializer((low * multiplier, high * multiplier))
    if kind.endswith("HeForward"):
        std = I.calc_normal_std_he_forward(fan_in, fan_out, kernel)
    elif kind.endswith("HeBackward"):
        std = I.calc_normal_std_he_backward(fan_in, fan_out, kernel)
    else:                                   # ...Glorot
        std = I.calc_normal_std_glorot(fan_in, fan_out, kernel)
    return I.NormalInitializer(std * multiplier)


def create_parameters(node_info, base_dir: str) -> None:
    """Create the node's parameters that do not exist yet (a shared scope creates them once)."""
    from nnabla.parameter import get_parameter, get_parameter_or_create

    props = node_info.node.props
    for spec in node_info.params:      # names are relative to the current scope, e.g. "conv1/conv/W"
        if get_parameter(spec.name) is not None:
            continue
        key = spec.prop_key
        if f"{key}_initializer" not in props:
            continue                         # a layer without NNC per-parameter properties: PF's default
        values = _load_file(props.get(f"{key}_file", ""), spec, node_info.node, base_dir)
        if values is None:
            init = make_initializer(props[f"{key}_initializer"], props[f"{key}_initializer_multiplier"], spec)
            values = init(spec.shape)
        # a learning-rate multiplier of 0 freezes the parameter: no gradient is even computed for it
        frozen = props.get(f"{key}_lrate_multiplier", 1.0) == 0
        var = get_parameter_or_create(spec.name, spec.shape, need_grad=spec.trainable and not frozen)
        var.d = values


def _load_file(path: str, spec: ParamSpec, node, base_dir: str):
    if not path:
        return None
    full = path if os.path.isabs(path) else os.path.join(base_dir, path)
    where = dict(location=node.location, layer=node.name, layer_type=node.type)
    if not os.path.isfile(full):
        raise UserError(f"{spec.nnc_name} file '{path}' {file_state(full)}.", **where,
                        fix=f"correct `{spec.prop_key}_file` (relative to the project file).")
    try:
        values = np.load(full, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {spec.nnc_name} file '{path}': {exc}.", **where,
                        fix="give a .npy file holding the array.") from None
    if tuple(values.shape) != tuple(spec.shape):
        raise UserError(f"{spec.nnc_name} file '{path}' holds shape {list(values.shape)}, but the layer needs "
                        f"{list(spec.shape)}.", **where, fix="save the array with the layer's shape.")
    values = values.astype(np.float32)     # a float64 1e300 becomes inf here: check what training will see
    check_loaded_parameter(values, path, spec.name, **where)
    return values
