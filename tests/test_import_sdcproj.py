"""Importing NNC projects (.sdcproj): every sample becomes a project whose shapes nnabla confirms."""
from __future__ import annotations

import glob
import os
import re
import shutil

import jsonschema
import pytest
import yaml

from conftest import ROOT, shared_names, shared_path
from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import VARIANTS, derive
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import load_project
from nncgraph.project.schema import project_schema
from sdcproj_text import nnc_project

# NNC's samples sit beside the clone (conftest.shared_path); without them these tests skip, and
# test_import_sdcproj_fixtures.py tests the importer on projects of its own.
SAMPLES = shared_names("nnc-samples", "*.sdcproj")
LENET = "image_recognition__MNIST__LeNet.sdcproj"
RESNET18 = "image_recognition__ILSVRC2012__residual-networks__resnet-18.sdcproj"
SE_UNIT = "custom_units_SqueezeAndExcitation.sdcproj"
LSTM_UNIT = "unit_LSTM.sdcproj"


def sample(name):
    return shared_path("nnc-samples", name)


def sample_id(path):
    return os.path.basename(path)[:-len(".sdcproj")]


def imported(tmp_path, sdcproj):
    """Import into tmp_path and load: (project, YAML text)."""
    text = import_sdcproj(str(sdcproj))
    path = tmp_path / (sample_id(str(sdcproj)) + ".yaml")
    path.write_text(text, encoding="utf-8")
    return load_project(str(path)), text


def file_line(path, number):
    with open(path, encoding="utf-8-sig") as f:
        return f.read().splitlines()[number - 1]


def assert_shapes_match_nnabla(project):
    """Every layer's inferred shape equals what nnabla builds, for every network and variant."""
    import nnabla as nn

    from nncgraph.engines.nnabla.graph import compile_graph

    for name in project.networks:
        graph = network_graph(project, name)
        nn.clear_parameters()
        for variant in VARIANTS:
            inferred = infer(derive(graph, variant), variant)
            compiled = compile_graph(inferred, batch_size=2)
            for info in inferred.ordered():
                built = compiled.outputs[info.node.name].shape
                assert built == (2, *info.out_shape), (name, variant, info.node.name, built)


def assert_error_at(message, path, layer, fragments, line_text):
    """`path:LINE: layer 'LAYER' (...): ... Fix: ...`, LINE being the one of the file that says `line_text`."""
    where = re.match(r"(.+\.(?:sdcproj|yaml)):(\d+):(?:\d+:)? layer '([^']+)' \(\w+\): ", message)
    assert where and where.group(1) == str(path) and where.group(3) == layer, message
    assert "Fix:" in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert line_text in file_line(path, int(where.group(2))), message


def test_the_samples_are_all_here():
    names = {sample_id(p) for p in glob.glob(os.path.join(sample(""), "*.sdcproj"))}
    assert {"image_recognition__MNIST__LeNet", "custom_units_SqueezeAndExcitation", "unit_LSTM"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLES, ids=sample_id)
def test_every_sample_imports_and_its_shapes_are_nnablas(name, tmp_path):
    path = sample(name)
    project, text = imported(tmp_path, path)
    assert text.startswith(f"# Imported from the Neural Network Console project {os.path.basename(path)}.")
    jsonschema.validate(yaml.safe_load(text), project_schema())
    assert_shapes_match_nnabla(project)


def test_lenet_sample_is_the_lenet_project(tmp_path):
    ours = network_graph(load_project(os.path.join(ROOT, "projects", "lenet-mnist.yaml")), "Main")
    project, _ = imported(tmp_path, sample(LENET))
    theirs = network_graph(project, "Main")
    assert [(n.type, n.name, n.inputs, n.props) for n in theirs.nodes] == \
           [(n.type, n.name, n.inputs, n.props) for n in ours.nodes]


def test_lenet_settings(tmp_path):
    project, text = imported(tmp_path, sample(LENET))
    doc = yaml.safe_load(text)
    assert doc["datasets"] == {"training": {"csv": r"{SDCPATH}samples\sample_dataset\mnist\mnist_training.csv"},
                               "validation": {"csv": r"{SDCPATH}samples\sample_dataset\mnist\mnist_test.csv"}}
    assert project.datasets["training"].shuffle and not project.datasets["validation"].shuffle
    t = project.training
    assert (t.max_epoch, t.batch_size, t.save_best, t.train_error) == (10, 64, True, "exact")
    assert (t.optimizer.type, t.optimizer.params["alpha"], t.optimizer.weight_decay) == ("Adam", 0.001, 0.0)
    assert t.lr_scheduler.type is None
    assert "--dataset training=" in text          # the URIs are NNC's; the comment says how to give CSVs


@pytest.mark.slow
def test_several_networks_and_an_iteration_schedule(tmp_path):
    project, text = imported(tmp_path, sample(RESNET18))
    assert list(project.networks) == ["Training", "Validation", "Runtime", "Validation5"]
    t = project.training
    assert t.network == "Training" and t.max_epoch == 100 and t.batch_size == 64
    assert (t.optimizer.type, t.optimizer.params, t.optimizer.weight_decay) == \
           ("Nesterov", {"learning_rate": 0.1, "momentum": 0.9}, 0.0001)
    # x0.1 every 600540 iterations of 64 of NNC's 1,281,143 images: every 30 epochs
    assert (t.lr_scheduler.type, t.lr_scheduler.params) == ("Step", {"multiplier": 0.1, "steps": [30, 60, 90]})
    assert not project.datasets                  # NNC Cloud left the URIs empty; a comment says so
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for fragment in ("'Validation5'", "--dataset training="):
        assert fragment in comments
    # NNC sums the gradients of 4 mini-batches before each update (UpdateInterval=4), and so does the import
    assert t.optimizers[0].update_interval == 4 and "UpdateInterval" not in comments
    assert (project.evaluation.num_evaluations, project.evaluation.repeat) == (64, "mean")   # NNC's executor
    assert infer(network_graph(project, "Training"), "training").total_params == 11689512


def test_unit_layers_become_units(tmp_path):
    path = tmp_path / "units.sdcproj"
    path.write_text(nnc_project({
        "Main": [("Input", "x", {"Size": "3,8,8", "Dataset": "x"}, []),
                 ("Unit", "small", {"Network": "Block", "Maps": "4", "ParameterScope": "*Name"}, ["x"]),
                 ("Unit", "large", {"Network": "Block", "ParameterScope": "*Name"}, ["small"]),
                 ("Affine", "Affine", {"OutShape": "2"}, ["large"]),
                 ("SoftmaxCrossEntropy", "Loss", {"T.Dataset": "y"}, ["Affine"])],
        "Block": [("Input", "in", {"Size": "3,8,8"}, []),
                  ("Argument", "Maps", {"Value": "8", "Type": "PInt", "Search": "False"}, []),
                  ("Convolution", "conv", {"OutMaps": "Maps*2", "KernelShape": "3,3"}, ["in"]),
                  ("ReLU", "relu", {"InPlace": "*AutoInPlaceOnce"}, ["conv"])],
    }))
    project, text = imported(tmp_path, path)
    doc = yaml.safe_load(text)
    assert doc["units"]["Block"]["args"] == {"Maps": 8} and doc["units"]["Block"]["inputs"] == ["in"]
    assert doc["units"]["Block"]["layers"][0]["out_maps"] == "$Maps*2"
    shapes = {i.node.name: i.out_shape for i in infer(network_graph(project, "Main"), "training").ordered()}
    assert shapes["small/conv"] == (8, 8, 8) and shapes["large/conv"] == (16, 8, 8)
    assert list(project.networks) == ["Main"]
    assert_shapes_match_nnabla(project)


LSTM_DEFAULTS = {"Size": "16", "Axis": "0", "RecurrentGroupID": "*Name", "ParameterScope": "*Name",
                 "H.Initial.Dataset": "h", "H.Initial.Generator": "Constant", "H.Initial.GeneratorMultiplier": "0.0",
                 "C.Initial.Dataset": "c", "C.Initial.Generator": "Constant", "C.Initial.GeneratorMultiplier": "0.0"}


def lstm_project(input_props=None, lstm_props=None):
    return nnc_project({"Main": [
        ("Input", "x", {"Size": "28,28", "Dataset": "x", "Generator": "None", "GeneratorMultiplier": "1.0",
                        **(input_props or {})}, []),
        ("LSTM", "LSTM", {**LSTM_DEFAULTS, **(lstm_props or {})}, ["x"]),
        ("Affine", "Affine", {"OutShape": "2"}, ["LSTM"]),
        ("SoftmaxCrossEntropy", "Loss", {"T.Dataset": "y", "T.Generator": "None", "T.GeneratorMultiplier": "1.0"},
         ["Affine"])]})


@pytest.mark.slow
def test_generators_at_their_defaults_are_ignored_and_unsupported_ones_are_errors(tmp_path):
    path = tmp_path / "lstm.sdcproj"
    path.write_text(lstm_project())
    project, text = imported(tmp_path, path)
    assert "- {type: LSTM, size: 16}" in text
    assert_shapes_match_nnabla(project)
    path.write_text(lstm_project(None, {"H.Initial.Generator": "None"}))
    with pytest.raises(UserError) as caught:
        import_sdcproj(str(path))
    assert "H.Initial.Generator='None'" in str(caught.value) and "does not support" in str(caught.value), \
        str(caught.value)
    # an Input's generator is nncgraph's own (tests/test_generator_inputs.py): its Dataset is then not read
    path.write_text(lstm_project({"Generator": "Normal", "GeneratorMultiplier": "0.5"}))
    _, text = imported(tmp_path, path)
    assert "{type: Input, name: x, size: [28, 28], generator: Normal, generator_multiplier: 0.5}" in text, text


def test_a_file_that_only_defines_a_unit_gets_a_network_using_it(tmp_path):
    # NNC's SE sample sizes its convolutions from their inputs' channels: Input[0] becomes $input_shape[0]
    path = tmp_path / "se.sdcproj"
    shutil.copy(sample(SE_UNIT), path)
    project, text = imported(tmp_path, path)
    assert list(project.units) == ["se"] and project.units["se"].args == {"SqueezeRatio": 16}
    layers = {l.get("name"): l for l in yaml.safe_load(text)["units"]["se"]["layers"]}
    assert layers["Squeeze"]["out_maps"] == "$input_shape[0]/$SqueezeRatio"
    assert layers["Expand"]["out_maps"] == "$input_shape[0]*$SqueezeRatio"
    assert [(l.type, l.name) for l in project.networks["Main"]] == [("Input", "SEInput"), ("Unit", "se")]
    shapes = {i.node.name: i.out_shape for i in infer(network_graph(project, "Main"), "training").ordered()}
    assert shapes["se/Squeeze"] == (16, 1, 1) and shapes["se/Expand"] == (256, 1, 1)
    assert shapes["se/Mul2"] == (256, 56, 56)
    assert project.context.precision == "half" and "TypeConfig=Half" in text


def test_the_se_unit_sizes_itself_from_each_instances_input(tmp_path):
    """Used at two channel counts, the imported unit squeezes and expands each to its own input's."""
    with open(sample(SE_UNIT), encoding="utf-8") as f:
        se = f.read()
    se_network = re.sub(r"^\[(Network_Global|Layer_\d+|Link_\d+)\]", r"[SE_\1]",
                        se[se.index("[Network_Global]"):se.index("[Dataset]")], flags=re.M)
    main = nnc_project({"Main": [
        ("Input", "x", {"Size": "64,8,8", "Dataset": "x"}, []),
        ("Unit", "se64", {"Network": "SE", "ParameterScope": "*Name"}, ["x"]),
        ("Convolution", "conv", {"OutMaps": "32", "KernelShape": "1,1"}, ["se64"]),
        ("Unit", "se32", {"Network": "SE", "SqueezeRatio": "8", "ParameterScope": "*Name"}, ["conv"])]})
    path = tmp_path / "two.sdcproj"
    path.write_text(main.replace("NumNetwork=1\r\nNetwork_0=Main", "NumNetwork=2\r\nNetwork_0=Main\r\nNetwork_1=SE")
                    + se_network, encoding="utf-8")
    project, _ = imported(tmp_path, path)
    shapes = {i.node.name: i.out_shape for i in infer(network_graph(project, "Main"), "training").ordered()}
    assert (shapes["se64/Squeeze"], shapes["se64/Expand"], shapes["se64/Mul2"]) == ((4, 1, 1), (64, 1, 1), (64, 8, 8))
    assert (shapes["se32/Squeeze"], shapes["se32/Expand"], shapes["se32/Mul2"]) == ((4, 1, 1), (32, 1, 1), (32, 8, 8))
    assert_shapes_match_nnabla(project)


def test_an_input_axis_out_of_range_is_an_error_at_the_imported_line(tmp_path):
    with open(sample(SE_UNIT), encoding="utf-8") as f:
        text = f.read()
    path = tmp_path / "se.sdcproj"
    path.write_text(text.replace("Input[0]/SqueezeRatio", "Input[7]/SqueezeRatio"), encoding="utf-8")
    project, _ = imported(tmp_path, path)       # the shape is known only where the unit is used
    with pytest.raises(UserError) as caught:
        network_graph(project, "Main")
    assert_error_at(str(caught.value), tmp_path / "se.yaml", "se/Squeeze",
                    ["'$input_shape[7]/$SqueezeRatio' reads axis 7", "[256, 1, 1]", "from 0 to 2"],
                    "$input_shape[7]/$SqueezeRatio")


def test_input_shape_outside_a_unit_reads_the_layers_input(tmp_path):
    path, _ = edit(tmp_path, "Property_1_Value=16\n", "Property_1_Value=Input[0]*2\n")
    project, text = imported(tmp_path, path)
    conv = next(l for l in yaml.safe_load(text)["network"] if l["type"] == "Convolution")
    assert conv["out_maps"] == "$input_shape[0]*2"
    shapes = {i.node.name: i.out_shape for i in infer(network_graph(project, "Main"), "training").ordered()}
    assert shapes["Convolution"][0] == 2             # LeNet's digits have 1 channel


def test_nncs_own_lstm_network_imports_as_a_unit_of_its_properties(tmp_path):
    project, text = imported(tmp_path, sample(LSTM_UNIT))
    unit = project.units["unit_LSTM"]
    assert unit.args == {"Size": 100, "Axis": 0}         # nncgraph's LSTM defaults for NNC's size and axis
    doc = yaml.safe_load(text)["units"]["unit_LSTM"]
    assert {l.get("name", l["type"]): l.get("out_shape") for l in doc["layers"] if l["type"] == "Affine"} == \
           {"Affine": "$Size", "IGate": "$Size", "FGate": "$Size", "OGate": "$Size"}
    assert "RecurrentGroupID" not in text.split("units:")[1] and "the inside of NNC's LSTM layer" in text
    ours = load_project(str(write_lstm(tmp_path)))
    theirs = infer(network_graph(project, "Main"), "training")
    builtin = infer(network_graph(ours, "Main"), "training")
    assert theirs.ordered()[-1].out_shape == builtin.ordered()[-1].out_shape == (28, 100)
    assert (theirs.total_params, theirs.total_macs) == (builtin.total_params, builtin.total_macs)


def write_lstm(tmp_path):
    path = tmp_path / "builtin.yaml"
    path.write_text("name: l\ndatasets: {}\nnetwork:\n  - {type: Input, size: [28, 100]}\n  - {type: LSTM}\n")
    return path


@pytest.mark.parametrize("old, new, stem, fragments", [
    ("*UnitProperty(Size)", "*UnitProperty(Sise)", "unit_LSTM",
     ["*UnitProperty(Sise)", "LSTM layer has no property Sise", "Size"]),
    (None, None, "unit_GRU", ["*UnitProperty(Size)", "no built-in layer 'unit_GRU'"]),
])
def test_a_unit_property_without_a_default_is_an_import_error(tmp_path, old, new, stem, fragments):
    with open(sample(LSTM_UNIT), encoding="utf-8") as f:
        text = f.read()
    path = tmp_path / f"{stem}.sdcproj"
    path.write_text(text.replace(old, new, 1) if old else text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        import_sdcproj(str(path))
    message = str(caught.value)
    assert_error_at(message, path, "Affine", fragments + ["add an Argument layer"], new or "*UnitProperty(Size)")


def edit(tmp_path, old, new, count=1):
    with open(sample(LENET), encoding="utf-8") as f:
        text = f.read()
    assert text.count(old) >= count, old
    path = tmp_path / "broken.sdcproj"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return str(path), text.splitlines().index(old.splitlines()[-1]) + 1


@pytest.mark.parametrize("old, new, layer, fragments", [
    ("Type=Tanh", "Type=Tanhh", "layer 'Tanh_2' (Tanhh)", ["unknown layer type 'Tanhh'", "'Tanh'"]),
    ("Property_2_Value=7,7", "Property_2_Value=7,seven", "layer 'Convolution' (Convolution)",
     ["KernelShape='7,seven'", "not a number"]),
    ("Property_1_Value=16\n", "Property_1_Value=0\n", "layer 'Convolution' (Convolution)",
     ["OutMaps='0'", "1 or more"]),
    ("DestLayerID=16", "DestLayerID=99", "layer 'Softmax' (Softmax)", ["DestLayerID=99 names no layer"]),
    ("Property_1_Value=*AutoInPlaceOnce\nNumProperty=2\n[Layer_10]",
     "Property_1_Value=*AutoInPlaceOnce\nProperty_2_Name=Slope\nProperty_2_Value=0.1\nNumProperty=3\n[Layer_10]",
     "layer 'ReLU' (ReLU)", ["Slope='0.1'", "does not support"]),
])
def test_a_broken_project_names_file_line_and_layer(tmp_path, old, new, layer, fragments):
    path, line = edit(tmp_path, old, new)
    with pytest.raises(UserError) as caught:
        import_sdcproj(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message
    reported = int(message[len(path) + 1:].split(":")[0])
    assert layer in message and "Fix:" in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert reported == line, (reported, line, message)      # the line that is wrong


def test_an_unsupported_solver_is_an_error(tmp_path):
    path, line = edit(tmp_path, "SolverName=Adam", "SolverName=AdaBound")
    with pytest.raises(UserError) as caught:
        import_sdcproj(path)
    assert str(caught.value).startswith(f"{path}:{line}: solver 'AdaBound'"), str(caught.value)


@pytest.mark.e2e
def test_the_imported_lenet_sample_trains_on_the_bundled_digits(tmp_path):
    """The acceptance: NNC's LeNet sample, imported by the CLI, datasets given on the command line, >= 0.97."""
    import json

    from conftest import run_cli
    from nncgraph.data.mnist_sample import write_mnist_sample

    data = write_mnist_sample(str(tmp_path / "mnist"))
    status, out, err = run_cli("import", sample(LENET), "-o", tmp_path / "lenet.yaml")
    assert status == 0, err
    status, out, err = run_cli("run", tmp_path / "lenet.yaml", "-o", tmp_path / "run",
                               "--dataset", f"training={data['train_csv']}",
                               "--dataset", f"validation={data['valid_csv']}")
    assert status == 0, err
    result = json.load(open(tmp_path / "run" / "result.json"))
    assert result["final"]["epoch"] == 10                 # NNC's MaxEpoch, as imported
    assert 1 - result["final"]["valid_error"] >= 0.97


def test_an_enabled_structure_search_becomes_the_search_section(tmp_path):
    text = open(sample(LENET), encoding="utf-8-sig").read()
    section = text[text.index("[StructureSearch]"):]
    changed = (section.replace("Enabled=0", "Enabled=1").replace("EarlyStopping=0", "EarlyStopping=1")
               .replace("CostMultiplyAdd_Max=-1", "CostMultiplyAdd_Max=1000000"))
    path = tmp_path / "lenet-search.sdcproj"
    path.write_text(text.replace(section, changed), encoding="utf-8")
    doc = yaml.safe_load(import_sdcproj(str(path)))
    assert doc["search"] == {"objective": "error+macs", "macs_range": [None, 1000000],
                             "fidelity": {"min_epochs": 1, "reduction_factor": 3}}
    from nncgraph.search.settings import from_project

    settings = from_project(doc["search"])          # what `nncgraph search` reads
    assert settings.macs_range == (None, 1000000) and settings.fidelity.min_epochs == 1
    plain = yaml.safe_load(import_sdcproj(sample(LENET)))      # disabled in the sample: nothing to carry over
    assert "search" not in plain
