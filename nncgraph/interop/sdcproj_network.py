"""NNC networks of a .sdcproj: layers, links, and the order nncgraph writes them in.

NNC stores a network as a graph (`[<Net>_Layer_N]` with an ID, `[<Net>_Link_N]`
from one ID to another); nncgraph's network is a list in which a layer reads
the previous one unless `input:` names others, and a RepeatStart/RepeatEnd or
RecurrentInput/RecurrentOutput pair encloses its block by position. So the
links are sorted topologically with each block kept contiguous, and a Delay's
incoming link (the value for the next step) is a back edge, not a dependency.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from ..errors import UserError, shown
from ..layers import get_layer
from ..layers.pins import pin_keys
from ..layers.structure import BLOCKS as CLOSER_OF, is_structural
from .sdcproj_ini import IniFile, IniSection


@dataclass
class NncLayer:
    id: str
    type: str
    name: str
    section: IniSection
    index: int                                              # position in the file, for stable ordering
    props: Dict[str, Tuple[str, int]] = field(default_factory=dict)    # NNC name -> (value, line); no Name
    # source layer IDs: the main pin's links in link order, then the data side pins' in pin order
    inputs: List[str] = field(default_factory=list)
    param_pins: Dict[str, str] = field(default_factory=dict)     # linked parameter pin (W, b, ...) -> source ID
    linked_pins: Set[str] = field(default_factory=set)           # every side pin a link ends at
    pin_links: List[Tuple[int, str, int]] = field(default_factory=list)    # (DestPinIndex > 0, source ID, line)

    @property
    def line(self) -> int:
        return self.section.line_of("Type")

    @property
    def sources(self) -> List[str]:
        return self.inputs + list(self.param_pins.values())


@dataclass
class NncNetwork:
    name: str
    line: int
    layers: Dict[str, NncLayer]                             # by ID, in file order

    def consumers(self, layer_id: str) -> List[NncLayer]:
        return [l for l in self.layers.values() if layer_id in l.sources]


def read_networks(ini: IniFile) -> List[NncNetwork]:
    glob = ini.section("Global")
    if glob is not None and "NumNetwork" in glob:
        count = _int(ini, glob, "NumNetwork")
        names = []
        for i in range(count):
            if f"Network_{i}" not in glob:
                raise ini.error(f"[Global] lists {count} networks but has no Network_{i}.", glob.line,
                                fix="save the project again in Neural Network Console.")
            names.append(glob.get(f"Network_{i}"))
        return [_read_network(ini, name, name + "_") for name in names]
    return [_read_network(ini, "Main", "")]    # files with one network have no [Global] and no prefix


def _int(ini: IniFile, section: IniSection, key: str) -> int:
    value = section.get(key)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ini.error(f"{section.title} {key} must be a whole number, got {shown(value)}.", section.line_of(key),
                        fix=f"set {key}=<number>.") from None


def _read_network(ini: IniFile, name: str, prefix: str) -> NncNetwork:
    header = ini.section(prefix + "Network_Global")
    if header is None:
        raise ini.error(f"network {shown(name)} has no [{shown(prefix, quote=False)}Network_Global] section.", None,
                        fix="save the project again in Neural Network Console.")
    net = NncNetwork(name, header.line, {})
    count = _int(ini, header, "NumLayer")
    for i in range(count):
        section = ini.section(f"{prefix}Layer_{i}")
        if section is None:
            raise ini.error(f"network {shown(name)} declares {count:,} layers but has no "
                            f"[{shown(prefix, quote=False)}Layer_{i}].", header.line_of("NumLayer"),
                            fix="correct NumLayer.")
        layer = _read_layer(ini, section, i)
        if layer.id in net.layers:
            raise ini.error(f"layer ID {shown(layer.id, quote=False)} is used twice in network {shown(name)}.",
                            section.line_of("ID"), layer=layer.name, layer_type=layer.type,
                            fix="give each layer its own ID.")
        net.layers[layer.id] = layer
    count = _int(ini, header, "NumLink")
    for i in range(count):
        section = ini.section(f"{prefix}Link_{i}")
        if section is None:
            raise ini.error(f"network {shown(name)} declares {count:,} links but has no "
                            f"[{shown(prefix, quote=False)}Link_{i}].", header.line_of("NumLink"),
                            fix="correct NumLink.")
        _read_link(ini, net, section)
    for layer in net.layers.values():
        if layer.pin_links:
            _connect_pins(ini, layer)
    return net


def _read_layer(ini: IniFile, section: IniSection, index: int) -> NncLayer:
    for key in ("ID", "Type"):
        if key not in section:
            raise ini.error(f"{section.title} has no {key}.", section.line, fix=f"add {key}=... to the layer.")
    props: Dict[str, Tuple[str, int]] = {}
    for k in range(_int(ini, section, "NumProperty") if "NumProperty" in section else 0):
        name_key, value_key = f"Property_{k}_Name", f"Property_{k}_Value"
        if name_key not in section:
            raise ini.error(f"{section.title} has no {name_key}.", section.line, fix="correct NumProperty.")
        props[section.get(name_key)] = (section.get(value_key, ""), section.line_of(value_key))
    name = props.pop("Name", (section.get("Type"), 0))[0]
    return NncLayer(section.get("ID"), section.get("Type"), name, section, index, props)


def _read_link(ini: IniFile, net: NncNetwork, section: IniSection) -> None:
    source, dest = section.get("SourceLayerID"), section.get("DestLayerID")
    known = net.layers.get(dest) or net.layers.get(source)
    ctx = dict(layer=known.name if known else None, layer_type=known.type if known else None)
    for key, ref in (("SourceLayerID", source), ("DestLayerID", dest)):
        if ref not in net.layers:
            raise ini.error(f"{section.title} {key}={shown(ref, quote=False)} names no layer of network "
                            f"{shown(net.name)}.", section.line_of(key), **ctx,
                            fix="delete the link or point it at an existing layer ID.")
    if section.get("SourcePinIndex", "0") != "0":
        raise ini.error(f"{section.title} connects an output other than the layer's main one (SourcePinIndex="
                        f"{shown(section.get('SourcePinIndex'), quote=False)}); nncgraph layers have one output.",
                        section.line_of("SourcePinIndex"), **ctx, fix="link from the layer's main output (pin 0).")
    pin = section.get("DestPinIndex", "0")
    if not (pin.isdigit() and len(pin) < 10):       # a layer has a handful of pins
        raise ini.error(f"{section.title} DestPinIndex must be a pin number (0, 1, ...), got {shown(pin)}.",
                        section.line_of("DestPinIndex"), **ctx, fix="set DestPinIndex=0 for the main input.")
    if int(pin) == 0:
        net.layers[dest].inputs.append(source)
    else:       # a side connector: resolved once every link is read, in pin order (_connect_pins)
        net.layers[dest].pin_links.append((int(pin), source, section.line_of("DestPinIndex")))


def _connect_pins(ini: IniFile, layer: NncLayer) -> None:
    """Links into side connectors (layers/pins.py): a data pin becomes the next input, in pin order; a
    parameter pin is named."""
    ctx = dict(layer=layer.name, layer_type=layer.type)
    if is_structural(layer.type):       # Unit, RepeatStart, ...: links end at their one input pin
        side, keys = (), {}
    else:
        try:
            impl = get_layer(layer.type)
        except UserError:
            return      # the layer's conversion says what is wrong with its type
        side, keys = impl.side_pins, pin_keys(impl)
    linked: Dict[int, str] = {}
    for index, source, line in layer.pin_links:
        if index > len(side):
            pins = ", ".join(f"{i} {name}" for i, name in enumerate(("Input",) + side))
            raise ini.error(f"a link ends at its pin {index}, but nncgraph's {layer.type} takes links at pins {pins} "
                            "only.", line, **ctx,
                            fix=f"link into one of those pins (DestPinIndex 0 to {len(side)}).")
        if index in linked:
            raise ini.error(f"two links end at its pin {index} ({side[index - 1]}), which takes one.", line, **ctx,
                            fix="delete one of the links.")
        linked[index] = source
    data = [i for i, name in enumerate(side, start=1) if name not in keys]
    for index in sorted(linked):
        name = side[index - 1]
        layer.linked_pins.add(name)
        if name in keys:
            layer.param_pins[name] = linked[index]
            continue
        before = [i for i in data if i < index and i not in linked] or ([0] if not layer.inputs else [])
        if before:
            line = next(l for i, _, l in layer.pin_links if i == index)
            raise ini.error(f"a link ends at its pin {index} ({name}) but none at pin {before[0]} "
                            f"({(('Input',) + side)[before[0]]}); nncgraph takes data pins as inputs, in order.", line,
                            **ctx,
                            fix=f"link a layer into pin {before[0]} too (a Constant layer for a fixed value).")
        layer.inputs.append(linked[index])


# -- order -------------------------------------------------------------------------------------------
def order_layers(ini: IniFile, net: NncNetwork, skip: Set[str]) -> List[NncLayer]:
    """The layers (minus the IDs in `skip`) topologically, each repeat/recurrent block contiguous."""
    ids = [i for i in net.layers if i not in skip]
    preds = {i: ([] if net.layers[i].type == "Delay" else [s for s in net.layers[i].sources if s not in skip])
             for i in ids}
    succ: Dict[str, List[str]] = {i: [] for i in ids}
    for i in ids:
        for s in preds[i]:
            succ[s].append(i)
    blocks = _find_blocks(ini, net, ids, preds, succ)
    return [net.layers[i] for i in _order(ini, net, set(ids), blocks, preds)]


def _reach(starts, edges) -> Set[str]:
    seen, stack = set(starts), list(starts)
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _find_blocks(ini, net, ids, preds, succ) -> Dict[str, Tuple[str, Set[str]]]:
    """Opener ID -> (closer ID, body IDs). NNC pairs them in its GUI; the pair is the closer reachable from
    the opener whose enclosed layers hold as many openers as closers of that kind (nested blocks), and
    of those the nearest."""
    delays = [i for i in ids if net.layers[i].type == "Delay"]
    blocks, claimed = {}, {}
    for o in ids:
        start = net.layers[o]
        if start.type not in CLOSER_OF:
            continue
        kind = CLOSER_OF[start.type]
        down = _reach([o], succ)
        candidates = []
        for c in down:
            if net.layers[c].type != kind:
                continue
            up = _reach([c], preds)
            body = (down & up) - {o, c}
            if start.type == "RecurrentInput":    # a step's state enters through Delays, not from the start
                while True:
                    extra = {d for d in delays
                             if d not in body and net.layers[d].inputs and net.layers[d].inputs[0] in body}
                    if not extra:
                        break
                    body |= extra | ((_reach(extra, succ) & up) - {o, c})
            types = [net.layers[i].type for i in body]
            if types.count(start.type) == types.count(kind):
                candidates.append((len(body), net.layers[c].index, c, body))
        if not candidates:
            raise ini.error(f"{start.type} has no {kind} that its links lead to.", start.line, layer=start.name,
                            layer_type=start.type, fix=f"link the block's last layer to a {kind}.")
        _, _, c, body = min(candidates, key=lambda t: t[:2])
        end = net.layers[c]
        if c in claimed:
            raise ini.error(f"{kind} closes both {shown(claimed[c])} and {shown(start.name)}.", end.line,
                            layer=end.name, layer_type=kind, fix=f"give each {start.type} its own {kind}.")
        claimed[c] = start.name
        _check_block(ini, net, start, end, body)
        blocks[o] = (c, body)
    recurrent = {n for o, (_, body) in blocks.items() if net.layers[o].type == "RecurrentInput" for n in body}
    for i in ids:
        layer = net.layers[i]
        if layer.type == "Delay" and i not in recurrent:
            raise ini.error("Delay outside a RecurrentInput ... RecurrentOutput block.", layer.line,
                            layer=layer.name, layer_type="Delay",
                            fix="link it from and to layers between a RecurrentInput and its RecurrentOutput.")
        if layer.type in CLOSER_OF.values() and i not in claimed:
            raise ini.error(f"{layer.type} has no block start before it.", layer.line, layer=layer.name,
                            layer_type=layer.type, fix="link it from the layers of a block that starts with "
                                                       + ("RepeatStart." if layer.type == "RepeatEnd" else
                                                          "RecurrentInput."))
    return blocks


def _check_block(ini, net, start: NncLayer, end: NncLayer, body: Set[str]) -> None:
    if len(end.inputs) != 1 or end.inputs[0] not in body:
        raise ini.error(f"{end.type} must be linked from exactly one layer inside the block that starts at "
                        f"{shown(start.name)}.", end.line, layer=end.name, layer_type=end.type,
                        fix="link the block's last layer, and nothing else, to it.")
    for i in body | {start.id}:
        for user in net.consumers(i):
            if user.id not in body and user.id != end.id:
                inner = net.layers[i]
                start_name, end_name = shown(start.name, quote=False), shown(end.name, quote=False)
                raise ini.error(f"uses {shown(inner.name)}, which is inside the block {start_name} ... {end_name}; "
                                f"only {end_name} passes a value out of the block.", user.line, layer=user.name,
                                layer_type=user.type, fix=f"link it from {shown(end.name)} instead.")


def _depths(users: Dict[str, Set[str]]) -> Dict[str, int]:
    """Per item, the layers on the longest path from it to the end of the network (iteratively: networks
    can be deeper than Python's recursion limit)."""
    memo: Dict[str, Optional[int]] = {}
    for root in users:
        stack = [(root, False)]
        while stack:
            item, expanded = stack.pop()
            if expanded:
                memo[item] = 1 + max((memo.get(u) or 0 for u in users[item]), default=0)
            elif item not in memo:          # not yet seen (None: in progress, i.e. a cycle _order reports)
                memo[item] = None
                stack.append((item, True))
                stack.extend((u, False) for u in users[item] if u not in memo)
    return {k: v or 0 for k, v in memo.items()}


def _order(ini, net, nodes: Set[str], blocks, preds) -> List[str]:
    inner = {n for o, (_, body) in blocks.items() if o in nodes for n in body}
    top = [o for o in blocks if o in nodes and o not in inner]
    item = {n: n for n in nodes}
    for o in top:
        c, body = blocks[o]
        for n in body | {o, c}:
            item[n] = o
    deps: Dict[str, Set[str]] = {it: set() for it in set(item.values())}
    for n in nodes:
        for s in preds[n]:
            if s in nodes and item[s] != item[n]:
                deps[item[n]].add(item[s])
    users: Dict[str, Set[str]] = {it: set() for it in deps}
    for it, before in deps.items():
        for b in before:
            users[b].add(it)
    depth = _depths(users)
    order, done, last = [], set(), None
    while len(order) < len(deps):
        ready = [it for it in deps if it not in done and deps[it] <= done]
        if not ready:
            stuck = sorted((net.layers[it] for it in deps if it not in done), key=lambda l: l.index)
            raise ini.error("the layers " + shown(" -> ".join(l.name for l in stuck), quote=False)
                            + " feed each other in a cycle.",
                            stuck[0].line, layer=stuck[0].name, layer_type=stuck[0].type,
                            fix="a cycle needs a Delay inside a RecurrentInput ... RecurrentOutput block.")
        # Delays first (they read nothing this step), then what continues the chain just written (so a chain
        # needs no `input:`), the longest way first (a residual block's main path before its shortcut);
        # otherwise the file's order
        nxt = min(ready, key=lambda it: (net.layers[it].type != "Delay", last not in deps[it], -depth[it],
                                         net.layers[it].index))
        order.append(nxt)
        done.add(nxt)
        if net.layers[nxt].type != "Delay":
            last = nxt
    out: List[str] = []
    for it in order:
        if it in top:
            c, body = blocks[it]
            out += [it] + _order(ini, net, body, blocks, preds) + [c]
        else:
            out.append(it)
    return out
