"""Hypothesis strategies for project files: valid ones from a small grammar, and mutations of them.

`valid_projects()` builds documents that nncgraph must accept: an Input, a body of layers whose shapes
the generator tracks with its own arithmetic (not nncgraph's), optional units, repeats and skip
connections, an Affine head and a loss, then training, datasets and context sections as
docs/project-file.md describes them. `mutated_projects()` changes one to three places of such a document
the way users get them wrong (a key dropped or misspelt, a wrong value, a layer type typo, a dangling
input, a duplicate), and `project_texts()` writes either as YAML, perhaps edited afterwards as text.
"""
from __future__ import annotations

import copy
from typing import Any, List, Tuple

import yaml
from hypothesis import strategies as st

from fuzz_values import edited_text, nested, typo, values
from nncgraph.layers import REGISTRY
from nncgraph.optimizers import OPTIMIZERS, SCHEDULERS
from nncgraph.project.yaml_text import project_text

ACTIVATIONS = ["ReLU", "Tanh", "Sigmoid", "ELU", "LeakyReLU", "Swish", "Abs", "SELU", "ReLU6", "SoftSign", "GELU",
               "HardTanh", "SoftPlus"]
assert set(ACTIVATIONS) <= set(REGISTRY)
UNIT_BLOCK = {"args": {"maps": 4},
              "layers": [{"type": "Convolution", "name": "conv", "out_maps": "$maps", "kernel_shape": [3, 3],
                          "padding": [1, 1], "border_mode": "valid"},
                         {"type": "ReLU", "name": "out"}]}
UNIT_WIDEN = {"layers": [{"type": "Convolution", "out_maps": "$input_shape[0] * 2", "kernel_shape": [1, 1],
                          "border_mode": "valid"},
                         {"type": "BatchNormalization"}]}


def _pooled(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


class _Network:
    """The layers drawn so far, and the output shape of every named one."""

    def __init__(self, draw):
        self.draw = draw
        self.layers: List[dict] = []
        self.shapes = {}
        self.last: Tuple[str, Tuple[int, ...]] = ("", ())
        self.units = {}
        self.count = 0

    def add(self, layer: dict, shape, named: bool = True) -> None:
        self.count += 1
        if named or "input" in layer:
            layer = {"type": layer["type"], "name": f"l{self.count}", **{k: v for k, v in layer.items() if k != "type"}}
        self.layers.append(layer)
        name = layer.get("name", "")
        if name:
            self.shapes[name] = tuple(shape)
        self.last = (name, tuple(shape))

    def same_shape_partner(self):
        """An earlier named layer with the last output's shape, for Add2 (None if none)."""
        name, shape = self.last
        partners = [n for n, s in self.shapes.items() if s == shape and n != name]
        return self.draw(st.sampled_from(partners)) if name and partners else None

    def concat_partner(self):
        name, shape = self.last
        partners = [n for n, s in self.shapes.items() if len(s) == 3 == len(shape) and s[1:] == shape[1:]
                    and n != name]
        return self.draw(st.sampled_from(partners)) if name and partners else None


def _body_layer(net: _Network) -> None:
    draw = net.draw
    shape = net.last[1]
    image = len(shape) == 3
    kinds = ["activation", "dropout", "batchnorm", "affine"]
    if image:
        kinds += ["convolution", "convolution", "pooling", "global_pooling", "unit", "repeat"]
    if net.same_shape_partner() is not None:
        kinds.append("add")
    if image and net.concat_partner() is not None:
        kinds.append("concatenate")
    kind = draw(st.sampled_from(kinds))
    if kind == "activation":
        net.add({"type": draw(st.sampled_from(ACTIVATIONS))}, shape, named=draw(st.booleans()))
    elif kind == "dropout":
        net.add({"type": "Dropout", "p": draw(st.floats(0, 0.9))}, shape, named=draw(st.booleans()))
    elif kind == "batchnorm":
        net.add({"type": "BatchNormalization"}, shape)
    elif kind == "affine":
        n = draw(st.integers(1, 12))
        net.add({"type": "Affine", "out_shape": n, "with_bias": draw(st.booleans())}, (n,))
    elif kind == "convolution":
        c, h, w = shape
        kh, kw = draw(st.integers(1, min(h, 4))), draw(st.integers(1, min(w, 4)))
        ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        s = draw(st.integers(1, 2))
        maps = draw(st.integers(1, 6))
        group = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0 and maps % g == 0]))
        layer = {"type": "Convolution", "out_maps": maps, "kernel_shape": [kh, kw], "border_mode": "valid",
                 "padding": [ph, pw], "strides": [s, s]}
        if group > 1:
            layer["group"] = group
        net.add(layer, (maps, _pooled(h, kh, s, ph), _pooled(w, kw, s, pw)))
    elif kind == "pooling":
        c, h, w = shape
        k = draw(st.integers(1, min(h, w, 3)))
        kind_name = draw(st.sampled_from(["MaxPooling", "AveragePooling"]))
        net.add({"type": kind_name, "kernel_shape": [k, k]}, (c, _pooled(h, k, k, 0), _pooled(w, k, k, 0)))
    elif kind == "global_pooling":
        net.add({"type": "GlobalAveragePooling"}, (shape[0], 1, 1))
    elif kind == "unit":
        if draw(st.booleans()):
            maps = draw(st.integers(1, 6))
            net.units["Block"] = UNIT_BLOCK
            net.add({"type": "Unit", "unit": "Block", "maps": maps, "repeat": draw(st.integers(1, 3))},
                    (maps, *shape[1:]))
        else:
            net.units["Widen"] = UNIT_WIDEN
            net.add({"type": "Unit", "unit": "Widen"}, (shape[0] * 2, *shape[1:]))
    elif kind == "repeat":
        c = shape[0]
        net.add({"type": "RepeatStart", "times": draw(st.integers(1, 3))}, shape)
        start = net.last[0]
        net.add({"type": "Convolution", "out_maps": c, "kernel_shape": [3, 3], "padding": [1, 1],
                 "border_mode": "valid"}, shape)
        net.add({"type": "ReLU"}, shape)
        if draw(st.booleans()):      # a residual connection to the repetition's input
            net.add({"type": "Add2", "input": [net.last[0], start]}, shape)
        inside = _names_from(net, start)
        net.add({"type": "RepeatEnd"}, shape, named=False)
        # the block's layers are renamed per repetition: nothing after it refers to them
        net.shapes = {n: s for n, s in net.shapes.items() if n not in inside}
        net.last = ("", shape)
    elif kind == "add":
        partner = net.same_shape_partner()
        net.add({"type": "Add2", "input": [net.last[0], partner]}, shape)
    elif kind == "concatenate":
        partner = net.concat_partner()
        net.add({"type": "Concatenate", "input": [net.last[0], partner], "axis": 0},
                (shape[0] + net.shapes[partner][0], *shape[1:]))


def _names_from(net: _Network, start: str):
    """Names of the layers from `start` on."""
    names = [l.get("name") for l in net.layers]
    return set(names[names.index(start):])


@st.composite
def valid_networks(draw):
    """(layer list, units) of a network nncgraph must accept."""
    net = _Network(draw)
    classes = draw(st.integers(2, 6))
    if draw(st.integers(0, 3)):
        size = [draw(st.integers(1, 3)), draw(st.integers(3, 10)), draw(st.integers(3, 10))]
    else:
        size = [draw(st.integers(1, 12))]
    net.add({"type": "Input", "size": size, "dataset": "x"}, size)
    for _ in range(draw(st.integers(0, 6))):
        _body_layer(net)
    net.add({"type": "Affine", "out_shape": classes}, (classes,))
    logits = net.last[0]
    head = draw(st.sampled_from(["softmax_ce", "categorical", "binary", "sigmoid_ce", "squared"]))
    if head == "softmax_ce":
        net.add({"type": "SoftmaxCrossEntropy", "target": "y"}, (1,), named=False)
    elif head == "categorical":
        net.add({"type": "Softmax"}, (classes,), named=False)
        net.add({"type": "CategoricalCrossEntropy", "target": "y"}, (1,), named=False)
    elif head == "binary":
        net.add({"type": "Sigmoid"}, (classes,), named=False)
        net.add({"type": "BinaryCrossEntropy", "target": "t"}, (classes,), named=False)
    elif head == "sigmoid_ce":
        net.add({"type": "SigmoidCrossEntropy", "target": "t"}, (classes,), named=False)
    else:
        net.add({"type": "SquaredError", "target": "t"}, (classes,), named=False)
    if head in ("softmax_ce", "categorical") and draw(st.booleans()):
        net.add({"type": "TopNError", "input": logits, "n": draw(st.integers(1, classes)), "target": "y"}, (1,))
    return net.layers, dict(net.units)


def _floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def training_sections(draw) -> dict:
    out = {}
    fields = {"max_epoch": st.integers(1, 200), "batch_size": st.integers(1, 256), "seed": st.integers(0, 2 ** 31 - 1),
              "monitor_interval": st.integers(1, 5), "save_best": st.booleans(),
              "train_error": st.sampled_from(["pass", "exact"]), "resume_every": _floats(0.01, 60)}
    for key, strategy in fields.items():
        if draw(st.booleans()):
            out[key] = draw(strategy)
    if draw(st.booleans()):
        kind = draw(st.sampled_from(sorted(OPTIMIZERS)))
        optimizer = {"type": kind}
        for param in (h.name for h in OPTIMIZERS[kind].params):
            if draw(st.booleans()):
                optimizer[param] = draw(_floats(1e-6, 2))
        if draw(st.booleans()):
            optimizer["weight_decay"] = draw(_floats(0, 0.1))
        out["optimizer"] = optimizer
    if draw(st.booleans()):
        kind = draw(st.sampled_from(sorted(SCHEDULERS)))
        scheduler = {"type": kind}
        if kind == "Step" and draw(st.booleans()):
            scheduler["steps"] = sorted(draw(st.lists(st.integers(1, 50), min_size=1, max_size=3)))
        if kind in ("Step", "Exponential") and draw(st.booleans()):
            scheduler["multiplier"] = draw(_floats(0.01, 1))
        if draw(st.booleans()):
            scheduler["warmup_epochs"] = draw(_floats(0, 3))
        out["lr_scheduler"] = scheduler
    return out


@st.composite
def valid_projects(draw) -> dict:
    layers, units = draw(valid_networks())
    doc: dict = {}
    if draw(st.booleans()):
        doc["name"] = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20))
    datasets = {"training": {"csv": "data/train.csv"}}
    if draw(st.booleans()):
        datasets["validation"] = {"csv": "data/valid.csv", "shuffle": draw(st.booleans())}
    if draw(st.booleans()):
        datasets["training"]["image_normalization"] = draw(st.booleans())
    doc["datasets"] = datasets
    if units:
        doc["units"] = units
    if draw(st.booleans()):
        doc["network"] = layers
    else:
        doc["networks"] = {"Main": layers}
    training = draw(training_sections())
    if training:
        doc["training"] = training
    if draw(st.booleans()):
        doc["context"] = {"backend": "cpu", "device_id": draw(st.integers(0, 3)), "precision": "float"}
    return doc


# -- mutations ------------------------------------------------------------------------------------
def _places(value, path=()) -> List[Tuple[Any, ...]]:
    """Paths (tuples of keys and indices) to every value inside `value`, `value` itself included."""
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _places(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _places(item, path + (i,))
    return out


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def _mutate_once(draw, doc):
    places = _places(doc)
    path = draw(st.sampled_from(places[1:] or places))
    parent, key = (_get(doc, path[:-1]), path[-1]) if path else (None, None)
    value = _get(doc, path)
    layers = [p for p in places if len(p) >= 2 and isinstance(_get(doc, p), dict) and "type" in _get(doc, p)]
    how = draw(st.sampled_from(["delete", "replace", "replace", "rename", "add_key", "layer_type", "input",
                                "duplicate", "nest", "number", "string"]))
    if how == "layer_type" and layers:
        layer = _get(doc, draw(st.sampled_from(layers)))
        layer["type"] = draw(st.one_of(typo(str(layer["type"])), st.sampled_from(sorted(REGISTRY)),
                                       st.sampled_from(["Unit", "RepeatStart", "RepeatEnd", "RecurrentInput",
                                                        "RecurrentOutput", "Delay", "LSTM", "Argument"])))
    elif how == "input" and layers:
        layer = _get(doc, draw(st.sampled_from(layers)))
        names = [str(_get(doc, p).get("name")) for p in layers] + ["nowhere", "x", ""]
        layer["input"] = draw(st.one_of(st.sampled_from(names), st.lists(st.sampled_from(names), max_size=3)))
    elif parent is None:
        return draw(values)
    elif how == "delete":
        del parent[key]
    elif how == "rename" and isinstance(parent, dict):
        new = draw(typo(str(key)))
        parent[new] = parent.pop(key)
    elif how == "add_key" and isinstance(value, dict):
        value[draw(st.one_of(st.sampled_from(["input", "name", "type", "size", "unit", "repeat", "target",
                                              "search", "optional"]), st.text(max_size=8)))] = draw(values)
    elif how == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(value))
    elif how == "nest":
        parent[key] = nested(value, draw(st.sampled_from([1, 2, 20, 99, 120])))
    elif how == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        parent[key] = draw(st.sampled_from([0, -1, -value, value * 1000, (value + 0.5 if abs(value) < 1e300 else 0.5), 2 ** 63, 10 ** 19,
                                            float("nan"), float("inf"), str(value), 1e-300]))
    elif how == "string" and isinstance(value, str):
        parent[key] = draw(typo(value))
    else:
        parent[key] = draw(values)
    return doc


@st.composite
def mutated_projects(draw) -> dict:
    doc = copy.deepcopy(draw(valid_projects()))
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(_mutate_once(doc))
    return doc


def as_yaml(doc, style: str) -> str:
    """`style` "layers": as nncgraph writes projects (a flow mapping per layer); "block" or "flow": PyYAML's."""
    if style == "layers" and isinstance(doc, dict) and all(isinstance(k, str) for k in doc):
        try:
            return project_text(doc)
        except (TypeError, AttributeError):
            pass        # a mutated document project_text cannot lay out: PyYAML's own style then
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=(style == "flow"), width=100)


@st.composite
def project_texts(draw):
    """(file bytes, whether it is a valid project): a third valid, the rest mutated as values or text."""
    which = draw(st.sampled_from(["valid", "mutated", "mutated", "edited"]))
    doc = draw(valid_projects() if which in ("valid", "edited") else mutated_projects())
    text = as_yaml(doc, draw(st.sampled_from(["layers", "block", "flow"])))
    if which == "edited":
        return draw(edited_text(text)), False
    return text.encode("utf-8", "surrogatepass"), which == "valid"
