"""An nnabla network file (.nntxt, or the .nntxt inside an .nnp), read and checked before it is imported.

Reading goes through archives.NnpArchive (members size-checked before they
are read) or a size-checked plain read, and the text must be UTF-8. The
protobuf parser accepts a file that means nothing -- a function reading a
variable its network never declares, an optimizer training a network that is
not there, a shape of -7 -- so those are checked here, each one line naming
the file, its line and the function.
"""
from __future__ import annotations

import os
import re
from typing import Dict, Optional, Tuple

from ..archives import MAX_TEXT_BYTES, NnpArchive
from ..errors import Location, UserError
from .nnp_functions import dims

_FIX = "give an .nntxt or .nnp written by nnabla, NNC or `nncgraph export`."


class Source:
    """The file's protobuf, its nntxt text (for line numbers) and where its parameters are."""

    def __init__(self, path: str):
        from google.protobuf import text_format
        from nnabla.utils import nnabla_pb2

        self.path = path
        self.inner = None                 # the nntxt's name inside an .nnp
        self.has_parameter_file = False
        if os.path.isdir(path):
            raise UserError(f"'{path}' is a directory, not an .nntxt or .nnp file.", fix=_FIX)
        if not os.path.isfile(path):
            raise UserError(f"'{path}' does not exist.", fix="give an .nntxt or .nnp file.")
        if path.lower().endswith(".nnp"):
            with NnpArchive(path) as archive:
                names = archive.names()
                texts = [n for n in names if n.endswith((".nntxt", ".prototxt"))]
                if not texts:
                    raise UserError(f"'{path}' holds no .nntxt network definition.", fix=_FIX)
                self.inner = texts[0]
                self.text = archive.text(texts[0])
                self.has_parameter_file = any(n.endswith((".h5", ".protobuf")) for n in names)
        else:
            self.text = _read_text(path)
        self.proto = nnabla_pb2.NNablaProtoBuf()
        try:
            text_format.Parse(self.text, self.proto)
        except text_format.ParseError as exc:
            line = re.match(r"(\d+):", str(exc))
            raise UserError(f"not an nnabla network definition: {exc}.", location=self._where(
                int(line.group(1)) if line else None), fix="check the file is an nnabla .nntxt.") from None
        self._lines = self._function_lines()
        check_meaning(self)

    @property
    def label(self) -> str:
        """The file its lines are in: the .nntxt, or "model.nnp:network.nntxt"."""
        return f"{self.path}:{self.inner}" if self.inner else self.path

    def _where(self, line: Optional[int]) -> Location:
        return Location(self.label, line)

    def _function_lines(self) -> Dict[Tuple[str, str], int]:
        """(network, function name) -> line of the function's name in the text."""
        out, network, in_function = {}, None, False
        for number, line in enumerate(self.text.splitlines(), 1):
            if line.startswith("network {"):
                network, in_function = None, False
            elif network is None and line.startswith("  name: "):
                network = _quoted(line)
            elif line.startswith("  function {"):
                in_function = True
            elif in_function and line.startswith("    name: "):
                out[(network, _quoted(line))] = number
                in_function = False
        return out

    def location(self, network: str, function: str) -> Location:
        return self._where(self._lines.get((network, function)))


def _read_text(path: str) -> str:
    size = os.path.getsize(path)
    if size > MAX_TEXT_BYTES:
        raise UserError(f"'{path}' is {size / 2 ** 20:,.0f} MiB, more than the {MAX_TEXT_BYTES // 2 ** 20} MiB a "
                        "network definition may be; not read.", fix=_FIX)
    with open(path, "rb") as f:
        data = f.read(MAX_TEXT_BYTES + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read.", location=Location(path, line),
                        fix="save the network definition as UTF-8, or " + _FIX) from None


def _quoted(line: str) -> str:
    text = line.split(":", 1)[1].strip()
    return text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape") if text.startswith('"') else text


def check_meaning(source: Source) -> None:
    """What the parser lets through and nnabla would fail on later: networks that are missing,
    duplicated or named by nothing, variables used but never declared, shapes no array has."""
    proto = source.proto
    if not proto.network:
        raise UserError(f"'{source.path}' defines no network.", location=source._where(None),
                        fix="give an .nntxt/.nnp with a `network { ... }` section.")
    networks = [n.name for n in proto.network]
    for name in networks:
        if networks.count(name) > 1:
            raise UserError(f"network '{name}' is defined {networks.count(name)} times.",
                            location=source._where(None), fix="give each network its own name.")
    for group, what in ((proto.optimizer, "optimizer"), (proto.monitor, "monitor"), (proto.executor, "executor")):
        for item in group:
            if item.network_name not in networks:
                raise UserError(f"{what} '{item.name}' runs network '{item.network_name}', which the file does not "
                                f"define (it has {', '.join(repr(n) for n in networks)}).",
                                location=source._where(None), fix="name one of the file's networks, or " + _FIX)
    for network in proto.network:
        _check_network(source, network)


def _check_network(source: Source, network) -> None:
    declared = {}
    for variable in network.variable:
        shape = dims(variable.shape)
        if any(d < -1 or d == 0 for d in shape) or -1 in shape[1:]:
            raise UserError(f"variable '{variable.name}' of network '{network.name}' has shape {shape}; only the "
                            "first (batch) axis may be -1, and no axis 0 or below.",
                            location=source._where(None), fix=_FIX)
        declared[variable.name] = variable
    for function in network.function:
        for role, names in (("reads", function.input), ("writes", function.output)):
            for name in names:
                if name not in declared:
                    raise UserError(f"the function {role} variable '{name}', which network '{network.name}' does "
                                    "not declare.",
                                    location=source.location(network.name, function.name), layer=function.name,
                                    layer_type=function.type,
                                    fix="declare it in the network's `variable { ... }` list, or " + _FIX)
