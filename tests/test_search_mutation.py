"""NNC-style mutation for structure search: every rule yields networks that pass nncgraph's
shape inference, connections survive removals and insertions, and results are reproducible."""
from __future__ import annotations

import copy
import os
import random

import pytest
import yaml

from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import VARIANTS, derive
from nncgraph.layers import REGISTRY
from nncgraph.project.load import load_project
from nncgraph.search.mutation import RULE_NAMES, mutate, network_layers, with_network
from nncgraph.search.mutation_graph import Net

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY = yaml.safe_load("""
- {type: Input, name: x, size: [1, 8, 8]}
- {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
- {type: BatchNormalization}
- {type: ReLU}
- {type: DepthwiseConvolution, kernel_shape: [3, 3], border_mode: same}
- {type: MaxPooling, kernel_shape: [2, 2]}
- {type: Dropout, p: 0.2}
- {type: Affine, out_shape: 8}
- {type: Tanh}
- {type: Affine, out_shape: 3}
- {type: SoftmaxCrossEntropy, target: y}
""")

RESIDUAL = yaml.safe_load("""
- {type: Input, name: x, size: [1, 8, 8]}
- {type: Convolution, name: stem, out_maps: 4, kernel_shape: [3, 3]}
- {type: ReLU, name: stem_relu}
- {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
- {type: BatchNormalization}
- {type: Add2, input: [BatchNormalization, stem_relu]}
- {type: Affine, out_shape: 3}
- {type: SoftmaxCrossEntropy, target: y}
""")


def project_doc(layers, **extra):
    return {"name": "tiny", "datasets": {"training": {"csv": "train.csv"}}, **extra, "network": layers,
            "training": {"max_epoch": 1, "batch_size": 8}}


def shape_error(folder, doc):
    """None when the project loads and every variant passes shape inference; else the error."""
    path = os.path.join(str(folder), "candidate.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    try:
        project = load_project(path)
        graph = network_graph(project, project.training.network)
        for variant in VARIANTS:
            infer(derive(graph, variant), variant)
    except UserError as exc:
        return str(exc)
    return None


def effective_inputs(layers):
    """Each layer's name and what it reads, with "the previous layer" spelled out."""
    out, previous = [], None
    for layer in layers:
        if "input" in layer:
            inputs = [layer["input"]] if isinstance(layer["input"], str) else list(layer["input"])
        elif REGISTRY[layer["type"]].n_inputs == 0:
            inputs = []
        else:
            inputs = [previous]
        out.append((layer["name"], inputs))
        previous = layer["name"]
    return out


def assert_well_formed(layers, original):
    names = [layer["name"] for layer in layers]
    assert len(names) == len(set(names)), names
    seen = set()
    for name, inputs in effective_inputs(layers):
        assert all(ref in seen for ref in inputs), (name, inputs)
        seen.add(name)
    kept = [(layer["type"], layer.get("name")) for layer in layers
            if layer["type"] == "Input" or REGISTRY[layer["type"]].role == "loss"]
    wanted = [(layer["type"], layer.get("name", layer["type"])) for layer in original
              if layer["type"] == "Input" or REGISTRY[layer["type"]].role == "loss"]
    assert kept == wanted


# -- every rule ------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_rule_yields_valid_networks(rule, tmp_path):
    base = RESIDUAL if rule == "RemoveBranch" else TINY
    looks = {"Remove": "remove ", "Insert": "insert ", "Branch": "branch ", "ChangeParameter": " of "}
    outcomes = set()
    for seed in range(8):
        layers, changes = mutate(base, random.Random(seed), rules=[rule])
        assert len(changes) == 1 and next(v for k, v in looks.items() if rule.startswith(k)) in changes[0]
        assert layers != Net.from_layers(base).to_layers()
        assert_well_formed(layers, base)
        error = shape_error(tmp_path, project_doc(layers))
        assert error is None, (changes, error)
        outcomes.add(changes[0])
    print(rule, sorted(outcomes))


def test_rule_that_does_not_apply_is_not_chosen():
    layers = yaml.safe_load("""
    - {type: Input, size: [4]}
    - {type: Affine, out_shape: 2}
    - {type: SquaredError, target: y}
    """)
    out, changes = mutate(layers, random.Random(0), count=3, rules=["RemoveDropout", "RemoveBranch", "InsertAffine"])
    assert changes == [] and [layer["type"] for layer in out] == ["Input", "Affine", "SquaredError"]
    # the last Affine sets the output size: neither removed nor resized, so only insertions remain
    for seed in range(20):
        _, changes = mutate(layers, random.Random(seed))
        assert changes[0].startswith("insert "), changes


# -- connections ------------------------------------------------------------------------------------------------
def test_removal_rewires_every_reader(tmp_path):
    layers, changes = mutate(RESIDUAL, random.Random(0), rules=["RemoveActivation"])
    assert changes == ["remove stem_relu (ReLU)"]
    reads = dict(effective_inputs(layers))
    assert reads["Convolution"] == ["stem"]                  # the implicit reader
    assert reads["Add2"] == ["BatchNormalization", "stem"]   # the explicit one
    assert "input" not in layers[2]                          # still reads "the previous layer" implicitly
    assert shape_error(tmp_path, project_doc(layers)) is None


def test_insertion_takes_over_only_the_readers(tmp_path):
    base = yaml.safe_load("""
    - {type: Input, name: x, size: [6]}
    - {type: Affine, name: a, out_shape: 4}
    - {type: Affine, name: b, out_shape: 3, input: a}
    - {type: Affine, name: c, out_shape: 3, input: a}
    - {type: Tanh, name: t, input: x}
    - {type: Add2, input: [b, c]}
    - {type: SquaredError, target: y}
    """)
    layers, changes = mutate(base, random.Random(5), rules=["InsertAffine"])    # only `a` is not a head
    assert len(changes) == 1 and changes[0].startswith("insert Affine block after a (Affine): ")
    reads = dict(effective_inputs(layers))
    activation, affine = [layer["name"] for layer in layers[2:4]]
    assert reads[activation] == ["a"] and reads[affine] == [activation]
    assert layers[3]["out_shape"] == 2
    assert reads["b"] == [affine] and reads["c"] == [affine] and reads["t"] == ["x"]
    assert shape_error(tmp_path, project_doc(layers)) is None


def test_remove_branch_drops_the_join(tmp_path):
    seen = set()
    for seed in range(10):
        layers, changes = mutate(RESIDUAL, random.Random(seed), rules=["RemoveBranch"])
        seen.add(changes[0])
        assert "Add2" not in [layer["type"] for layer in layers]
        assert shape_error(tmp_path, project_doc(layers)) is None
    assert seen == {"remove branch stem_relu -> Convolution .. BatchNormalization -> Add2, and the join Add2",
                    "remove branch stem_relu -> Add2, and the join Add2"}


def test_make_branch_joins_a_twin(tmp_path):
    layers, changes = mutate(TINY, random.Random(1), rules=["Branch"])
    names = [layer["name"] for layer in layers]
    reads = dict(effective_inputs(layers))
    twin, join = changes[0].split("parallel ")[1].split(" joined by ")
    site = changes[0].split(" ")[1].rstrip(":")
    original = next(layer for layer in layers if layer["name"] == site)
    copy_ = next(layer for layer in layers if layer["name"] == twin)
    assert reads[twin] == reads[site] and reads[join] == [site, twin]
    assert {k: v for k, v in copy_.items() if k not in ("name", "input")} == \
        {k: v for k, v in original.items() if k not in ("name", "input")}
    assert names.index(join) == names.index(site) + 2
    assert shape_error(tmp_path, project_doc(layers)) is None


def test_default_names_are_written_out_and_new_names_are_fresh():
    base = yaml.safe_load("""
    - {type: Input, size: [1, 8, 8]}
    - {type: Convolution, out_maps: 4}
    - {type: ReLU, name: Convolution_2}
    - {type: Convolution, out_maps: 4, parameter_scope: Convolution_4}
    - {type: Affine, out_shape: 3}
    - {type: SoftmaxCrossEntropy, target: y}
    """)
    layers, _ = mutate(base, random.Random(0), rules=["Branch"])
    names = [layer["name"] for layer in layers]
    # the loader's rule: Convolution, then Convolution_2 is taken by the ReLU, so Convolution_3
    assert names[:4] == ["Input", "Convolution", "Convolution_2", "Convolution_3"]
    assert "Convolution_4" not in names         # a parameter scope in use: a twin there would share parameters
    assert "Convolution_5" in names


@pytest.mark.slow
def test_blocks_and_units_are_left_whole(tmp_path):
    base = yaml.safe_load("""
    - {type: Input, name: x, size: [1, 8, 8]}
    - {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
    - {type: ReLU}
    - {type: RepeatStart, name: rep, times: 2}
    - {type: Convolution, name: inner, out_maps: 4, kernel_shape: [3, 3]}
    - {type: Add2, input: [inner, rep]}
    - {type: RepeatEnd}
    - {type: Unit, unit: Block, name: block}
    - {type: MaxPooling, kernel_shape: [2, 2]}
    - {type: Affine, out_shape: 3}
    - {type: SoftmaxCrossEntropy, target: y}
    """)
    units = {"Block": {"layers": [{"type": "Convolution", "name": "conv", "out_maps": 4},
                                  {"type": "ReLU", "name": "out"}]}}
    inside = base[3:8]
    valid = 0
    for seed in range(40):
        layers, changes = mutate(base, random.Random(seed))
        start = next(i for i, layer in enumerate(layers) if layer["type"] == "RepeatStart")
        assert [{k: v for k, v in layer.items() if k not in ("name", "input")} for layer in layers[start:start + 5]] \
            == [{k: v for k, v in layer.items() if k not in ("name", "input")} for layer in inside], changes
        assert [layer["name"] for layer in layers[start:start + 5]] == ["rep", "inner", "Add2", "RepeatEnd", "block"]
        valid += shape_error(tmp_path, project_doc(layers, units=units)) is None
    assert valid >= 36


# -- LeNet ----------------------------------------------------------------------------------------------------
def lenet():
    with open(os.path.join(ROOT, "projects", "lenet-mnist.yaml")) as f:
        return yaml.safe_load(f)


@pytest.mark.slow
def test_lenet_random_mutations(tmp_path):
    doc = lenet()
    base = network_layers(doc)
    before = copy.deepcopy(base)
    valid, failures = 0, []
    for seed in range(200):
        layers, changes = mutate(base, random.Random(seed))
        assert len(changes) == 1
        assert_well_formed(layers, base)
        error = shape_error(tmp_path, with_network(doc, layers))
        if error is None:
            valid += 1
        else:
            failures.append((changes, error))
    assert base == before                       # the input is never modified
    print(f"LeNet: {valid}/200 single mutations pass shape inference; failures: {failures}")
    assert valid >= 160, failures


def test_same_seed_same_result():
    base = network_layers(lenet())
    for seed in range(20):
        assert mutate(base, random.Random(seed), count=3) == mutate(base, random.Random(seed), count=3)
    assert len({str(mutate(base, random.Random(seed))) for seed in range(20)}) > 10


def test_several_mutations_at_once(tmp_path):
    doc = lenet()
    base = network_layers(doc)
    for seed in range(10):
        layers, changes = mutate(base, random.Random(seed), count=3)
        assert len(changes) == 3
        assert_well_formed(layers, base)


def test_network_helpers():
    doc = lenet()
    layers = network_layers(doc)
    assert layers is doc["network"] and layers[0]["type"] == "Input"
    new = with_network(doc, layers[:1])
    assert new["network"] == layers[:1] and doc["network"] is layers and len(doc["network"]) == 12
    assert new["training"] == doc["training"] and new["training"] is not doc["training"]
    several = {"networks": {"Main": [{"type": "Input"}], "Other": [{"type": "Input", "size": [2]}]},
               "training": {"network": "Other"}}
    assert network_layers(several) == [{"type": "Input", "size": [2]}]
    assert with_network(several, [])["networks"] == {"Main": [{"type": "Input"}], "Other": []}
    with pytest.raises(ValueError):
        network_layers({"name": "nothing"})


def test_the_rules_read_nnc_policy_off_the_layers():
    from nncgraph.layers.mutation_traits import MUTATION_TRAITS
    from nncgraph.search.mutation import INSERTIONS, REMOVALS, SEARCHABLE
    from nncgraph.search.mutation_graph import CHANNEL_KEEPERS, SHAPE_SETTERS, SPATIAL_ABSORBERS

    assert all(layer.mutation_traits <= set(MUTATION_TRAITS) for layer in REGISTRY.values())
    assert {rule: set(types) for rule, types in REMOVALS.items()} == {
        "RemoveActivation": {"Tanh", "ReLU", "ELU", "Abs"},
        "RemovePooling": {"MaxPooling", "AveragePooling", "SumPooling"}, "RemoveDropout": {"Dropout"},
        "RemoveBatchNormalization": {"BatchNormalization"},
        "RemoveBasicLayer": {"Convolution", "DepthwiseConvolution", "Affine"}}
    assert {rule: (set(after), set(choices)) for rule, (after, choices) in INSERTIONS.items()} == {
        "InsertActivation": ({"Convolution", "Affine"}, {"Tanh", "ReLU", "PReLU", "LeakyReLU", "ELU", "SELU", "Swish"}),
        "InsertPooling": ({"Convolution", "Affine"}, {"MaxPooling", "AveragePooling"}),
        "InsertDropout": ({"Convolution", "Affine"}, {"Dropout"}),
        "InsertBatchNormalization": ({"Convolution", "Affine"}, {"BatchNormalization"})}
    assert SEARCHABLE == {"Convolution": ("out_maps", "kernel_shape"), "Deconvolution": ("out_maps", "kernel_shape"),
                          "DepthwiseConvolution": ("kernel_shape",), "Affine": ("out_shape",)}
    assert set(SHAPE_SETTERS) == {"Affine", "Convolution", "Deconvolution"}
    assert set(SPATIAL_ABSORBERS) == {"Affine", "GlobalAveragePooling"}
    assert {"ReLU", "BatchNormalization", "MaxPooling", "Identity"} <= set(CHANNEL_KEEPERS)
    assert REGISTRY["MaxPooling"].inserted_props == {"kernel_shape": [2, 2]}
