"""The bugs the fuzz suite (tests/test_fuzz_*.py) found, each pinned by the smallest input that showed it:
a traceback, or an error message that was not one short line, where one clear user error was due."""
from __future__ import annotations

import pytest

from nncgraph.graph.network_table import check_project
from nncgraph.errors import UserError
from nncgraph.project.load import parse_project


def error_of(text: str, path: str = "project.yaml") -> str:
    with pytest.raises(UserError) as caught:
        check_project(parse_project(text, path))
    return str(caught.value)


@pytest.mark.parametrize("character, shown", [("\x00", "U+0000 (NUL)"), ("\x07", "U+0007 (BEL)"),
                                              ("\ud800", "U+D800")])
def test_a_control_character_is_refused_at_its_line(character, shown):
    # PyYAML's reader refused it in the loader's constructor, outside the error handling: a ReaderError
    # traceback, whose text was two lines anyway
    message = error_of(f"name: x\nnetwork:\n  - {{type: Input, size: [{character}1]}}\n")
    assert message.startswith(f"project.yaml:3:26: the file holds the character {shown}, "), message


def test_a_layer_reading_a_loss_output_is_refused_where_it_is_written():
    # the runtime variant drops the loss, so the shape pass looked up its output: KeyError
    message = error_of("network:\n  - {type: Input, size: [1, 3, 3]}\n  - {type: BinaryCrossEntropy}\n"
                       "  - {type: Sigmoid}\n")
    assert message.startswith("project.yaml:4:5: layer 'Sigmoid' (Sigmoid): reads the output of "
                              "'BinaryCrossEntropy' (BinaryCrossEntropy), a loss;"), message
    assert "Fix: take the input from the layer that 'BinaryCrossEntropy' reads instead." in message


def test_a_layer_reading_a_metric_is_refused_too():
    message = error_of("network:\n  - {type: Input, size: [3]}\n  - {type: TopNError, name: top}\n"
                       "  - {type: ReLU, input: top}\n")
    assert "layer 'ReLU' (ReLU): reads the output of 'top' (TopNError), a metric;" in message


@pytest.mark.parametrize("text, start", [
    ("network:\n  - {type: " + "9" * 5000 + "Input}\n", "project.yaml:2:6: unknown layer type '9999"),
    ("datasets:\n  training:\n    ? " + "c" * 5000 + "\n    : x\nnetwork: [{type: Input}]\n",
     "project.yaml:3:7: unknown dataset 'training' key 'cccc"),
    ("network:\n  - {type: Input, name: " + "n" * 5000 + "}\n  - {type: Affine, input: " + "m" * 5000 + "}\n",
     "project.yaml:3:5: layer 'Affine' (Affine): input 'mmmm"),
    ("network:\n  - {type: Input, name: " + "n" * 5000 + ", size: [0]}\n", "project.yaml:2:5027: layer 'nnnn"),
])
def test_a_long_value_is_quoted_shortened(text, start):
    # the messages quoted the whole key, type or name: 5,000 characters on the user's terminal
    message = error_of(text)
    assert message.startswith(start), message[:300]
    assert len(message) < 800 and "characters)" in message, message


def test_a_line_break_in_a_quoted_key_stays_on_the_one_line():
    message = error_of('"na\\nme": x\nnetwork: [{type: Input}]\n')
    assert "\n" not in message and "unknown top-level key 'na\\nme'" in message, message


def one_layer(layer: str, size="[1, 4, 4]") -> str:
    return f"network:\n  - {{type: Input, size: {size}}}\n  - {layer}\n"


@pytest.mark.parametrize("layer, fragment", [
    # nnabla's functions take C ints: OverflowError while building the graph, after `check` had passed
    ("{type: Convolution, out_maps: 2, kernel_shape: [3, 3], strides: [2147483648, 1]}",
     "property 'strides' holds 2147483648, beyond the 32-bit integers nnabla's functions take "
     "(-2,147,483,648 to 2,147,483,647)."),
    ("{type: Shift, shift: [-2147483649, 0]}", "property 'shift' holds -2147483649, beyond the 32-bit"),
    ("{type: Pow2Quantize, m: 2147483648}", "property 'm' holds 2147483648, beyond the 32-bit"),
    # nnabla looped 2^31 times (a hang), or allocated 5 numbers per patch (gigabytes)
    ("{type: SpectralNorm, itr: 2147483647}", "property 'itr' must be at most 1,000, got 2,147,483,647."),
    ("{type: RandomErase, n: 2147483647}", "property 'n' must be at most 10,000, got 2,147,483,647."),
    # nnabla refused it while building, with a C++ location: `eps` must be greater than 0
    ("{type: SpectralNorm, epsilon: 0.0}", "epsilon must be above 0, got 0.0."),
    ("{type: WeightNormalization, epsilon: 0.0}", "epsilon must be above 0, got 0.0."),
    # nnabla refused it while building: no bit is left for the exponents
    ("{type: Pow2Quantize, n: 2}", "n = 2 bits leave none for the exponents: the sign and zero take 2."),
    # the class count was read at the axis: IndexError
    ("{type: TopNError, axis: 7}", "axis 7 is out of range for input shape [1, 4, 4]."),
    # nnabla refused it while building, with a C++ location: `p` must be greater than or equal to 1
    ("{type: NormNormalization, p: 0.0, axes: [0, 2]}", "p must be a finite number of 1 or more, got 0.0."),
])
def test_check_refuses_what_nnabla_cannot_build(layer, fragment):
    message = error_of(one_layer(layer))
    assert message.startswith("project.yaml:3:5: layer ") or message.startswith("project.yaml:3:"), message
    assert fragment in message, message


def test_pow2_quantize_with_bits_for_the_exponents_checks():
    project = parse_project(one_layer("{type: Pow2Quantize, n: 3}"), "project.yaml")
    assert check_project(project)["Main"]["validation"].ordered()[-1].out_shape == (1, 4, 4)


def test_one_dataset_variable_read_at_two_shapes_is_refused():
    # the compiled graph fed the target from the Input's array: nnabla refused the shapes while building
    message = error_of("network:\n  - {type: Input, size: [2, 5, 3], dataset: x0}\n"
                       "  - {type: SoftmaxCrossEntropy, axis: 1, target: x0}\n")
    assert message == ("project.yaml:3:5: layer 'SoftmaxCrossEntropy' (SoftmaxCrossEntropy): reads dataset variable "
                       "'x0' (its `target`) at shape [2, 1, 3], but layer 'Input' reads it (its `dataset`) at shape "
                       "[2, 5, 3]. Fix: point one of them at another CSV column, e.g. `target: y`."), message


def test_one_dataset_variable_read_at_one_shape_is_fine():
    project = parse_project("network:\n  - {type: Input, size: [4], dataset: x}\n  - {type: Affine, out_shape: 4}\n"
                            "  - {type: SquaredError, target: x}\n", "project.yaml")     # an autoencoder
    assert check_project(project)["Main"]["training"].total_params == 20


def test_an_empty_input_list_on_a_repeat_is_refused():
    # the expander took the first of no inputs: IndexError
    message = error_of("network:\n  - {type: Input, size: [1, 3, 3]}\n  - {type: RepeatStart, input: []}\n"
                       "  - {type: ReLU}\n  - {type: RepeatEnd}\n")
    assert message == ("project.yaml:3:5: layer 'RepeatStart' (RepeatStart): has `input: []`, which names no layer. "
                       "Fix: leave `input` out (the previous layer), or name a layer."), message


# -- .sdcproj import (tests/test_fuzz_sdcproj.py) --------------------------------------------------------
SMALL_NET = [("Input", "Input", {"Size": "4", "Dataset": "x"}, []),
             ("Affine", "Affine", {"OutShape": "3", "W.Initializer": "NormalAffineGlorot"}, ["Input"]),
             ("SoftmaxCrossEntropy", "SoftmaxCrossEntropy", {"T.Dataset": "y"}, ["Affine"])]


def nnc_settings(config=None, **optimizer):
    """[Dataset_0] (24 samples), [Config] and an Sgd [Optimizer_0], with `config` and `optimizer` changed."""
    return {"Dataset_0": {"Name": "Training", "URI": "train.csv", "NumData": "24"},
            "Config": {"MaxEpoch": "4", "BatchSize": "8", **(config or {})},
            "Optimizer_0": {"Optimizer_NetworkName": "Main", "SolverName": "Sgd", "SolverParameterNum": "1",
                            "SolverParameterName_0": "LearningRate", "SolverParameter_0": "0.1", **optimizer}}


def sdcproj_error_of(tmp_path, text: str) -> str:
    from nncgraph.interop.sdcproj_import import import_sdcproj

    path = tmp_path / "p.sdcproj"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        import_sdcproj(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:") and "\n" not in message and len(message) < 800, message[:300]
    return message


def _small_project(old: str = "", new: str = "", **settings) -> str:
    from sdcproj_text import sdcproj

    return sdcproj({"Main": SMALL_NET}, nnc_settings(**settings), single=True).replace(old, new, 1)


@pytest.mark.parametrize("old, new, fragment", [
    # each quoted the whole value or name: thousands of characters on the user's terminal
    ("Value=NormalAffineGlorot", "Value=" + "9" * 5000, "W.Initializer='9999"),
    ("Name=W.Initializer", "Name=" + "w" * 5000, "has property wwww"),
    ("DestLayerID=2", "DestLayerID=" + "7" * 5000, "DestLayerID=7777"),
    ("SourcePinIndex=0", "SourcePinIndex=" + "1" * 5000, "(SourcePinIndex=1111"),
    ("SolverName=Sgd", "SolverName=" + "S" * 5000, "solver 'SSSS"),
])
def test_a_long_sdcproj_value_is_quoted_shortened(tmp_path, old, new, fragment):
    message = sdcproj_error_of(tmp_path, _small_project(old, new))
    assert fragment in message and "characters)" in message, message[:300]


@pytest.mark.parametrize("value, fragment", [
    ("9**9**9", "is astronomically large (about 10^369,693,100)."),       # Python computed it: hours
    ("10**400", "is astronomically large (about 10^400)."),               # OverflowError
    ("2**62*4", "is too large. Fix: write a value below 2^63."),
    ("-" * 3000 + "1", "too long (3,001 characters) for an arithmetic expression (at most 1000)"),  # RecursionError
    ("1" + "+1" * 3000, "too long (6,001 characters)"),
])
def test_nnc_arithmetic_is_bounded_as_dollar_expressions_are(tmp_path, value, fragment):
    message = sdcproj_error_of(tmp_path, _small_project("Value=3", "Value=" + value))
    assert "layer 'Affine' (Affine): property OutShape=" in message and fragment in message, message


@pytest.mark.parametrize("settings, fragment", [
    # OverflowError (int of an infinite float), ZeroDivisionError (iterations per epoch, the interval)
    ({"config": {"MaxEpoch": "inf"}}, "[Config] MaxEpoch must be a finite number, got 'inf'."),
    ({"config": {"BatchSize": "1e400"}}, "[Config] BatchSize must be a finite number, got '1e400'."),
    ({"config": {"BatchSize": "0"}}, "[Config] BatchSize=0 is outside 1 to 10,000,000."),
    ({"config": {"MaxEpoch": "1e9"}}, "[Config] MaxEpoch=1e9 is outside 1 to 1,000,000."),
    ({"LearningRateMultiplier": "0.5", "LearningRateUpdateInterval": "0"},
     "LearningRateUpdateInterval=0 must be more than 0."),
    ({"LearningRateScheduler": "Step", "LearningRateSteps": "inf", "LearningRateUpdateIntervalUnit": "0"},
     "LearningRateSteps='inf' is not a list of numbers."),
    ({"WeightDecay": "nan"}, "[Optimizer_0] WeightDecay must be a finite number, got 'nan'."),
])
def test_an_nnc_setting_out_of_range_is_refused_at_its_line(tmp_path, settings, fragment):
    assert fragment in sdcproj_error_of(tmp_path, _small_project(**settings))


def test_several_rate_changes_an_epoch_become_one_multiplier_per_epoch(tmp_path):
    # 24 samples in batches of 8: 3 iterations an epoch, so x0.5 every iteration is x0.125 an epoch
    # (NNC's interval of 1 iteration was rounded to 0.33 epochs, then stepped at epochs 0, 1, 1, 1, ...)
    import yaml

    from nncgraph.interop.sdcproj_import import import_sdcproj

    path = tmp_path / "p.sdcproj"
    path.write_text(_small_project(LearningRateMultiplier="0.5", LearningRateUpdateInterval="1"), encoding="utf-8")
    text = import_sdcproj(str(path))
    assert yaml.safe_load(text)["training"]["lr_scheduler"] == {"type": "Exponential", "multiplier": 0.125}
    assert "nncgraph multiplies it by 0.125 once an epoch" in " ".join(text.split())


@pytest.mark.e2e
def test_nncgraph_import_of_a_hanging_expression_exits_2_with_one_line(tmp_path):
    from conftest import run_cli

    source = tmp_path / "p.sdcproj"
    source.write_text(_small_project("Value=3", "Value=9**9**9"), encoding="utf-8")
    status, out, err = run_cli("import", source, "-o", tmp_path / "p.yaml")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "property OutShape='9**9**9' is astronomically large" in err, err


def test_a_concatenate_of_one_input_is_refused_at_check():
    # nnabla's Concatenate needs two inputs: it refused one in setup, after `check` had passed
    message = error_of(one_layer("{type: Concatenate}", size="[1]"))
    assert message.startswith("project.yaml:3:5: layer 'Concatenate' (Concatenate): takes at least 2 input(s), got 1."), message


@pytest.mark.parametrize("text", ["0e0", "1e-3", "2E+5", "-4e1"])
def test_a_string_that_reads_as_a_float_is_written_quoted(text):
    # the reader takes 1e-3 for a float (YAML 1.2), PyYAML's writer did not know: a project named "0e0",
    # written by nncgraph, read back as the number 0.0 and was refused
    from nncgraph.project.located_yaml import load_located_yaml
    from nncgraph.project.yaml_text import project_text
    written = project_text({"name": text, "network": [{"type": "Input", "name": text, "size": [1]}]})
    assert load_located_yaml(written, "p.yaml") == {"name": text, "network": [{"type": "Input", "name": text,
                                                                                 "size": [1]}]}
    assert parse_project(written, "p.yaml").name == text


def test_an_affine_of_one_number_per_sample_is_refused_at_check():
    # Mean over every axis leaves shape []: nnabla's affine failed while building (axis out of range)
    message = error_of("network:\n  - {type: Input, size: [1]}\n  - {type: Mean}\n  - {type: Affine, out_shape: 2}\n")
    assert message.startswith("project.yaml:4:5: layer 'Affine' (Affine): gets one number per sample (shape [])"), \
        message


def test_a_list_where_an_option_goes_is_refused_at_its_line():
    # the option's older-name lookup hashed the value: TypeError on a list
    message = error_of("network:\n  - {type: Input, size: [3]}\ncontext: {backend: []}\n")
    assert message.startswith("project.yaml:3:11: property 'backend' must be one of 'cpu', 'cudnn', got []."), message
