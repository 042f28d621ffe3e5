"""NNC-style random mutation of a network, for structure search.

Neural Network Console's structure search changes the user's network at
random: it removes or inserts activations, pooling, Dropout and
BatchNormalization, inserts Affine or Convolution blocks, removes basic
layers, adds or removes branches, and changes the properties NNC marks as
searchable (`out_maps`, `kernel_shape`, `out_shape`). The rules below restate
that policy for nncgraph's YAML layer lists.

How the policy's conditions are read here:
- `T` (a bare layer type) names the site layer: a removal removes a layer of
  type T, an insertion inserts right after one.
- `-1:T` (InsertBatchNormalization, InsertAffine, InsertConvolution) is read
  as "the layer at offset -1 from the insertion point, the one just before it,
  is of type T": insert directly after a layer of type T, which is also how
  the bare T of the other insertion rules is read.
- `-1:*BranchStart` (RemoveBranch) is a layer read by two or more layers; the
  branch removed is one of its readers and the layers that follow it, one
  reader each, up to the first join (Add2, AddN, Concatenate). A branch may be
  empty (the join reads the start directly, as a residual connection does). A
  join left with one input goes too, its readers reading that input.
- RemoveBasicLayer (NNC's `RemoveLayers`) removes the one layer; whatever
  activation or normalization followed it stays, for the other rules to remove.
- InsertAffine's `*SmallerAffine` is an Affine with half the outputs of the
  Affine it follows (at least 1).
- Branch (make a branch) puts a copy of a Convolution/DepthwiseConvolution
  beside it, on the same input and with the same properties (so the shapes
  match) but its own parameters, and joins the two with Add2 or Concatenate
  (Concatenate only where the extra maps cannot reach the network's output).

Choice: first a rule, uniformly among the rules that apply somewhere, then a
site uniformly among that rule's sites (then any option, such as which
activation, uniformly). Rule-then-site keeps rules with many sites (insert an
activation after any of a dozen layers) from crowding out rules with one.

Shapes are not checked here: the search engine runs shape inference on every
candidate. The rules only avoid what is plainly invalid from the dicts alone:
the last Affine or Convolution before a loss sets the output size (the number
of classes), so it is neither removed nor resized, no smaller Affine follows
it and no Concatenate doubles its maps; the same holds before a join (Add2,
...) whose other input would keep the old size, e.g. inside a residual block.
Pooling is inserted or removed, and a kernel changed where it changes the map
size, only where an Affine or GlobalAveragePooling takes the new height and
width in before any output or such join; pooling goes only after 2-D maps;
inserted convolutions are 3 x 3 with border_mode same and keep the map count,
so they fit wherever they go.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..layers import REGISTRY
from .mutation_graph import SPATIAL_ABSORBERS, Entry, Net, _as_list, layers_with

# Which layers each rule concerns is a fact of the layers (their mutation_traits, searchable and
# inserted_props); the tables below only gather them from the registry.
ACTIVATIONS = layers_with("activation")
CONVOLUTIONS = layers_with("convolution")
BASIC = layers_with("basic")
JOINS = layers_with("join")
SITES = layers_with("insertion_site")

# rule -> the layer types it removes
REMOVALS: Dict[str, Tuple[str, ...]] = {
    "RemoveActivation": layers_with("removable_activation"),
    "RemovePooling": layers_with("pooling"),
    "RemoveDropout": ("Dropout",),
    "RemoveBatchNormalization": ("BatchNormalization",),
    "RemoveBasicLayer": BASIC,
}
# rule -> (the types of layer it inserts after, the types it chooses the inserted layer from)
INSERTIONS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "InsertActivation": (SITES, ACTIVATIONS),
    "InsertPooling": (SITES, layers_with("inserted_pooling")),
    "InsertDropout": (SITES, ("Dropout",)),
    "InsertBatchNormalization": (SITES, ("BatchNormalization",)),   # NNC: -1:Convolution, ...
}
# NNC's SearchParameter=True properties (layer_component/Basic)
SEARCHABLE: Dict[str, Tuple[str, ...]] = {name: layer.searchable for name, layer in REGISTRY.items()
                                          if layer.searchable}
SIZES = ("out_maps", "out_shape")      # changing these changes what later layers receive


@dataclass(frozen=True)
class Rule:
    name: str
    sites: Callable[[Net], List[Any]]
    apply: Callable[[Net, Any, random.Random], str]


def mutate(layers: List[dict], rng: random.Random, count: int = 1,
           rules: Optional[Sequence[str]] = None) -> Tuple[List[dict], List[str]]:
    """A new layer list (the input is not modified) after `count` random mutations, and one short
    human-readable description per applied mutation, e.g. "insert ReLU_3 after Convolution_2".

    `rules` limits the choice to those rule names (RULE_NAMES); fewer than `count` descriptions come
    back when no rule applies any more. Every layer of the result has its `name` written out.
    """
    net = Net.from_layers(layers)
    unknown = [r for r in rules or () if r not in RULES_BY_NAME]
    if unknown:
        raise ValueError(f"unknown mutation rule(s) {', '.join(unknown)}; known: {', '.join(RULE_NAMES)}")
    active = RULES if rules is None else tuple(RULES_BY_NAME[r] for r in rules)
    described: List[str] = []
    for _ in range(count):
        applicable = [(rule, sites) for rule in active for sites in [rule.sites(net)] if sites]
        if not applicable:
            break
        rule, sites = rng.choice(applicable)
        described.append(rule.apply(net, rng.choice(sites), rng))
    return net.to_layers(), described


def network_layers(doc: dict) -> List[dict]:
    """The layer list a search mutates: `network:`, or under `networks:` the one training uses (the first
    optimizer's; the first network by default). The list itself, not a copy."""
    holder, key = _network_slot(doc)
    return holder[key]


def with_network(doc: dict, layers: List[dict]) -> dict:
    """A copy of the project document with that layer list replaced."""
    out = copy.deepcopy(doc)
    holder, key = _network_slot(out)
    holder[key] = copy.deepcopy(list(layers))
    return out


def _network_slot(doc: dict) -> Tuple[dict, str]:
    if isinstance(doc.get("network"), list):
        return doc, "network"
    networks = doc.get("networks")
    if isinstance(networks, dict) and networks:
        training = doc.get("training") or {}
        optimizers = training.get("optimizers")
        first = optimizers[0] if isinstance(optimizers, list) and optimizers and isinstance(optimizers[0], dict) \
            else training       # with several optimizers, the first one's network is the main one
        wanted = first.get("network")
        return networks, wanted if wanted in networks else next(iter(networks))
    raise ValueError("the project has no `network:` list (nor `networks:`)")


# -- removals ---------------------------------------------------------------------------------------------------
def _removal(name: str, types: Tuple[str, ...]) -> Rule:
    def sites(net: Net) -> List[Entry]:
        return [e for e in net.entries if e.type in types and net.editable(e) and e.inputs and len(e.inputs) == 1
                and not _removal_breaks(net, name, e)]

    def apply(net: Net, entry: Entry, rng: random.Random) -> str:
        net.remove(entry)
        return f"remove {_label(entry)}"

    return Rule(name, sites, apply)


def _removal_breaks(net: Net, rule: str, entry: Entry) -> bool:
    # A basic layer sets the map count of what it passes on (the last one before a loss: the number of
    # classes), and pooling its height and width; where nothing downstream can follow such a change, the
    # removal could only yield an invalid network.
    if rule == "RemoveBasicLayer":
        return net.is_head(entry)
    if rule == "RemovePooling":
        return net.size_is_fixed(entry, SPATIAL_ABSORBERS)
    return False


# -- insertions -------------------------------------------------------------------------------------------------
def _insertion(name: str, after: Tuple[str, ...], choices: Tuple[str, ...]) -> Rule:
    def sites(net: Net) -> List[Entry]:
        out = []
        for entry in net.entries:
            if entry.type not in after or not net.editable(entry):
                continue
            if name == "InsertPooling" and (not _has_maps(entry) or net.size_is_fixed(entry, SPATIAL_ABSORBERS)):
                continue
            readers = net.consumers(entry)
            if len(choices) == 1 and readers and all(r.type == choices[0] for r in readers):
                continue    # a second Dropout or BatchNormalization in a row changes nothing worth training
            out.append(entry)
        return out

    def apply(net: Net, entry: Entry, rng: random.Random) -> str:
        kind = rng.choice(choices)
        made, = net.insert_chain(entry, [(kind, copy.deepcopy(REGISTRY[kind].inserted_props))])
        return f"insert {made.name} after {_label(entry)}"

    return Rule(name, sites, apply)


def _has_maps(entry: Entry) -> bool:
    """Whether the layer's output is C x H x W, so 2 x 2 pooling fits it."""
    if entry.type != "Affine":
        return True
    return len(_as_list(entry.props.get("out_shape", 100))) >= 3


def _affine_block_sites(net: Net) -> List[Entry]:
    # The new Affine is smaller than the one it follows; behind the last Affine it would change the output.
    return [e for e in net.entries if e.type == "Affine" and net.editable(e) and not net.is_head(e)]


def _affine_block(net: Net, entry: Entry, rng: random.Random) -> str:
    size = 1
    for d in _as_list(entry.props.get("out_shape", REGISTRY["Affine"].props["out_shape"].default)):
        size *= d
    smaller = max(1, size // 2)
    activation, affine = net.insert_chain(entry, [(rng.choice(ACTIVATIONS), {}), ("Affine", {"out_shape": smaller})])
    return f"insert Affine block after {_label(entry)}: {activation.name} + {affine.name} (out_shape {smaller})"


def _convolution_block_sites(net: Net) -> List[Entry]:
    return [e for e in net.entries if e.type in CONVOLUTIONS and net.editable(e)]


def _convolution_block(net: Net, entry: Entry, rng: random.Random) -> str:
    # 3 x 3 with border_mode same and stride 1 keeps the map size, and a Convolution keeps the map count
    # (when it can be read off upstream), so the block fits wherever it goes.
    maps = net.channels(entry.name)
    options = (["Convolution"] if maps else []) + ["DepthwiseConvolution"]
    kind = rng.choice(options)
    props: Dict[str, Any] = {"kernel_shape": [3, 3], "border_mode": "same"}
    if kind == "Convolution":
        props = {"out_maps": maps, **props}
    made = net.insert_chain(entry, [("BatchNormalization", {}), (rng.choice(ACTIVATIONS), {}), (kind, props)])
    return f"insert Convolution block after {_label(entry)}: " + " + ".join(e.name for e in made)


# -- branches ---------------------------------------------------------------------------------------------------
def _branch_sites(net: Net) -> List[Entry]:
    return [e for e in net.entries if e.type in CONVOLUTIONS and net.editable(e) and e.inputs and len(e.inputs) == 1]


def _make_branch(net: Net, entry: Entry, rng: random.Random) -> str:
    # Its own parameters: no shared scope, no start from the same parameter file (the twin would be a copy).
    props = {k: copy.deepcopy(v) for k, v in entry.props.items()
             if k not in ("type", "name", "input", "parameter_scope") and not k.endswith("_file")}
    readers = net.consumers(entry)
    twin = net.new_layer(entry.type, entry.inputs, props)
    # Concatenate doubles the maps: fine before another Convolution or Affine, not where they reach a loss.
    joins = ["Add2"] + ([] if net.is_head(entry) or props.get("channel_last") else ["Concatenate"])
    join = net.new_layer(rng.choice(joins), [entry.name, twin.name])
    net.place_after(entry, [twin, join])
    net.rewire(readers, entry.aliases, join.name)
    return f"branch {_label(entry)}: parallel {twin.name} joined by {join.name}"


def _removable_branches(net: Net) -> List[tuple]:
    out = []
    for start in net.entries:
        readers = net.consumers(start)
        if len(readers) >= 2:
            out.extend(b for b in (_branch_from(net, start, r) for r in readers) if b is not None)
    return out


def _branch_from(net: Net, start: Entry, first: Entry) -> Optional[tuple]:
    path, last, current = [], start, first
    while current.type not in JOINS:
        if not net.editable(current) or len(current.inputs) != 1 or current in path:
            return None
        readers = net.consumers(current)
        if len(readers) != 1:           # the branch forks again or ends in an output: not one branch
            return None
        path.append(current)
        last, current = current, readers[0]
    join = current
    if not net.editable(join) or len(join.inputs) < 2 or sum(r in last.aliases for r in join.inputs) != 1:
        return None
    return start, path, join, last


def _remove_branch(net: Net, site: tuple, rng: random.Random) -> str:
    start, path, join, last = site
    for entry in path:
        net.entries.pop(net.index(entry))
    join.inputs = [r for r in join.inputs if r not in last.aliases]
    inner = [" .. ".join(dict.fromkeys([path[0].name, path[-1].name]))] if path else []
    text = "remove branch " + " -> ".join([start.name, *inner, join.name])
    if len(join.inputs) == 1:           # a join of one input joins nothing
        net.remove(join)
        text += f", and the join {join.name}"
    return text


# -- searchable properties ------------------------------------------------------------------------------------
def _parameter_sites(net: Net) -> List[Tuple[Entry, str]]:
    out = []
    for entry in net.entries:
        if entry.type not in SEARCHABLE or not net.editable(entry):
            continue
        for prop in SEARCHABLE[entry.type]:
            value = _as_list(_value(entry, prop))
            if not value or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
                continue
            if prop in SIZES and net.is_head(entry):
                continue
            if prop == "kernel_shape" and not _keeps_size(entry) and net.size_is_fixed(entry, SPATIAL_ABSORBERS):
                continue
            out.append((entry, prop))
    return out


def _change_parameter(net: Net, site: Tuple[Entry, str], rng: random.Random) -> str:
    entry, prop = site
    old = _value(entry, prop)
    values = _as_list(old)
    if prop == "kernel_shape":
        # +-2 keeps a kernel odd, so border_mode same still keeps the map size; an even one becomes odd
        steps = [2] + ([-2] if all(_kernel_step(k, -2) >= 1 for k in values) else [])
        step = rng.choice(steps)
        new: Any = [_kernel_step(k, step) for k in values]
    else:
        first = values[0]
        new_first = rng.choice([first * 2] + ([first // 2] if first >= 2 else []))
        new = [new_first] + values[1:] if isinstance(old, list) else new_first
    entry.props[prop] = new
    return f"{prop} of {entry.name} {old} -> {new}"


def _keeps_size(entry: Entry) -> bool:
    """Whether the layer's output size is independent of its kernel (border_mode same, padding derived)."""
    return "border_mode" in REGISTRY[entry.type].props and _value(entry, "border_mode") == "same" \
        and entry.props.get("padding") is None


def _kernel_step(k: int, step: int) -> int:
    k += step
    return k - 1 if k % 2 == 0 else k


def _value(entry: Entry, prop: str) -> Any:
    if prop in entry.props:
        return entry.props[prop]
    return copy.deepcopy(REGISTRY[entry.type].props[prop].default)


def _label(entry: Entry) -> str:
    return entry.name if entry.name.startswith(entry.type) else f"{entry.name} ({entry.type})"


RULES: Tuple[Rule, ...] = (
    *(_removal(name, types) for name, types in REMOVALS.items()),
    *(_insertion(name, after, choices) for name, (after, choices) in INSERTIONS.items()),
    Rule("InsertAffine", _affine_block_sites, _affine_block),
    Rule("InsertConvolution", _convolution_block_sites, _convolution_block),
    Rule("RemoveBranch", _removable_branches, _remove_branch),
    Rule("Branch", _branch_sites, _make_branch),
    Rule("ChangeParameter", _parameter_sites, _change_parameter),
)
RULES_BY_NAME: Dict[str, Rule] = {rule.name: rule for rule in RULES}
RULE_NAMES: Tuple[str, ...] = tuple(RULES_BY_NAME)
