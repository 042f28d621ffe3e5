"""Transfer learning: start a network from another run's parameters, by name.

`init_from: {path: <run folder or .h5>, map: {"Share_Unit/*": "Share_Unit/*"}}`
copies every parameter whose name matches a map key from the source
parameter with the mapped name (`*` carries the rest of the name over), after
checking the shapes; the others keep their initial values (a new head). As in
the field reports: pretrain a shared feature unit on one task, then reuse it on
another; freeze it with `w_lrate_multiplier: 0`, or let it learn slowly.
"""
from __future__ import annotations

import fnmatch
import os
from typing import Dict, Mapping

import numpy as np

from ..errors import UserError, file_state
from ..run_files import check_file, detail_of
from ..project.model import InitFromSpec
from ..finite_checks import check_loaded_parameter
from .run_folder import MODELS, RunFolder


def source_file(path: str) -> str:
    """The file init_from reads: `path` itself, or a run folder's best (else last) checkpoint."""
    if os.path.isdir(path):
        for model in MODELS:
            candidate = RunFolder(path).checkpoint_file(model)
            if os.path.lexists(candidate) and check_file(candidate):     # a folder in its place says so
                path = candidate
                break
        else:
            raise UserError(f"'{path}' holds no checkpoints/best.h5 or last.h5.",
                            fix="point init_from.path at a run folder of `nncgraph run`, or at an .h5 or .nnp file.")
    return path


def read_parameters(path: str) -> Dict[str, np.ndarray]:
    """Parameters of an nnabla .h5 file, or of a run folder's best (else last) checkpoint, without
    registering them (they would otherwise join the network's trainable parameters)."""
    path = source_file(path)
    if not os.path.isfile(path):
        raise UserError(f"init_from file '{path}' {file_state(path)}.", fix="correct init_from.path.")
    if path.lower().endswith(".nnp"):
        return _nnp_parameters(path)
    if path.lower().endswith((".nntxt", ".prototxt")):
        return _nntxt_parameters(path)
    try:
        return _h5_arrays(path)
    except Exception as exc:    # h5py reports damage as OSError, KeyError, ValueError...
        raise UserError(f"cannot read parameters from '{path}': {detail_of(exc)}.",
                        fix="give an nnabla .h5 parameter file.") from None


def _h5_arrays(source) -> Dict[str, np.ndarray]:
    """Every dataset of an nnabla parameter .h5 (a path or a file object), by its full name."""
    import h5py

    out = {}
    with h5py.File(source, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _nnp_parameters(path: str) -> Dict[str, np.ndarray]:
    """The parameters inside an .nnp (a zip holding parameter.h5 or parameter.protobuf), each member
    size-checked before it is read (archives.NnpArchive)."""
    import io

    from ..archives import NnpArchive

    with NnpArchive(path) as archive:
        names = archive.names()
        h5 = [n for n in names if n.endswith(".h5")]
        blobs = [n for n in names if n.endswith(".protobuf")]
        if h5:
            data = archive.read(h5[0])
            try:
                return _h5_arrays(io.BytesIO(data))
            except Exception as exc:    # h5py reports damage as OSError, KeyError, ValueError...
                raise UserError(f"member is not an nnabla parameter file ({detail_of(exc)}).",
                                location=archive.where(h5[0]), fix="give an .nnp nnabla or NNC wrote.") from None
        if blobs:
            from google.protobuf.message import DecodeError
            from nnabla.utils import nnabla_pb2

            proto = nnabla_pb2.NNablaProtoBuf()
            try:
                proto.ParseFromString(archive.read(blobs[0]))
                return {p.variable_name: np.array(p.data, np.float32).reshape(tuple(p.shape.dim))
                        for p in proto.parameter}
            except (DecodeError, ValueError) as exc:
                raise UserError(f"member is not an nnabla parameter file ({detail_of(exc)}).",
                                location=archive.where(blobs[0]), fix="give an .nnp nnabla or NNC wrote.") from None
    raise UserError(f"'{path}' holds no parameters (no parameter.h5 or parameter.protobuf inside).",
                    fix="export it with parameters: `nncgraph export RUN_DIR -o model.nnp`.")


def _nntxt_parameters(path: str) -> Dict[str, np.ndarray]:
    """The parameter values an .nntxt holds inline (`nncgraph run model.nntxt` trains from them)."""
    from ..interop.nnp_source import Source

    proto = Source(path).proto       # read size-checked and parsed, or a one-line error at its line
    if not proto.parameter:
        raise UserError(f"'{path}' holds no parameter values.", fix="give an .nntxt written with its parameters, "
                        "or an .nnp or .h5 file.")
    return {p.variable_name: np.array(p.data, np.float32).reshape(tuple(p.shape.dim)) for p in proto.parameter}


def init_from_values(spec: InitFromSpec, parameters: Mapping, log=print) -> Dict[str, np.ndarray]:
    """The source values for the network's `parameters` (name -> current values, for their shapes)
    that match the map, by the network's names; the engine loads them."""
    path = source_file(spec.path)
    source = read_parameters(path)
    values = {}
    for name, current in parameters.items():
        mapped = _mapped_name(name, spec.mapping)
        if mapped is None:
            continue
        if mapped not in source:
            raise UserError(f"init_from: parameter '{name}' maps to '{mapped}', which {spec.path} does not have.",
                            location=spec.location, fix="correct init_from.map, or check which run it points at.")
        found = source[mapped]
        if tuple(found.shape) != tuple(current.shape):
            raise UserError(f"init_from: '{mapped}' has shape {list(found.shape)} but '{name}' needs "
                            f"{list(current.shape)}.", location=spec.location,
                            fix="map only the layers whose shapes are unchanged (e.g. the shared unit, not the head).")
        values[name] = np.asarray(found, np.float32)
        check_loaded_parameter(values[name], path, mapped, location=spec.location)
    if not values:
        raise UserError(f"init_from: no parameter of the network matches {sorted(spec.mapping)}.",
                        location=spec.location, fix="the map's keys are patterns of this network's parameter "
                        "names, e.g. 'Share_Unit/*' (see `nncgraph check`).")
    log(f"init_from: {len(values)} parameters loaded from {spec.path}")
    return values


def apply_init_from(spec: InitFromSpec, live: Dict, log=print) -> int:
    """init_from_values written into `live`, variables with a writable `.d` (the interop code's nnabla
    ones); returns how many were loaded."""
    values = init_from_values(spec, live, log)
    for name, array in values.items():
        live[name].d = array
    return len(values)


def _mapped_name(name: str, mapping: Dict[str, str]):
    for pattern, target in mapping.items():
        if fnmatch.fnmatchcase(name, pattern):
            if "*" in pattern and "*" in target:
                prefix, suffix = pattern.split("*", 1)[0], pattern.rsplit("*", 1)[-1]
                middle = name[len(prefix):len(name) - len(suffix) if suffix else None]
                return target.replace("*", middle, 1)
            return target
    return None
