"""The .sdcproj importer on projects written here (tests/sdcproj_text.py), so that it stays tested in a clone
without NNC's samples: networks and links, units and repeats, datasets, config, optimizer and schedule,
monitors, executors and the structure search section, each checked by the values the import gives."""
from __future__ import annotations

import json
import os

import pytest
import yaml

from conftest import run_cli, write_digits
from nncgraph.graph.network_table import check_json, check_project
from nncgraph.errors import UserError
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import load_project
from sdcproj_text import line_number, sdcproj

# A small image classifier as NNC writes it, with NNC's usual macros and defaults in the properties.
CLASSIFIER = [
    ("Input", "Input", {"Size": "1,8,8", "Dataset": "x", "Generator": "None", "GeneratorMultiplier": "1.0"}, []),
    ("Convolution", "Convolution", {"OutMaps": "4", "KernelShape": "3,3", "WithBias": "True", "BorderMode": "valid", "Padding": "1,1",
                                    "Strides": "1,1", "ParameterScope": "*Name",
                                    "W.Initializer": "NormalConvolutionGlorot", "b.Initializer": "Constant"},
     ["Input"]),
    ("ReLU", "ReLU", {"InPlace": "*AutoInPlaceOnce"}, ["Convolution"]),
    ("MaxPooling", "MaxPooling", {"KernelShape": "2,2", "Strides": "*KernelShape", "IgnoreBorder": "True"},
     ["ReLU"]),
    ("Affine", "Affine", {"OutShape": "3", "WithBias": "True", "ParameterScope": "*Name"}, ["MaxPooling"]),
    ("Softmax", "Softmax", {"Axis": "0"}, ["Affine"]),
    ("CategoricalCrossEntropy", "CategoricalCrossEntropy",
     {"Axis": "0", "T.Dataset": "y", "T.Generator": "None", "T.GeneratorMultiplier": "1.0"}, ["Softmax"]),
]


def settings(train_csv="train.csv", valid_csv="valid.csv", **sections):
    """NNC's settings sections for CLASSIFIER (its datasets, a 2-epoch Adam run, both monitors, one
    executor, the search off); `sections` replace or add whole sections, a None value drops one."""
    out = {
        "Dataset": {"Num": "2", "MainIndex": "0"},
        "Dataset_0": {"Name": "Training", "URI": train_csv, "Shuffle": "1", "EnableCache": "1",
                      "ImageNormalization": "1", "NumData": "24"},
        "Dataset_1": {"Name": "Validation", "URI": valid_csv, "Shuffle": "0", "EnableCache": "1",
                      "ImageNormalization": "1", "NumData": "12"},
        "Config": {"MaxEpoch": "2", "SaveBest": "1", "BatchSize": "8", "NumOptimizer": "1", "NumMonitor": "2",
                   "NumExecutor": "1"},
        "Optimizer_0": {"Optimizer_Name": "Optimizer", "Optimizer_NetworkName": "Main",
                        "Optimizer_DatasetName": "Training", "UpdateInterval": "1", "SolverName": "Adam",
                        "SolverParameterNum": "1", "SolverParameterName_0": "Alpha", "SolverParameter_0": "0.01",
                        "WeightDecay": "0", "LearningRateMultiplier": "1", "LearningRateUpdateInterval": "1"},
        "Monitor_0": {"Monitor_Name": "train_error", "Monitor_NetworkName": "MainValidation",
                      "Monitor_DatasetName": "Training"},
        "Monitor_1": {"Monitor_Name": "valid_error", "Monitor_NetworkName": "MainValidation",
                      "Monitor_DatasetName": "Validation"},
        "Executor_0": {"Executor_Name": "Executor", "Executor_NetworkName": "MainRuntime",
                       "Executor_DatasetName": "Validation", "NumEvaluations": "1", "RepeatEvaluationType": "0",
                       "NeedBackPropagation": "0"},
        "StructureSearch": {"Enabled": "0", "Method": "Random", "Objective": "ErrorAndCalculation"},
    }
    for name, values in sections.items():
        if values is None:
            out.pop(name)
        else:
            out[name] = values
    return out


def optimizer(**values):
    """[Optimizer_0] of settings() with `values` changed."""
    return {**settings()["Optimizer_0"], **values}


def write_project(tmp_path, text, stem="fixture"):
    path = tmp_path / f"{stem}.sdcproj"
    path.write_text(text, encoding="utf-8")
    return str(path)


def imported(tmp_path, text, stem="fixture"):
    """(YAML document, loaded project, YAML text) of the import of `text`."""
    yaml_text = import_sdcproj(write_project(tmp_path, text, stem))
    out = tmp_path / f"{stem}.yaml"
    out.write_text(yaml_text, encoding="utf-8")
    return yaml.safe_load(yaml_text), load_project(str(out)), yaml_text


def checked(project, network="Main", variant="training"):
    """`nncgraph check --json` of one network variant: {layer name: layer report}, and the totals."""
    report = check_json(check_project(project))["networks"][network]["variants"][variant]
    return {l["name"]: l for l in report["layers"]}, report


def comments(yaml_text):
    return " ".join(line.lstrip("# ") for line in yaml_text.splitlines() if line.startswith("#"))


def import_error(tmp_path, text):
    with pytest.raises(UserError) as caught:
        import_sdcproj(write_project(tmp_path, text))
    return str(caught.value)


# -- networks and links -------------------------------------------------------------------------------------
def test_a_one_network_project_becomes_its_layers_with_nnc_defaults_left_out(tmp_path):
    doc, project, _ = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(), single=True))
    assert doc["network"] == [
        {"type": "Input", "size": [1, 8, 8], "dataset": "x"},
        {"type": "Convolution", "out_maps": 4, "padding": [1, 1], "kernel_shape": [3, 3], "border_mode": "valid"},
        {"type": "ReLU"},
        {"type": "MaxPooling", "kernel_shape": [2, 2]},
        {"type": "Affine", "out_shape": 3},
        {"type": "Softmax"},
        {"type": "CategoricalCrossEntropy", "target": "y"},
    ]
    layers, report = checked(project)
    assert {n: l["output"] for n, l in layers.items()} == {
        "Input": [1, 8, 8], "Convolution": [4, 8, 8], "ReLU": [4, 8, 8], "MaxPooling": [4, 4, 4],
        "Affine": [3], "Softmax": [3], "CategoricalCrossEntropy": [1]}
    assert layers["Convolution"]["params"] == 4 * 1 * 3 * 3 + 4 and layers["Affine"]["params"] == 64 * 3 + 3
    assert report["total_params"] == 40 + 195


def test_several_networks_keep_their_names_and_the_optimizers_one_is_trained(tmp_path):
    runtime = CLASSIFIER[:-1]                      # NNC's runtime network stops at the Softmax
    doc, project, text = imported(tmp_path, sdcproj(
        {"Train": CLASSIFIER, "Runtime": runtime}, settings(Optimizer_0=optimizer(Optimizer_NetworkName="Train"))))
    assert list(doc["networks"]) == ["Train", "Runtime"] and "network" not in doc
    assert doc["training"]["network"] == "Train" and project.training.network == "Train"
    assert [l["type"] for l in doc["networks"]["Runtime"]][-1] == "Softmax"
    assert "NNC's network 'Runtime' is kept as written" in comments(text)
    assert checked(project, "Runtime")[1]["total_params"] == checked(project, "Train")[1]["total_params"] == 235


def test_branches_are_written_with_their_inputs_longest_path_first(tmp_path):
    residual = [
        ("Input", "x", {"Size": "2,6,6", "Dataset": "x"}, []),
        ("Convolution", "shortcut", {"OutMaps": "3", "KernelShape": "1,1"}, ["x"]),
        ("Convolution", "a", {"OutMaps": "3", "KernelShape": "3,3", "Padding": "1,1"}, ["x"]),
        ("ReLU", "relu", {}, ["a"]),
        ("Convolution", "b", {"OutMaps": "3", "KernelShape": "3,3", "Padding": "1,1"}, ["relu"]),
        ("Add2", "sum", {}, ["b", "shortcut"]),
        ("Affine", "out", {"OutShape": "2"}, ["sum"]),
        ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["out"]),
    ]
    doc, project, _ = imported(tmp_path, sdcproj({"Main": residual}, {}, single=True))
    # the main path first (no `input:` needed along it), the one-layer shortcut just before the sum
    assert [(l.get("name"), l.get("input")) for l in doc["network"]] == [
        ("x", None), ("a", None), ("relu", None), ("b", None), ("shortcut", "x"), ("sum", ["b", "shortcut"]),
        ("out", None), ("loss", None)]
    layers, _ = checked(project)
    assert layers["sum"]["inputs"] == [[3, 6, 6], [3, 6, 6]] and layers["out"]["params"] == 3 * 36 * 2 + 2
    assert "training" not in doc                 # no [Config] and no optimizer: nothing to train with


@pytest.mark.parametrize("old, new, layer, fragment", [
    ("DestLayerID=4", "DestLayerID=42", "layer 'MaxPooling' (MaxPooling)", "DestLayerID=42 names no layer"),
    ("SourcePinIndex=0", "SourcePinIndex=1", "layer 'Convolution' (Convolution)", "SourcePinIndex=1"),
    ("Type=ReLU", "Type=ReLUU", "layer 'ReLU' (ReLUU)", "unknown layer type 'ReLUU'"),
    ("Property_1_Value=4", "Property_1_Value=four", "layer 'Convolution' (Convolution)", "OutMaps='four'"),
    ("Property_1_Value=4", "Property_1_Value=0", "layer 'Convolution' (Convolution)", "OutMaps='0' must be 1 or more"),
    ("Property_1_Value=4", "Property_1_Value=*Maps", "layer 'Convolution' (Convolution)",
     "OutMaps='*Maps' is an NNC macro that nncgraph does not compute for this property, and names no Argument "
     "layer (only a unit's network has Argument layers)"),
    ("Property_1_Value=*AutoInPlaceOnce", "Property_1_Value=*AutoInPlaceOnce\r\nProperty_2_Name=Slope\r\n"
     "Property_2_Value=0.1", "layer 'ReLU' (ReLU)", "has property Slope='0.1', which nncgraph's ReLU does not"),
])
def test_a_broken_layer_or_link_is_an_error_at_its_line(tmp_path, old, new, layer, fragment):
    text = sdcproj({"Main": CLASSIFIER}, settings(), single=True)
    line = [n for n, t in enumerate(text.splitlines(), start=1) if t == old][0]     # the first one
    text = text.replace(old, new, 1)
    if "Slope" in new:                  # the new property is the line below, and the layer has one more
        line, text = line + 2, text.replace("NumProperty=2", "NumProperty=3", 1)
    message = import_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:{line}: {layer}: "), message
    assert fragment in message and "Fix:" in message, message


@pytest.mark.parametrize("layers, layer, takes", [
    ([("Input", "x", {"Size": "1,4,4"}, []), ("Add2", "sum", {}, ["x"])], "layer 'sum' (Add2)", "takes 2."),
    ([("Input", "x", {"Size": "4"}, []), ("Concatenate", "cat", {"Axis": "0"}, ["x"])],
     "layer 'cat' (Concatenate)", "takes at least 2."),
    ([("Input", "x", {"Size": "4"}, []), ("ClipByValue", "clip", {}, ["x", "x", "x", "x"])],
     "layer 'clip' (ClipByValue)", "takes 1 to 3."),
])
def test_a_layer_linked_from_the_wrong_number_of_layers_says_how_many_it_takes(tmp_path, layers, layer, takes):
    message = import_error(tmp_path, sdcproj({"Main": layers}, {}, single=True))
    assert f": {layer}: is linked from {len(layers[-1][3])} layer(s) but {takes}" in message, message


def test_a_cycle_without_a_delay_is_an_error_naming_its_layers(tmp_path):
    loop = [("Input", "x", {"Size": "4"}, []), ("Add2", "add", {}, ["x", "tanh"]), ("Tanh", "tanh", {}, ["add"])]
    message = import_error(tmp_path, sdcproj({"Main": loop}, {}, single=True))
    assert "add -> tanh feed each other in a cycle" in message and "needs a Delay" in message, message


# -- units and repeats ------------------------------------------------------------------------------------
def test_a_repeat_block_becomes_times_and_check_counts_every_copy(tmp_path):
    repeated = [
        ("Input", "x", {"Size": "5", "Dataset": "x"}, []),
        ("RepeatStart", "RepeatStart", {"Times": "3"}, ["x"]),
        ("Affine", "hidden", {"OutShape": "5"}, ["RepeatStart"]),
        ("Tanh", "tanh", {}, ["hidden"]),
        ("RepeatEnd", "RepeatEnd", {"Times": "3"}, ["tanh"]),
        ("Affine", "out", {"OutShape": "2"}, ["RepeatEnd"]),
        ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["out"]),
    ]
    doc, project, _ = imported(tmp_path, sdcproj({"Main": repeated}, settings(), single=True))
    assert [l["type"] for l in doc["network"]] == ["Input", "RepeatStart", "Affine", "Tanh", "RepeatEnd", "Affine",
                                                   "SoftmaxCrossEntropy"]
    assert doc["network"][1] == {"type": "RepeatStart", "times": 3}
    _, report = checked(project)
    assert report["total_params"] == 3 * (5 * 5 + 5) + 5 * 2 + 2
    assert sum(l["type"] == "Affine" for l in report["layers"]) == 4


def test_a_unit_with_arguments_is_instantiated_at_each_size(tmp_path):
    main = [("Input", "x", {"Size": "2,6,6", "Dataset": "x"}, []),
            ("Unit", "narrow", {"Network": "ConvBlock", "ParameterScope": "*Name"}, ["x"]),
            ("Unit", "wide", {"Network": "ConvBlock", "Maps": "6", "Kernel": "1", "ParameterScope": "*Name"},
             ["narrow"]),
            ("Affine", "out", {"OutShape": "2"}, ["wide"]),
            ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["out"])]
    block = [("Input", "in", {"Size": "2,6,6"}, []),
             ("Argument", "Maps", {"Value": "3", "Type": "PInt", "Search": "False"}, []),
             ("Argument", "Kernel", {"Value": "3", "Type": "PInt", "Search": "False"}, []),
             ("Convolution", "conv", {"OutMaps": "Maps", "KernelShape": "Kernel,Kernel", "Padding": "(Kernel-1)/2,0"},
              ["in"]),
             ("ReLU", "relu", {}, ["conv"])]
    doc, project, _ = imported(tmp_path, sdcproj({"Main": main, "ConvBlock": block}, settings()))
    unit = doc["units"]["ConvBlock"]
    assert unit["args"] == {"Maps": 3, "Kernel": 3} and unit["inputs"] == ["in"]
    assert unit["layers"][0] == {"type": "Convolution", "name": "conv", "out_maps": "$Maps",
                                 "kernel_shape": ["$Kernel", "$Kernel"], "padding": ["($Kernel-1)/2", 0]}
    assert [l.get("Maps") for l in doc["network"] if l["type"] == "Unit"] == [None, 6]
    layers, report = checked(project)
    assert layers["narrow/conv"]["output"] == [3, 6, 4] and layers["wide/conv"]["output"] == [6, 6, 4]
    assert report["total_params"] == (3 * 2 * 9 + 3) + (6 * 3 * 1 + 6) + (6 * 6 * 4 * 2 + 2)
    assert list(project.networks) == ["Main"]      # the unit's own network is not a second network


UNIT_PROPERTY_NET = [("Input", "x", {"Size": "5,3"}, []),
                     ("Affine", "gate", {"OutShape": "*UnitProperty(Size)"}, ["x"]),
                     ("Tanh", "tanh", {}, ["gate"])]


def test_a_network_reading_unit_properties_is_a_unit_with_the_builtin_layers_defaults(tmp_path):
    # a file named after NNC's LSTM layer, whose network is that layer's inside
    doc, project, text = imported(tmp_path, sdcproj({"Main": UNIT_PROPERTY_NET}, {}, single=True), stem="unit_LSTM")
    assert doc["units"]["unit_LSTM"] == {"args": {"Size": 100}, "layers": [
        {"type": "Affine", "name": "gate", "out_shape": "$Size"}, {"type": "Tanh", "name": "tanh"}]}
    assert doc["network"] == [{"type": "Input", "name": "x", "size": [5, 3]},
                              {"type": "Unit", "name": "unit_LSTM", "unit": "unit_LSTM"}]
    layers, report = checked(project)
    assert layers["unit_LSTM/gate"]["output"] == [100] and report["total_params"] == 15 * 100 + 100
    assert "the inside of NNC's LSTM layer" in comments(text)


def test_a_unit_property_the_builtin_layer_lacks_is_an_error_at_its_line(tmp_path):
    text = sdcproj({"Main": UNIT_PROPERTY_NET}, {}, single=True)
    with pytest.raises(UserError) as caught:
        import_sdcproj(write_project(tmp_path, text, "unit_Tanh"))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'unit_Tanh.sdcproj'}:{line_number(text, '*UnitProperty(Size)')}: "
                              "layer 'gate' (Affine): reads *UnitProperty(Size), but nncgraph's Tanh"), message
    assert message.endswith("(Tanh has no properties with defaults.)"), message


# -- datasets, config, optimizer --------------------------------------------------------------------------
def test_datasets_are_named_by_what_the_optimizer_and_the_validation_monitor_read(tmp_path):
    doc, project, text = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(
        Dataset_0={"Name": "Learn", "URI": "learn.csv", "Shuffle": "0", "ImageNormalization": "0", "NumData": "24"},
        Dataset_1={"Name": "Check", "URI": "check.csv", "Shuffle": "1"},
        Dataset_2={"Name": "Spare", "URI": ""},
        Optimizer_0=optimizer(Optimizer_DatasetName="Learn"),
        Monitor_0={"Monitor_Name": "train_error", "Monitor_NetworkName": "MainValidation",
                   "Monitor_DatasetName": "Learn"},
        Monitor_1={"Monitor_Name": "valid_error", "Monitor_NetworkName": "MainValidation",
                   "Monitor_DatasetName": "Check"}), single=True))
    assert doc["datasets"] == {"training": {"csv": "learn.csv", "shuffle": False, "image_normalization": False},
                               "validation": {"csv": "check.csv", "shuffle": True}}
    assert not project.datasets["training"].shuffle and project.datasets["validation"].shuffle
    assert "dataset 'Spare' has no URI" in comments(text) and "--dataset spare=data.csv" in comments(text)
    assert project.training.train_error == "exact"       # NNC's train_error monitor reads the training set


def test_config_settings_and_half_precision(tmp_path):
    doc, project, text = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(
        Config={"MaxEpoch": "7", "BatchSize": "16", "MonitorInterval": "2", "SaveBest": "0", "TypeConfig": "Half",
                "AutoEvaluation": "1", "Frobnicate": "3"}), single=True))
    assert doc["training"] == {"max_epoch": 7, "batch_size": 16, "monitor_interval": 2, "save_best": False,
                               "train_error": "exact", "optimizer": {"type": "Adam", "alpha": 0.01}}
    t = project.training
    assert (t.max_epoch, t.batch_size, t.monitor_interval, t.save_best) == (7, 16, 2, False)
    assert doc["context"] == {"precision": "half"} and project.context.precision == "half"
    notes = comments(text)
    assert "TypeConfig=Half" in notes and "AutoEvaluation=1" in notes and "Frobnicate=3" in notes


def test_max_epoch_zero_is_an_error_at_its_line(tmp_path):
    text = sdcproj({"Main": CLASSIFIER}, settings(Config={"MaxEpoch": "0", "BatchSize": "8"}), single=True)
    message = import_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:{line_number(text, 'MaxEpoch=0')}: "), message
    assert "Fix: set MaxEpoch to 1 or more" in message, message


def test_solver_parameters_and_weight_decay(tmp_path):
    doc, project, text = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(Optimizer_0=optimizer(
        SolverName="Momentum", SolverParameterNum="2", SolverParameterName_0="LearningRate",
        SolverParameter_0="0.05", SolverParameterName_1="Momentum", SolverParameter_1="0.8",
        WeightDecay="0.0005", UpdateInterval="3")), single=True))
    assert doc["training"]["optimizer"] == {"type": "Momentum", "learning_rate": 0.05, "momentum": 0.8,
                                            "weight_decay": 0.0005}
    o = project.training.optimizer
    assert (o.type, o.params, o.weight_decay) == ("Momentum", {"learning_rate": 0.05, "momentum": 0.8}, 0.0005)
    # NNC's UpdateInterval sums the gradients of 3 iterations before each update, as nncgraph's does
    assert doc["training"]["update_interval"] == 3 and project.training.optimizers[0].update_interval == 3
    assert "UpdateInterval" not in comments(text)


@pytest.mark.parametrize("values, scheduler", [
    # x0.5 every epoch
    ({"LearningRateScheduler": "Exponential", "LearningRateMultiplier": "0.5", "LearningRateUpdateInterval": "1",
      "LearningRateUpdateIntervalUnit": "0"}, {"type": "Exponential", "multiplier": 0.5}),
    # x0.1 every 6 iterations of 8 of the 24 training samples: every 2 epochs of 6
    ({"LearningRateScheduler": "Exponential", "LearningRateMultiplier": "0.1", "LearningRateUpdateInterval": "6",
      "LearningRateUpdateIntervalUnit": "1"}, {"type": "Step", "multiplier": 0.1, "steps": [2, 4]}),
    # steps at iterations 3 and 12: epochs 1 and 4
    ({"LearningRateScheduler": "Step", "LearningRateMultiplier": "0.2", "LearningRateSteps": "3,12",
      "LearningRateUpdateIntervalUnit": "1"}, {"type": "Step", "multiplier": 0.2, "steps": [1, 4]}),
    ({"LearningRateScheduler": "Polynomial", "LearningRatePower": "2", "LearningRateMultiplier": ""},
     {"type": "Polynomial", "power": 2.0}),
    ({"LearningRateScheduler": "Cosine", "LearningRateMultiplier": "", "LearningRateWarmupScheduler": "Linear",
      "LearningRateWarmupLength": "2", "LearningRateWarmupLengthUnit": "0"}, {"type": "Cosine", "warmup_epochs": 2.0}),
])
def test_learning_rate_schedules_in_epochs(tmp_path, values, scheduler):
    config = {"MaxEpoch": "6", "BatchSize": "8"}
    doc, project, _ = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(
        Config=config, Optimizer_0=optimizer(**values)), single=True))
    assert doc["training"]["lr_scheduler"] == scheduler
    assert project.training.lr_scheduler.type == scheduler["type"]


@pytest.mark.parametrize("key, value, fragment", [
    ("SolverParameterName_0", "Alfa", "solver parameter 'Alfa' is not a parameter of nncgraph's Adam"),
    ("SolverName", "AdaBound", "solver 'AdaBound' is not one nncgraph offers"),
    ("LearningRateScheduler", "Cyclic", "learning-rate scheduler 'Cyclic' is not one nncgraph offers"),
])
def test_an_optimizer_setting_nncgraph_lacks_is_an_error_at_its_line(tmp_path, key, value, fragment):
    text = sdcproj({"Main": CLASSIFIER}, settings(Optimizer_0=optimizer(**{key: value})), single=True)
    message = import_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:{line_number(text, f'{key}={value}')}: "), message
    assert fragment in message and "Fix:" in message, message


# -- monitors, executors, structure search ------------------------------------------------------------------
def test_monitors_nncgraph_cannot_follow_are_noted_and_the_executor_is_the_evaluation(tmp_path):
    doc, project, text = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(
        Monitor_0={"Monitor_Name": "train_error", "Monitor_NetworkName": "MainValidation",
                   "Monitor_DatasetName": "Validation"},
        Monitor_2={"Monitor_Name": "cost_watch", "Monitor_NetworkName": "Main", "Monitor_DatasetName": "Training"},
        Executor_0={**settings()["Executor_0"], "NumEvaluations": "4", "RepeatEvaluationType": "0"}),
        single=True))
    assert "train_error" not in doc["training"]          # NNC measured it on the validation set
    notes = comments(text)
    assert "NNC's train_error is network 'MainValidation' on dataset 'Validation'" in notes
    assert "NNC's monitor 'cost_watch' (network 'Main', dataset 'Training') was not imported" in notes
    assert doc["evaluation"] == {"num_evaluations": 4, "repeat": "mean"}     # a setting (test_num_evaluations.py)


def test_an_enabled_structure_search_becomes_the_search_section(tmp_path):
    from nncgraph.search.settings import from_project

    search = {"Enabled": "1", "Method": "NetworkFeatureLearning", "Objective": "Error", "Validation_Min": "-1",
              "Validation_Max": "0.25", "CostMultiplyAdd_Min": "-1", "CostMultiplyAdd_Max": "500000",
              "EarlyStopping": "1", "AttemptTimes": "12", "AttemptHours": "2"}
    doc, _, text = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(StructureSearch=search), single=True))
    assert doc["search"] == {"objective": "error", "error_range": [None, 0.25], "macs_range": [None, 500000],
                             "fidelity": {"min_epochs": 1, "reduction_factor": 3}, "trials": 12, "time_limit": "2h"}
    read = from_project(doc["search"])                    # what `nncgraph search` reads
    assert read.macs_range == (None, 500000) and read.trials == 12
    assert "method NetworkFeatureLearning" in comments(text)
    off, _, _ = imported(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(), single=True), stem="off")
    assert "search" not in off


def test_a_project_for_another_engine_is_refused(tmp_path):
    text = sdcproj({"Main": CLASSIFIER}, settings(), single=True).replace("SDeepEngineType=NNabla",
                                                                        "SDeepEngineType=Caffe")
    message = import_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:2: ") and "'Caffe'" in message, message


# -- training ----------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_an_imported_project_trains_on_real_pngs(tmp_path):
    """Imported by the CLI, its URIs pointing at real PNG datasets, the project trains NNC's two epochs."""
    train = write_digits(str(tmp_path / "train"), n=48, seed=0)
    valid = write_digits(str(tmp_path / "valid"), n=15, seed=1)
    source = write_project(tmp_path, sdcproj({"Main": CLASSIFIER}, settings(train, valid), single=True))
    status, _, err = run_cli("import", source, "-o", tmp_path / "fixture.yaml")
    assert status == 0, err
    status, _, err = run_cli("run", tmp_path / "fixture.yaml", "-o", tmp_path / "run")
    assert status == 0, err
    with open(tmp_path / "run" / "result.json") as f:
        result = json.load(f)
    assert result["final"]["epoch"] == 2 and result["train_samples"] == 48 and result["valid_samples"] == 15
    assert result["final"]["learning_rate"] == 0.01              # the imported Adam's alpha
    assert result["final"]["valid_error"] <= 0.2                 # the bands are easy to tell apart
    assert os.path.exists(tmp_path / "run" / "best.nnp")
