"""Small .sdcproj texts laid out as Neural Network Console writes them, so the importer's tests need none
of NNC's own sample files: CRLF lines, `[Layer_N]` sections with an ID, a Type and numbered properties
(the first one the Name), `[Link_N]` sections from one layer ID to another, then the settings sections."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

# (type, name, {NNC property: text}, [inputs]); an input is a layer name (a link into pin 0, the main input) or
# (name, pin): a link into that pin (DestPinIndex), a side connector such as a loss's T or Affine's W
Layer = Tuple[str, str, Dict[str, str], Sequence[Union[str, Tuple[str, int]]]]

# What a project needs to import into a trainable one: a config and an optimizer.
MINIMAL_SETTINGS = {
    "Config": {"MaxEpoch": "2", "BatchSize": "4"},
    "Optimizer_0": {"Optimizer_NetworkName": "Main", "SolverName": "Sgd", "SolverParameterNum": "1",
                    "SolverParameterName_0": "LearningRate", "SolverParameter_0": "0.1"},
}


def network_lines(layers: List[Layer], prefix: str = "") -> List[str]:
    """One network's `[<prefix>Network_Global]`, layer and link sections; links follow the inputs' order."""
    ids = {name: i for i, (_, name, _, _) in enumerate(layers)}
    links = [(ids[src[0]], ids[name], src[1]) if isinstance(src, tuple) else (ids[src], ids[name], 0)
             for _, name, _, inputs in layers for src in inputs]
    lines = [f"[{prefix}Network_Global]", f"NumLayer={len(layers)}", f"NumLink={len(links)}"]
    for i, (kind, name, props, _) in enumerate(layers):
        lines += [f"[{prefix}Layer_{i}]", f"ID={i}", f"Type={kind}", "Property_0_Name=Name",
                  f"Property_0_Value={name}"]
        for k, (key, value) in enumerate(props.items(), start=1):
            lines += [f"Property_{k}_Name={key}", f"Property_{k}_Value={value}"]
        lines.append(f"NumProperty={len(props) + 1}")
    for i, (src, dst, pin) in enumerate(links):
        lines += [f"[{prefix}Link_{i}]", f"ID={i}", f"SourceLayerID={src}", "SourcePinIndex=0",
                  f"DestLayerID={dst}", f"DestPinIndex={pin}"]
    return lines


def sdcproj(networks: Dict[str, List[Layer]], settings: Optional[Dict[str, Dict[str, str]]] = None,
            single: bool = False) -> str:
    """The file's text. `single`: one network written as NNC writes a one-network project (no [Global], no
    section prefix); otherwise [Global] lists the networks and their sections are prefixed `<Net>_`."""
    lines = ["[Engine]", "SDeepEngineType=NNabla"]
    if single:
        (layers,) = networks.values()
        lines += network_lines(layers)
    else:
        lines += ["[Global]", f"NumNetwork={len(networks)}"]
        lines += [f"Network_{i}={name}" for i, name in enumerate(networks)]
        for net, layers in networks.items():
            lines += network_lines(layers, f"{net}_")
    for section, values in (MINIMAL_SETTINGS if settings is None else settings).items():
        lines.append(f"[{section}]")
        lines += [f"{key}={value}" for key, value in values.items()]
    return "\r\n".join(lines) + "\r\n"


def nnc_project(networks: Dict[str, List[Layer]]) -> str:
    """Networks under [Global] with the minimal settings."""
    return sdcproj(networks)


def line_number(text: str, needle: str) -> int:
    """The 1-based line of `text` that holds `needle` (exactly once in the file)."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]
