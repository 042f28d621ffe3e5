"""ImageNet architectures written the NNC way (issue 13): a unit per block, the training network calling
its units with BatchStat True and the validation network with False (NNC's `ConvBS=*NetworkBS` macros,
passed on through nested units), RepeatStart/RepeatEnd for a dense block, `Input[0]` sizing a transition,
and unit calls that set their layers' parameter settings (`conv1.W.Initializer=...`). Written here as
.sdcproj files (tests/sdcproj_text.py); each imports and checks to torchvision's parameter count."""
from __future__ import annotations

import pytest

from nncgraph.graph.ir import network_graph
from nncgraph.graph.network_table import check_json, check_project
from nncgraph.interop.project_files import load_any_project
from sdcproj_text import sdcproj
from test_import_sdcproj_fixtures import settings

LOSS = ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["fc"])


def _arg(name, value, kind):
    return ("Argument", name, {"Value": value, "Type": kind, "Search": "False"}, [])


def vgg16():
    """Configuration D: blocks of 2, 2, 3, 3, 3 convolutions (64 ... 512 maps), three Affine layers."""
    def block(n):
        layers = [("Input", "in", {"Size": "3,224,224"}, []), _arg("Maps", "64", "PInt")]
        previous = "in"
        for i in range(1, n + 1):
            layers += [("Convolution", f"conv{i}", {"OutMaps": "Maps", "KernelShape": "3,3", "Padding": "1,1",
                                                    "ParameterScope": "*Name"}, [previous]),
                       ("ReLU", f"relu{i}", {}, [f"conv{i}"])]
            previous = f"relu{i}"
        return layers + [("MaxPooling", "pool", {"KernelShape": "2,2", "Strides": "*KernelShape"}, [previous])]

    main = [("Input", "x", {"Size": "3,224,224", "Dataset": "x"}, [])]
    previous = "x"
    for i, (n, maps) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], start=1):
        # NNC's older He initializer name, set on the block's first convolution by the unit call
        main.append(("Unit", f"block{i}", {"Network": f"Block{n}", "Maps": str(maps), "ParameterScope": "*Name",
                                           "conv1.W.Initializer": "NormalConvolutionHe"}, [previous]))
        previous = f"block{i}"
    for name, size in (("fc6", 4096), ("fc7", 4096)):
        main += [("Affine", name, {"OutShape": str(size)}, [previous]), ("ReLU", f"{name}_relu", {}, [name]),
                 ("Dropout", f"{name}_drop", {"P": "0.5"}, [f"{name}_relu"])]
        previous = f"{name}_drop"
    main += [("Affine", "fc", {"OutShape": "1000"}, [previous]), LOSS]
    return sdcproj({"Main": main, "Block2": block(2), "Block3": block(3)}, settings())


def densenet161():
    """Growth 48, 96 initial maps, dense blocks of 6, 12, 36 and 24 layers, each a RepeatStart/RepeatEnd
    around a DenseLayer unit; transitions halve the maps (OutMaps=Input[0]/2)."""
    bn = {"BatchStat": "*BS", "ParameterScope": "*Name"}
    dense = [("Input", "in", {"Size": "96,56,56"}, []), _arg("BS", "True", "BooleanOrMacro"),
             ("BatchNormalization", "bn1", bn, ["in"]), ("ReLU", "relu1", {}, ["bn1"]),
             ("Convolution", "conv1", {"OutMaps": "192", "KernelShape": "1,1", "WithBias": "False",
                                       "ParameterScope": "*Name"}, ["relu1"]),
             ("BatchNormalization", "bn2", bn, ["conv1"]), ("ReLU", "relu2", {}, ["bn2"]),
             ("Convolution", "conv2", {"OutMaps": "48", "KernelShape": "3,3", "Padding": "1,1", "WithBias": "False",
                                       "ParameterScope": "*Name"}, ["relu2"]),
             ("Concatenate", "concat", {"Axis": "0"}, ["in", "conv2"])]
    transition = [("Input", "in", {"Size": "384,56,56"}, []), _arg("BS", "True", "BooleanOrMacro"),
                  ("BatchNormalization", "bn", bn, ["in"]), ("ReLU", "relu", {}, ["bn"]),
                  ("Convolution", "conv", {"OutMaps": "Input[0]/2", "KernelShape": "1,1", "WithBias": "False",
                                           "ParameterScope": "*Name"}, ["relu"]),
                  ("AveragePooling", "pool", {"KernelShape": "2,2", "Strides": "*KernelShape"}, ["conv"])]

    def main(bs):
        layers = [("Input", "x", {"Size": "3,224,224", "Dataset": "x"}, []),
                  ("Convolution", "conv0", {"OutMaps": "96", "KernelShape": "7,7", "Strides": "2,2", "Padding": "3,3",
                                            "WithBias": "False"}, ["x"]),
                  ("BatchNormalization", "norm0", {"BatchStat": bs}, ["conv0"]), ("ReLU", "relu0", {}, ["norm0"]),
                  ("MaxPooling", "pool0", {"KernelShape": "3,3", "Strides": "2,2", "Padding": "1,1"}, ["relu0"])]
        previous = "pool0"
        for i, n in enumerate((6, 12, 36, 24), start=1):
            layers += [("RepeatStart", f"repeat{i}", {"Times": str(n)}, [previous]),
                       ("Unit", f"block{i}", {"Network": "DenseLayer", "BS": bs, "ParameterScope": "*Name"},
                        [f"repeat{i}"]),
                       ("RepeatEnd", f"repeat{i}_end", {"Times": str(n)}, [f"block{i}"])]
            previous = f"repeat{i}_end"
            if i < 4:
                layers.append(("Unit", f"transition{i}", {"Network": "Transition", "BS": bs,
                                                          "ParameterScope": "*Name"}, [previous]))
                previous = f"transition{i}"
        return layers + [("BatchNormalization", "norm5", {"BatchStat": bs}, [previous]),
                         ("ReLU", "relu5", {}, ["norm5"]), ("GlobalAveragePooling", "pool5", {}, ["relu5"]),
                         ("Affine", "fc", {"OutShape": "1000"}, ["pool5"]), LOSS]
    return sdcproj({"Main": main("True"), "MainValidation": main("False"), "DenseLayer": dense,
                    "Transition": transition}, settings())


def _checked(tmp_path, stem, text):
    path = tmp_path / f"{stem}.sdcproj"
    path.write_text(text, encoding="utf-8")
    project = load_any_project(str(path))      # imported in memory, as `nncgraph check x.sdcproj` does
    return project, check_json(check_project(project))["networks"]


def test_vgg16_written_the_nnc_way_has_torchvisions_parameter_count(tmp_path):
    project, report = _checked(tmp_path, "vgg16", vgg16())
    assert report["Main"]["variants"]["training"]["total_params"] == 138_357_544
    nodes = {n.name: n for n in network_graph(project, "Main").nodes}
    # the unit call's setting reached the first convolution of every block, under its current name
    assert nodes["block3/conv1"].props["w_initializer"] == "NormalConvolutionHeForward"
    assert nodes["block3/conv2"].props["w_initializer"] == "NormalConvolutionGlorot"


@pytest.mark.slow
def test_densenet161_written_the_nnc_way_has_torchvisions_parameter_count(tmp_path):
    project, report = _checked(tmp_path, "densenet161", densenet161())
    for network in ("Main", "MainValidation"):
        assert report[network]["variants"]["training"]["total_params"] == 28_681_000
    train = {n.name: n for n in network_graph(project, "Main").nodes}
    valid = {n.name: n for n in network_graph(project, "MainValidation").nodes}
    bns = [name for name in train if name.endswith("bn1")]
    assert len(bns) == 6 + 12 + 36 + 24
    assert all(train[n].props["batch_stat"] is True and valid[n].props["batch_stat"] is False for n in bns)
