"""A network's layer list as a graph that mutations can edit and write back.

The YAML list is ambiguous to edit as it stands: unnamed layers get their
names from their position among layers of their type, and a layer without
`input:` reads whatever happens to precede it. So every layer is given its
name explicitly first, and the graph keeps every layer's inputs explicitly;
when written back, `input:` is left out again wherever "the previous layer" is
what the layer reads and the user had not written one (so a mutated LeNet
still reads like LeNet).

RepeatStart ... RepeatEnd and RecurrentInput ... RecurrentOutput blocks are
kept as single opaque entries (mutating inside them would change every
repetition or step at once), and a layer that something inside a block reads
is pinned: it is neither removed nor inserted after, since rewiring a
reference inside a block would need the block's own scoping rules.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from ..layers import REGISTRY
from ..layers.structure import BLOCKS, default_name, takes_no_input


def layers_with(trait: str) -> Tuple[str, ...]:
    """The layer types whose `mutation_traits` include `trait` (layers/mutation_traits.py), in
    registry order."""
    return tuple(name for name, layer in REGISTRY.items() if trait in layer.mutation_traits)


SHAPE_SETTERS = layers_with("sets_size")
SPATIAL_ABSORBERS = layers_with("absorbs_spatial")
CHANNEL_KEEPERS = layers_with("keeps_channels")      # for guessing a map count upstream
_ABSENT = object()


@dataclass(eq=False)
class Entry:
    """One top-level item: a plain layer (or Unit instance), or a whole block."""

    layers: List[dict]                 # [the layer], or [opener, ..., closer]
    name: str                          # what later layers read: the layer, or the block's closer
    aliases: Tuple[str, ...]           # every name that refers to its output
    inputs: Optional[List[str]]        # None: reads nothing (Input, Parameter, a stray Delay)
    written: Any = _ABSENT             # the `input:` as the user wrote it, kept when unchanged
    kind: str = "layer"                # "layer", "block" or "delay"

    @property
    def type(self) -> str:
        return self.layers[0]["type"]

    @property
    def role(self) -> str:
        """The registry's role; "structure" for units, blocks and anything the registry does not know."""
        layer = REGISTRY.get(self.type)
        return layer.role if layer is not None and self.kind == "layer" else "structure"

    @property
    def props(self) -> dict:
        return self.layers[0]


@dataclass
class Net:
    entries: List[Entry]
    taken: Set[str] = field(default_factory=set)      # layer names and parameter scopes in use
    pinned: Set[str] = field(default_factory=set)     # top-level names read from inside a block

    # -- reading and writing ---------------------------------------------------------------------------------
    @classmethod
    def from_layers(cls, layers: Sequence[dict]) -> "Net":
        flat = [_named_first(layer) for layer in copy.deepcopy(list(layers))]
        name_all(flat)
        net = cls(entries=[])
        previous: Optional[Entry] = None
        i = 0
        while i < len(flat):
            layer = flat[i]
            if layer["type"] in BLOCKS:
                end = _matching_end(flat, i)
                body = flat[i:end + 1]
                entry = Entry(body, body[-1]["name"], (layer["name"], body[-1]["name"]), None, kind="block")
                inner = {b["name"] for b in body}
                net.pinned.update(ref for b in body[1:] for ref in _written_inputs(b) if ref not in inner)
                i = end + 1
            elif layer["type"] == "Delay":     # only meaningful inside a recurrent block; left alone
                entry = Entry([layer], layer["name"], (layer["name"],), None, kind="delay")
                net.pinned.update(_written_inputs(layer))
                i += 1
            else:
                entry = Entry([layer], layer["name"], (layer["name"],), None)
                i += 1
            if entry.kind != "delay":
                owner = entry.layers[0]
                if "input" in owner:
                    entry.written = owner["input"]
                    entry.inputs = _as_list(owner["input"])
                elif not takes_no_input(owner["type"]) and previous is not None:
                    entry.inputs = [previous.name]
                previous = entry
            net.entries.append(entry)
        net.taken = _names_in_use(flat)
        return net

    def to_layers(self) -> List[dict]:
        previous: Optional[Entry] = None
        out: List[dict] = []
        for entry in self.entries:
            owner = entry.layers[0]
            if entry.kind != "delay" and entry.inputs is not None:
                implicit = previous is not None and len(entry.inputs) == 1 and entry.inputs[0] in previous.aliases
                if entry.written is not _ABSENT and _as_list(entry.written) == entry.inputs:
                    owner["input"] = entry.written
                elif entry.written is _ABSENT and implicit:
                    owner.pop("input", None)
                else:
                    owner["input"] = entry.inputs[0] if len(entry.inputs) == 1 else list(entry.inputs)
            if entry.kind != "delay":
                previous = entry
            out.extend(entry.layers)
        return copy.deepcopy(out)

    # -- queries -----------------------------------------------------------------------------------------------
    def index(self, entry: Entry) -> int:
        return next(i for i, e in enumerate(self.entries) if e is entry)

    def find(self, name: str) -> Optional[Entry]:
        return next((e for e in self.entries if name in e.aliases), None)

    def consumers(self, entry: Entry) -> List[Entry]:
        return [e for e in self.entries if e.inputs and any(ref in entry.aliases for ref in e.inputs)]

    def editable(self, entry: Entry) -> bool:
        """A plain computing layer outside any block that no block reads."""
        return entry.role == "layer" and entry.name not in self.pinned

    def size_is_fixed(self, entry: Entry, absorbers: Sequence[str] = SHAPE_SETTERS) -> bool:
        """Whether a change in the size of this layer's output could not be followed downstream: it reaches
        an output of the network (a loss, or a layer nothing reads), or a join (Add2, Concatenate, ...) whose
        other inputs keep the old size, before a layer of `absorbers` takes it in. A unit or block on the way
        counts as fixed, since what it does with its input's size is not known here."""
        reached, order = {id(entry)}, [entry]
        for current in order:                 # grows while it is walked
            readers = self.consumers(current)
            if not readers:
                return True
            for reader in readers:
                if reader.role != "layer":
                    return True
                if reader.type not in absorbers and id(reader) not in reached:
                    reached.add(id(reader))
                    order.append(reader)
        for join in order[1:]:
            if len(join.inputs) > 1 and not all(id(self.find(ref)) in reached for ref in join.inputs):
                return True
        return False

    def is_head(self, entry: Entry) -> bool:
        """Whether the layer sets the size of what reaches an output or a join (e.g. the number of classes),
        so that changing its map or output count could only break the network."""
        return self.size_is_fixed(entry, SHAPE_SETTERS)

    def channels(self, name: str) -> Optional[int]:
        """The number of maps a layer outputs, when it can be read off the layers upstream."""
        multiplier = 1
        for _ in range(len(self.entries)):
            entry = self.find(name)
            if entry is None or entry.kind != "layer":
                return None
            props = entry.props
            if entry.type == "Input":
                size = _as_list(props.get("size"))
                return multiplier * size[0] if size and isinstance(size[0], int) else None
            if entry.type in ("Convolution", "Deconvolution"):
                maps = props.get("out_maps", REGISTRY[entry.type].props["out_maps"].default)
                return multiplier * maps if isinstance(maps, int) else None
            if entry.type == "DepthwiseConvolution":
                factor = props.get("multiplier", 1)
                if not isinstance(factor, int):
                    return None
                multiplier *= factor
            elif entry.type not in CHANNEL_KEEPERS:
                return None
            if not entry.inputs or len(entry.inputs) != 1:
                return None
            name = entry.inputs[0]
        return None

    # -- edits -------------------------------------------------------------------------------------------------
    def fresh(self, type_name: str) -> str:
        """An unused NNC-style name (ReLU, ReLU_2, ...); parameter scopes count as used, so a new layer
        never shares parameters by accident."""
        name = default_name(type_name, None, {}, self.taken)
        self.taken.add(name)
        return name

    def new_layer(self, type_name: str, inputs: List[str], props: Optional[dict] = None) -> Entry:
        name = self.fresh(type_name)
        layer = {"type": type_name, "name": name}
        layer.update(props or {})
        return Entry([layer], name, (name,), list(inputs))

    def insert_chain(self, after: Entry, chain: List[Tuple[str, dict]]) -> List[Entry]:
        """Insert layers (type, properties) one after another behind `after`; whatever read `after` now
        reads the last of them."""
        readers = self.consumers(after)
        source, made = after.name, []
        for type_name, props in chain:
            entry = self.new_layer(type_name, [source], props)
            made.append(entry)
            source = entry.name
        self.place_after(after, made)
        self.rewire(readers, after.aliases, source)
        return made

    def place_after(self, after: Entry, entries: List[Entry]) -> None:
        at = self.index(after) + 1
        self.entries[at:at] = entries

    def rewire(self, readers: List[Entry], old: Sequence[str], new: str) -> None:
        for reader in readers:
            reader.inputs = [new if ref in old else ref for ref in reader.inputs]

    def remove(self, entry: Entry) -> None:
        """Drop a one-input layer; whatever read it reads its input instead."""
        source = entry.inputs[0]
        readers = self.consumers(entry)
        self.entries.pop(self.index(entry))
        self.rewire(readers, entry.aliases, source)


# -- helpers ---------------------------------------------------------------------------------------------------
def _named_first(layer: Any) -> dict:
    if not isinstance(layer, dict) or not isinstance(layer.get("type"), str):
        raise ValueError(f"each layer must be a mapping with a `type`, got {layer!r}")
    return layer


def name_all(flat: List[dict]) -> None:
    """Write out the default names exactly as the loader would give them; `name` goes right after `type`."""
    counts: Dict[str, int] = {}
    explicit = {layer.get("name") for layer in flat if isinstance(layer.get("name"), str)}
    for layer in flat:
        type_name, name = layer["type"], layer.get("name")
        if not isinstance(name, str) or not name:
            name = default_name(type_name, layer.get("unit"), counts, explicit)
        rest = {k: v for k, v in layer.items() if k not in ("type", "name")}
        layer.clear()
        layer["type"], layer["name"] = type_name, name
        layer.update(rest)


def _matching_end(flat: List[dict], start: int) -> int:
    opener = flat[start]["type"]
    closer, depth = BLOCKS[opener], 0
    for j in range(start, len(flat)):
        depth += (flat[j]["type"] == opener) - (flat[j]["type"] == closer)
        if depth == 0:
            return j
    raise ValueError(f"{opener} '{flat[start]['name']}' has no {closer} after it")


def _as_list(value: Any) -> List:
    if value is None:
        return []
    return [value] if isinstance(value, (str, int, float)) else list(value)


def _written_inputs(layer: dict) -> List[str]:
    return [ref for ref in _as_list(layer.get("input")) if isinstance(ref, str)]



def _names_in_use(flat: List[dict]) -> Set[str]:
    taken = set()
    for layer in flat:
        taken.add(layer["name"])
        scope = layer.get("parameter_scope")
        if isinstance(scope, str):
            taken.add(scope)
        repeat = layer.get("repeat")
        if layer["type"] == "Unit" and isinstance(repeat, int):
            taken.update(f"{layer['name']}_{i}" for i in range(1, repeat + 1))
    return taken
