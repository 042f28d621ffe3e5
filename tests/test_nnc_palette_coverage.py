"""NNC's palette: most layers are registered, and every NNC sample project's layers are describable."""
from __future__ import annotations

import configparser
import glob
import os

import pytest

from conftest import shared_names, shared_path
from nncgraph.layers import REGISTRY, UNSUPPORTED
from nncgraph.layers.structure import STRUCTURAL as STRUCTURE

SAMPLES = shared_names("nnc-samples", "*.sdcproj")
# NNC's Argument layer marks a unit's arguments inside the unit's own network; nncgraph writes them as
# `args:` of the unit, so the layer type itself has no counterpart.
WRITTEN_DIFFERENTLY = {"Argument"}
# Settings of NNC's GUI with no meaning in a headless run, and the target generators nncgraph does not
# offer yet (a dataset column feeds the target instead).
NOT_PROPERTIES = {"Name", "SkipAtInspection", "T.Generator", "T.GeneratorMultiplier"}


def nnc_palette():
    reference = shared_path("nnc-reference", "layer_component")
    return {os.path.basename(f)[:-4] for f in glob.glob(os.path.join(reference, "*", "*.txt"))}


def test_most_of_the_palette_is_registered():
    assert len(REGISTRY) >= 150                 # needs no NNC files: runs in any clone


def test_every_palette_entry_is_covered():
    palette = nnc_palette()
    settings = {"Import", "StructureSearch", "TestNetwork"}      # project settings, not layers
    covered = palette & (set(REGISTRY) | set(STRUCTURE) | set(UNSUPPORTED) | WRITTEN_DIFFERENTLY | settings)
    assert covered == palette, sorted(palette - covered)


def sample_layers(path):
    cp = configparser.RawConfigParser(strict=False)
    cp.optionxform = str
    cp.read(path)
    for section in cp.sections():
        s = cp[section]
        if "Layer_" in section and "Type" in s:
            yield s["Type"], {s[f"Property_{i}_Name"] for i in range(int(s.get("NumProperty", 0)))}


@pytest.mark.parametrize("name", SAMPLES, ids=lambda n: n.replace(".sdcproj", ""))
def test_sample_layers_and_properties_are_known(name):
    missing = set()
    for layer_type, props in sample_layers(shared_path("nnc-samples", name)):
        if layer_type in WRITTEN_DIFFERENTLY:
            continue
        if layer_type in STRUCTURE:
            # NNC pairs block starts and ends by ID / RecurrentGroupID; nncgraph pairs them by nesting in
            # the layer list. Length is derived from the input shape in both.
            known = {p.nnc for p in STRUCTURE[layer_type].values()} | {"ID", "RecurrentGroupID", "Network", "Length"}
        else:
            assert layer_type in REGISTRY, f"{layer_type} is not a registered layer"
            known = {p.nnc for p in REGISTRY[layer_type].props.values()}
        missing |= {f"{layer_type}.{p}" for p in props - known - NOT_PROPERTIES}
    assert not missing, sorted(missing)
