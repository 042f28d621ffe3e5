"""NNC's unit semantics in the .sdcproj importer (issue 13, items 4 and 5), on project-written fixtures
(tests/sdcproj_text.py): `*Name` argument references in values of any type, passed on through nested
units (ImageNet samples' `ConvBS=*NetworkBS`); `Input[i]` in a network's own layers; and Unit layers that
set parameter settings of the unit's layers (`Convolution.W.File=''`, `Affine.W.LRateMultiplier=0`).
Each fixture imports, matches nnabla's shapes and trains one step, and its values are checked."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from nnc_fixture_run import train_fixture
from nncgraph.errors import UserError
from nncgraph.graph.ir import network_graph
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import load_project
from nncgraph.train.init_from import read_parameters
from sdcproj_text import line_number, sdcproj
from test_import_sdcproj import assert_shapes_match_nnabla
from test_import_sdcproj_fixtures import settings

LOSS = ("SoftmaxCrossEntropy", "loss", {"T.Dataset": "y"}, ["out"])


def imported(tmp_path, text, stem="fixture"):
    """(YAML document, loaded project) of the import of `text`, written beside it as NNC's project."""
    source = tmp_path / f"{stem}.sdcproj"
    source.write_text(text, encoding="utf-8")
    yaml_text = import_sdcproj(str(source))
    target = tmp_path / f"{stem}.yaml"
    target.write_text(yaml_text, encoding="utf-8")
    return yaml.safe_load(yaml_text), load_project(str(target))


def expanded(project, network="Main"):
    """The network's layers, units expanded, by name: their properties resolved (defaults filled in)."""
    return {n.name: n for n in network_graph(project, network).nodes}


def import_error(tmp_path, text):
    source = tmp_path / "fixture.sdcproj"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        import_sdcproj(str(source))
    return str(caught.value)


# -- a BatchStat argument through two levels of units ------------------------------------------------------
def batch_stat_project(train_bs="True", valid_bs="False"):
    """NNC's ImageNet pattern: the training network calls its unit with NetworkBS=True, the validation one
    with False; the unit passes it on (ConvBS=*NetworkBS) to the unit whose BatchNormalization reads it
    (BatchStat=*ConvBS). The network's own layer sizes itself from its input (OutMaps=Input[0]*2)."""
    def main(bs):
        return [("Input", "x", {"Size": "1,8,8", "Dataset": "x"}, []),
                ("Unit", "net", {"Network": "Net", "NetworkBS": bs, "ParameterScope": "*Name"}, ["x"]),
                ("Convolution", "widen", {"OutMaps": "Input[0]*2", "KernelShape": "1,1"}, ["net"]),
                ("Affine", "out", {"OutShape": "3"}, ["widen"]),
                LOSS]
    net = [("Input", "in", {"Size": "1,8,8"}, []),
           ("Argument", "NetworkBS", {"Value": "True", "Type": "Boolean", "Search": "False"}, []),
           ("Unit", "block", {"Network": "ConvBlock", "ConvBS": "*NetworkBS", "Maps": "4"}, ["in"]),
           ("MaxPooling", "pool", {"KernelShape": "2,2", "Strides": "*KernelShape"}, ["block"])]
    block = [("Input", "in", {"Size": "1,8,8"}, []),
             ("Argument", "ConvBS", {"Value": "True", "Type": "BooleanOrMacro", "Search": "False"}, []),
             ("Argument", "Maps", {"Value": "2", "Type": "PInt", "Search": "False"}, []),
             ("Convolution", "conv", {"OutMaps": "Maps", "KernelShape": "3,3", "Padding": "1,1",
                                      "ParameterScope": "*Name"}, ["in"]),
             ("BatchNormalization", "bn", {"BatchStat": "*ConvBS", "ParameterScope": "*Name"}, ["conv"]),
             ("ReLU", "relu", {}, ["bn"])]
    return sdcproj({"Main": main(train_bs), "MainValidation": main(valid_bs), "Net": net, "ConvBlock": block},
                   settings())


def test_a_bool_argument_passes_through_nested_units_into_batch_stat(tmp_path):
    doc, project = imported(tmp_path, batch_stat_project())
    assert doc["units"]["ConvBlock"]["args"] == {"ConvBS": True, "Maps": 2}
    assert doc["units"]["ConvBlock"]["layers"][1] == {"type": "BatchNormalization", "name": "bn",
                                                      "batch_stat": "$ConvBS"}
    assert doc["units"]["Net"]["layers"][0] == {"type": "Unit", "name": "block", "unit": "ConvBlock",
                                                "ConvBS": "$NetworkBS", "Maps": 4}
    calls = {net: next(l for l in doc["networks"][net] if l["type"] == "Unit") for net in doc["networks"]}
    assert "NetworkBS" not in calls["Main"] and calls["MainValidation"]["NetworkBS"] is False
    widen = next(l for l in doc["networks"]["Main"] if l.get("name") == "widen")
    assert widen["out_maps"] == "$input_shape[0]*2"
    # resolved: the training network's BatchNormalization on batch statistics, the validation one's not
    train, valid = expanded(project, "Main"), expanded(project, "MainValidation")
    assert train["net/block/bn"].props["batch_stat"] is True
    assert valid["net/block/bn"].props["batch_stat"] is False
    assert train["net/block/conv"].props["out_maps"] == 4 and train["widen"].props["out_maps"] == 8
    assert_shapes_match_nnabla(project)


def test_batch_stat_false_normalizes_with_the_running_statistics_even_in_training(tmp_path):
    import nnabla as nn

    from nncgraph.engines.nnabla.graph import compile_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive

    _, project = imported(tmp_path, batch_stat_project())
    outputs = {}
    for network in ("Main", "MainValidation"):
        nn.clear_parameters()
        graph = infer(derive(network_graph(project, network), "training"), "training")
        compiled = compile_graph(graph, batch_size=4)
        compiled.inputs["x"].d = np.random.RandomState(0).rand(4, 1, 8, 8) * 10 + 5
        bn = compiled.outputs["net/block/bn"]
        bn.forward()
        outputs[network] = bn.d.copy()
        conv = compiled.outputs["net/block/conv"].d
        if network == "MainValidation":     # running statistics as NNC initializes them: mean 0, variance 0
            assert np.allclose(outputs[network], conv / np.sqrt(0 + 1e-4), rtol=1e-4, atol=1e-3)
    # batch statistics: each channel's values centred on 0 over the batch
    assert np.abs(outputs["Main"].mean(axis=(0, 2, 3))).max() < 1e-4
    assert np.abs(outputs["MainValidation"].mean(axis=(0, 2, 3))).max() > 0.1


def test_the_nested_batch_stat_fixture_trains_one_step(tmp_path):
    rows = train_fixture(tmp_path, batch_stat_project())
    assert rows[0]["epoch"] == 1 and rows[0]["valid_error"] is not None


def test_a_bool_argument_may_be_named_without_the_star_and_a_wrong_type_is_an_error(tmp_path):
    text = batch_stat_project().replace("Value=*ConvBS", "Value=ConvBS")
    assert "_Value=ConvBS\r\n" in text
    doc, _ = imported(tmp_path, text)
    assert doc["units"]["ConvBlock"]["layers"][1]["batch_stat"] == "$ConvBS"
    text = batch_stat_project().replace("=*KernelShape", "=*NetworkBS ")       # the space tells the line apart
    message = import_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:{line_number(text, '=*NetworkBS ')}: layer 'pool' "
                              "(MaxPooling): property Strides='*NetworkBS' is True with the default of argument "
                              "NetworkBS"), message


# -- unit calls that set parameter settings of the unit's layers --------------------------------------------
def settings_project():
    """Two calls of one unit: `frozen` keeps the unit's Convolution file (W.File='') and freezes its Affine,
    started from a file; `other` starts its Convolution from another file and learns everything."""
    main = [("Input", "x", {"Size": "1,8,8", "Dataset": "x"}, []),
            ("Unit", "frozen", {"Network": "Head", "ParameterScope": "*Name", "Convolution.W.File": "''",
                                "Convolution.b.Initializer": "", "Affine.W.File": "affine_w.npy",
                                "Affine.W.LRateMultiplier": "0", "Affine.b.LRateMultiplier": "0"}, ["x"]),
            ("Unit", "other", {"Network": "Head", "Convolution.W.File": "conv_b.npy"}, ["x"]),
            ("Add2", "out", {}, ["frozen", "other"]),
            LOSS]
    head = [("Input", "in", {"Size": "1,8,8"}, []),
            ("Convolution", "Convolution", {"OutMaps": "2", "KernelShape": "3,3", "W.File": "conv_a.npy"}, ["in"]),
            ("ReLU", "ReLU", {}, ["Convolution"]),
            ("Affine", "Affine", {"OutShape": "3"}, ["ReLU"])]
    return sdcproj({"Main": main, "Head": head}, settings())


def write_parameter_files(folder):
    rng = np.random.RandomState(7)
    files = {"conv_a.npy": rng.randn(2, 1, 3, 3), "conv_b.npy": rng.randn(2, 1, 3, 3),
             "affine_w.npy": rng.randn(2 * 8 * 8, 3)}
    for name, values in files.items():
        np.save(folder / name, values.astype(np.float32))
    return files


def test_unit_calls_set_parameter_settings_and_an_empty_value_keeps_the_units_own(tmp_path, monkeypatch):
    write_parameter_files(tmp_path)
    monkeypatch.chdir(tmp_path)         # nnabla's build below reads the files relative to it
    doc, project = imported(tmp_path, settings_project())
    frozen, other = [l for l in doc["network"] if l["type"] == "Unit"]
    assert {k: v for k, v in frozen.items() if "." in k} == {
        "Affine.w_file": "affine_w.npy", "Affine.w_lrate_multiplier": 0.0, "Affine.b_lrate_multiplier": 0.0}
    assert {k: v for k, v in other.items() if "." in k} == {"Convolution.w_file": "conv_b.npy"}
    layers = expanded(project)
    assert layers["frozen/Convolution"].props["w_file"] == "conv_a.npy"      # the unit's own, kept
    assert layers["other/Convolution"].props["w_file"] == "conv_b.npy"
    assert layers["frozen/Affine"].props["w_lrate_multiplier"] == 0 == layers["frozen/Affine"].props[
        "b_lrate_multiplier"]
    assert layers["other/Affine"].props["w_lrate_multiplier"] == 1 and layers["other/Affine"].props["w_file"] == ""
    assert_shapes_match_nnabla(project)


def test_a_frozen_parameter_set_by_the_unit_call_keeps_its_file_through_training(tmp_path):
    files = write_parameter_files(tmp_path)
    train_fixture(tmp_path, settings_project())
    trained = read_parameters(str(tmp_path / "run"))
    assert np.array_equal(trained["frozen/Affine/affine/W"], files["affine_w.npy"].astype(np.float32))
    assert np.array_equal(trained["frozen/Affine/affine/b"], np.zeros(3, np.float32))
    # the rest learned, from where the call (or the unit) started it
    assert not np.allclose(trained["other/Affine/affine/b"], 0)
    assert not np.allclose(trained["other/Convolution/conv/W"], files["conv_b.npy"])
    assert np.abs(trained["frozen/Convolution/conv/W"] - files["conv_a.npy"]).max() < 0.5


@pytest.mark.parametrize("key, value, fragments", [
    ("Conv.W.File", "a.npy", ["sets Conv.W.File, but unit 'Head' has no layer named Conv",
                              "one of its layers: in, Convolution, ReLU, Affine"]),
    ("Convolution.OutMaps", "4", ["OutMaps is not a parameter setting of layer 'Convolution' (Convolution)",
                                  "make other values Argument layers"]),
    ("ReLU.W.File", "a.npy", ["W.File is not a parameter setting of layer 'ReLU' (ReLU)", "ReLU has none"]),
    ("Affine.W.LRateMultiplier", "slow", ["Affine.W.LRateMultiplier='slow'", "not a number"]),
])
def test_a_unit_setting_the_unit_cannot_take_is_an_error_at_its_line(tmp_path, key, value, fragments):
    text = settings_project().replace("Convolution.W.File\r\nProperty_2_Value=conv_b.npy",
                                      f"{key}\r\nProperty_2_Value={value}")
    message = import_error(tmp_path, text)
    line = line_number(text, f"Property_2_Value={value}") if value != "a.npy" else \
        [n for n, t in enumerate(text.splitlines(), start=1) if t == f"Property_2_Value={value}"][0]
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:{line}: layer 'other' (Unit): "), message
    for fragment in fragments:
        assert fragment in message, message
    assert "Fix:" in message


def test_a_setting_for_a_layer_of_a_nested_unit_follows_the_path(tmp_path):
    main = [("Input", "x", {"Size": "1,8,8", "Dataset": "x"}, []),
            ("Unit", "outer", {"Network": "Outer", "Inner.Convolution.W.LRateMultiplier": "0"}, ["x"]),
            ("Affine", "out", {"OutShape": "3"}, ["outer"]),
            LOSS]
    outer = [("Input", "in", {"Size": "1,8,8"}, []),
             ("Unit", "Inner", {"Network": "InnerNet"}, ["in"])]
    inner = [("Input", "in", {"Size": "1,8,8"}, []),
             ("Convolution", "Convolution", {"OutMaps": "2", "KernelShape": "3,3"}, ["in"])]
    doc, project = imported(tmp_path, sdcproj({"Main": main, "Outer": outer, "InnerNet": inner}, settings()))
    assert doc["network"][1]["Inner/Convolution.w_lrate_multiplier"] == 0
    layers = expanded(project)
    assert layers["outer/Inner/Convolution"].props["w_lrate_multiplier"] == 0
    assert_shapes_match_nnabla(project)
