"""Importing NNC projects (.sdcproj): every sample becomes a project whose shapes nnabla confirms."""
from __future__ import annotations

import glob
import os
import re

import jsonschema
import pytest
import yaml

from conftest import ROOT, SHARED
from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import VARIANTS, derive
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import load_project
from nncgraph.project.schema import project_schema

SAMPLES_DIR = os.path.join(SHARED, "nnc-samples")
SAMPLES = sorted(glob.glob(os.path.join(SAMPLES_DIR, "*.sdcproj")))
LENET = os.path.join(SAMPLES_DIR, "image_recognition__MNIST__LeNet.sdcproj")
RESNET18 = os.path.join(SAMPLES_DIR, "image_recognition__ILSVRC2012__residual-networks__resnet-18.sdcproj")
SE_UNIT = os.path.join(SAMPLES_DIR, "custom_units_SqueezeAndExcitation.sdcproj")
# Samples nncgraph cannot import, with the property that stops them (see the error texts for why).
CANNOT_IMPORT = {
    "custom_units_SqueezeAndExcitation": ("OutMaps='Input[0]/SqueezeRatio'", "reads the shape of the layer's input"),
    "unit_LSTM": ("='*UnitProperty(", "reads a property of the NNC layer this network implements"),
}


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

    from nncgraph.compile.nnabla_graph import compile_graph

    for name in project.networks:
        graph = network_graph(project, name)
        nn.clear_parameters()
        for variant in VARIANTS:
            inferred = infer(derive(graph, variant), variant)
            compiled = compile_graph(inferred, batch_size=2)
            for info in inferred.ordered():
                built = compiled.outputs[info.node.name].shape
                assert built == (2, *info.out_shape), (name, variant, info.node.name, built)


@pytest.mark.parametrize("path", SAMPLES, ids=sample_id)
def test_every_sample_imports_and_its_shapes_are_nnablas(path, tmp_path):
    if sample_id(path) in CANNOT_IMPORT:
        value, reason = CANNOT_IMPORT[sample_id(path)]
        with pytest.raises(UserError) as caught:
            import_sdcproj(path)
        message = str(caught.value)
        where = re.match(r"(.+\.sdcproj):(\d+): layer '[^']+' \(\w+\): ", message)
        assert where and where.group(1) == path, message
        assert value in message and reason in message and "Fix:" in message, message
        assert value.split("=")[1].strip("'") in file_line(path, int(where.group(2)))   # the line that says it
        return
    project, text = imported(tmp_path, path)
    assert text.startswith(f"# Imported from the Neural Network Console project {os.path.basename(path)}.")
    jsonschema.validate(yaml.safe_load(text), project_schema())
    assert_shapes_match_nnabla(project)


def test_lenet_sample_is_the_lenet_project(tmp_path):
    ours = network_graph(load_project(os.path.join(ROOT, "projects", "lenet-mnist.yaml")), "Main")
    project, _ = imported(tmp_path, LENET)
    theirs = network_graph(project, "Main")
    assert [(n.type, n.name, n.inputs, n.props) for n in theirs.nodes] == \
           [(n.type, n.name, n.inputs, n.props) for n in ours.nodes]


def test_lenet_settings(tmp_path):
    project, text = imported(tmp_path, LENET)
    doc = yaml.safe_load(text)
    assert doc["datasets"] == {"training": {"csv": r"{SDCPATH}samples\sample_dataset\mnist\mnist_training.csv"},
                               "validation": {"csv": r"{SDCPATH}samples\sample_dataset\mnist\mnist_test.csv"}}
    assert project.datasets["training"].shuffle and not project.datasets["validation"].shuffle
    t = project.training
    assert (t.max_epoch, t.batch_size, t.save_best, t.train_error) == (10, 64, True, "exact")
    assert (t.optimizer.type, t.optimizer.params["alpha"], t.optimizer.weight_decay) == ("Adam", 0.001, 0.0)
    assert t.lr_scheduler.type is None
    assert "--dataset training=" in text          # the URIs are NNC's; the comment says how to give CSVs


def test_several_networks_and_an_iteration_schedule(tmp_path):
    project, text = imported(tmp_path, RESNET18)
    assert list(project.networks) == ["Training", "Validation", "Runtime", "Validation5"]
    t = project.training
    assert t.network == "Training" and t.max_epoch == 100 and t.batch_size == 64
    assert (t.optimizer.type, t.optimizer.params, t.optimizer.weight_decay) == \
           ("Nesterov", {"learning_rate": 0.1, "momentum": 0.9}, 0.0001)
    # x0.1 every 600540 iterations of 64 of NNC's 1,281,143 images: every 30 epochs
    assert (t.lr_scheduler.type, t.lr_scheduler.params) == ("Step", {"multiplier": 0.1, "steps": [30, 60, 90]})
    assert not project.datasets                  # NNC Cloud left the URIs empty; a comment says so
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for fragment in ("UpdateInterval=4", "'Validation5'", "64 times per sample", "--dataset training="):
        assert fragment in comments
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


def test_generators_at_their_defaults_are_ignored_and_others_are_errors(tmp_path):
    path = tmp_path / "lstm.sdcproj"
    path.write_text(lstm_project())
    project, text = imported(tmp_path, path)
    assert "- {type: LSTM, size: 16}" in text
    assert_shapes_match_nnabla(project)
    for props, fragment in [({"Generator": "Normal"}, "Generator='Normal'"),
                            ({"H.Initial.Generator": "None"}, "H.Initial.Generator='None'")]:
        path.write_text(lstm_project(*((props, None) if "Generator" in props else (None, props))))
        with pytest.raises(UserError) as caught:
            import_sdcproj(str(path))
        assert fragment in str(caught.value) and "does not support" in str(caught.value), str(caught.value)


def test_a_file_that_only_defines_a_unit_gets_a_network_using_it(tmp_path):
    # NNC's SE sample sizes its convolutions from the input's shape, which nncgraph units cannot;
    # with those written as numbers the rest of the file imports
    with open(SE_UNIT, encoding="utf-8") as f:
        text = f.read()
    path = tmp_path / "se.sdcproj"
    path.write_text(text.replace("Input[0]/SqueezeRatio", "256/SqueezeRatio")
                    .replace("Input[0]*SqueezeRatio", "16*SqueezeRatio"), encoding="utf-8")
    project, text = imported(tmp_path, path)
    assert list(project.units) == ["se"] and project.units["se"].args == {"SqueezeRatio": 16}
    assert [(l.type, l.name) for l in project.networks["Main"]] == [("Input", "SEInput"), ("Unit", "se")]
    last = infer(network_graph(project, "Main"), "training").ordered()[-1]
    assert (last.node.name, last.out_shape) == ("se/Mul2", (256, 56, 56))
    assert project.context.precision == "half" and "TypeConfig=Half" in text


def edit(tmp_path, old, new, count=1):
    with open(LENET, encoding="utf-8") as f:
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


def nnc_project(networks) -> str:
    """A .sdcproj as NNC writes one: networks of (type, name, {property: value}, [input layer names])."""
    lines = ["[Engine]", "SDeepEngineType=NNabla", "[Global]", f"NumNetwork={len(networks)}"]
    lines += [f"Network_{i}={name}" for i, name in enumerate(networks)]
    for net, layers in networks.items():
        ids = {name: i for i, (_, name, _, _) in enumerate(layers)}
        links = [(ids[src], ids[name]) for _, name, _, inputs in layers for src in inputs]
        lines += [f"[{net}_Network_Global]", f"NumLayer={len(layers)}", f"NumLink={len(links)}"]
        for i, (kind, name, props, _) in enumerate(layers):
            lines += [f"[{net}_Layer_{i}]", f"ID={i}", f"Type={kind}", "Property_0_Name=Name",
                      f"Property_0_Value={name}"]
            for k, (key, value) in enumerate(props.items(), start=1):
                lines += [f"Property_{k}_Name={key}", f"Property_{k}_Value={value}"]
            lines.append(f"NumProperty={len(props) + 1}")
        for i, (src, dst) in enumerate(links):
            lines += [f"[{net}_Link_{i}]", f"ID={i}", f"SourceLayerID={src}", "SourcePinIndex=0",
                      f"DestLayerID={dst}", "DestPinIndex=0"]
    lines += ["[Config]", "MaxEpoch=2", "BatchSize=4", "[Optimizer_0]", "Optimizer_NetworkName=Main",
              "SolverName=Sgd", "SolverParameterNum=1", "SolverParameterName_0=LearningRate", "SolverParameter_0=0.1"]
    return "\r\n".join(lines) + "\r\n"


def test_the_imported_lenet_sample_trains_on_the_bundled_digits(tmp_path):
    """The acceptance: NNC's LeNet sample, imported by the CLI, datasets given on the command line, >= 0.97."""
    import json

    from conftest import run_cli
    from nncgraph.data.mnist_sample import write_mnist_sample

    data = write_mnist_sample(str(tmp_path / "mnist"))
    status, out, err = run_cli("import", LENET, "-o", tmp_path / "lenet.yaml")
    assert status == 0, err
    status, out, err = run_cli("run", tmp_path / "lenet.yaml", "-o", tmp_path / "run",
                               "--dataset", f"training={data['train_csv']}",
                               "--dataset", f"validation={data['valid_csv']}")
    assert status == 0, err
    result = json.load(open(tmp_path / "run" / "result.json"))
    assert result["final"]["epoch"] == 10                 # NNC's MaxEpoch, as imported
    assert 1 - result["final"]["valid_error"] >= 0.97
