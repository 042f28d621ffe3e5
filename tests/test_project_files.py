"""Issue 13, item 8: NNC and nnabla files are project files. `run`, `check`, `render`, `search` and
`export` take an .sdcproj, .nntxt or .nnp as they take a .yaml: imported in memory (nothing is written
beside the file), with what the loader finds wrong shown at the line of the file itself."""
from __future__ import annotations

import json
import os
import re

import pytest

import nncgraph
from conftest import run_cli, shared_path, write_digits
from nncgraph.errors import UserError
from nncgraph.graph.network_table import check_json, check_project
from nncgraph.interop.project_files import load_any_project
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import load_project
from nncgraph.train.init_from import read_parameters
from sdcproj_text import line_number, sdcproj
from test_import_sdcproj_fixtures import CLASSIFIER, settings

LENET = "image_recognition__MNIST__LeNet.sdcproj"


def _fixture(tmp_path, layers=CLASSIFIER, stem="fixture", **sections):
    path = tmp_path / f"{stem}.sdcproj"
    path.write_text(sdcproj({"Main": layers}, settings(**sections), single=True), encoding="utf-8")
    return str(path)


def _with(layer_name, **props):
    return [(kind, name, {**p, **props} if name == layer_name else p, inputs) for kind, name, p, inputs in CLASSIFIER]


def _checked(project):
    return check_json(check_project(project))["networks"]


def _error(path) -> str:
    with pytest.raises(UserError) as caught:
        load_any_project(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_sdcproj_loads_as_the_project_its_import_writes(tmp_path):
    source = _fixture(tmp_path)
    written = tmp_path / "imported.yaml"
    written.write_text(import_sdcproj(source), encoding="utf-8")
    before = sorted(os.listdir(tmp_path))
    project = load_any_project(source)
    assert sorted(os.listdir(tmp_path)) == before          # imported in memory
    assert project.path == os.path.abspath(source) and project.name == "fixture"
    assert _checked(project) == _checked(load_project(str(written)))
    assert _checked(project)["Main"]["variants"]["training"]["total_params"] == 40 + 195


def test_a_shape_error_in_an_sdcproj_is_shown_at_the_layers_line(tmp_path):
    layers = _with("Convolution", KernelShape="9,9", Padding="0,0")
    source = _fixture(tmp_path, layers)
    with pytest.raises(UserError) as caught:
        check_project(load_any_project(source))
    message = str(caught.value)
    with open(source, encoding="utf-8") as f:
        text = f.read()
    # the Convolution is the file's second layer: [Layer_1], whose Type line the error names
    type_line = text.splitlines().index("[Layer_1]") + 3
    assert text.splitlines()[type_line - 1] == "Type=Convolution"
    assert message.startswith(f"{source}:{type_line}: layer 'Convolution' (Convolution): kernel [9, 9]"), message
    assert "Fix:" in message


def test_a_bad_property_in_an_sdcproj_is_shown_at_its_layer_not_at_the_yaml_it_became(tmp_path):
    source = _fixture(tmp_path, _with("MaxPooling", KernelShape="2,2,2,2,2"))
    with pytest.raises(UserError) as caught:
        check_project(load_any_project(source))
    message = str(caught.value)
    assert message.startswith(f"{source}:"), message
    line = int(message[len(source) + 1:].split(":")[0])
    with open(source, encoding="utf-8") as f:
        assert f.read().splitlines()[line - 1] == "Type=MaxPooling"


def _exported(tmp_path, suffix):
    """The fixture exported by `nncgraph export` (the API) as .nntxt or .nnp, in a folder of its own."""
    folder = tmp_path / f"exported{suffix}"
    folder.mkdir()
    project_file = tmp_path / "fixture.yaml"
    project_file.write_text(import_sdcproj(_fixture(tmp_path)), encoding="utf-8")
    path = str(folder / f"model{suffix}")
    nncgraph.load(str(project_file)).export(path, format=suffix[1:])
    return path


@pytest.mark.parametrize("suffix", [".nntxt", ".nnp"])
def test_an_exported_network_file_loads_and_checks_without_writing_beside_it(tmp_path, suffix):
    path = _exported(tmp_path, suffix)
    before = sorted(os.listdir(os.path.dirname(path)))
    project = load_any_project(path)
    assert sorted(os.listdir(os.path.dirname(path))) == before
    assert _checked(project)["Main"]["variants"]["training"]["total_params"] == 40 + 195
    if suffix == ".nnp":       # its parameters are read from the file itself
        assert project.init_from is not None and os.path.basename(project.init_from.path) == "model.nnp"


def test_a_shape_error_in_an_nntxt_is_shown_at_its_functions_line(tmp_path):
    path = _exported(tmp_path, ".nntxt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    broken = tmp_path / "broken.nntxt"
    broken.write_text(text.replace("dim: 8", "dim: 1"), encoding="utf-8")      # the 8x8 input becomes 1x1
    with pytest.raises(UserError) as caught:
        check_project(load_any_project(str(broken)))
    message = str(caught.value)
    match = re.match(r"(.+):(\d+): layer '(\w+)' \((\w+)\): ", message)
    assert match and match.group(1) == str(broken), message
    lines = broken.read_text().splitlines()
    # the line is the one naming the layer's function in the .nntxt: `    name: "@Main/<layer>"`
    assert lines[int(match.group(2)) - 1] == f'    name: "@Main/{match.group(3)}"', message
    assert lines[int(match.group(2)) - 2] == "  function {", message


def test_an_nntxt_holding_its_parameters_is_trained_from_them_in_place(tmp_path):
    """An .nntxt with inline parameter values: init_from reads them from the .nntxt itself, and no
    .parameters.h5 appears beside it (as `nncgraph import` would write)."""
    import nnabla as nn
    from nnabla.utils.save import save

    nnp = _exported(tmp_path, ".nnp")
    nn.clear_parameters()
    from nnabla.utils import nnp_graph

    graph = nnp_graph.NnpLoader(nnp)
    net = graph.get_network("Main", batch_size=2)
    path = str(tmp_path / "inline.nntxt")
    save(path, {"networks": [{"name": "Main", "batch_size": 2, "outputs": {"y": list(net.outputs.values())[0]},
                              "names": dict(net.inputs)}]}, include_params=True)
    nn.clear_parameters()
    before = sorted(os.listdir(tmp_path))
    project = load_any_project(path)
    assert sorted(os.listdir(tmp_path)) == before
    assert os.path.abspath(os.path.join(os.path.dirname(project.path), project.init_from.path)) == path
    values = read_parameters(path)
    assert values["Convolution/conv/W"].shape == (4, 1, 3, 3)


def test_a_missing_nnc_file_is_one_line(tmp_path):
    assert "does not exist" in _error(str(tmp_path / "nothing.sdcproj"))
    (tmp_path / "folder.nnp").mkdir()
    assert "is a directory" in _error(str(tmp_path / "folder.nnp"))


# -- the commands -------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_the_commands_take_nnc_and_nnabla_files(tmp_path):
    source = _fixture(tmp_path)
    train = write_digits(str(tmp_path / "train"), n=24, seed=0)
    valid = write_digits(str(tmp_path / "valid"), n=12, seed=1)
    status, out, err = run_cli("check", source)
    assert status == 0 and "total" in out and "235" in out.replace(",", ""), err
    status, out, err = run_cli("render", source)
    assert status == 0 and out.startswith("format:") and "CategoricalCrossEntropy" in out, err
    status, out, err = run_cli("run", source, "--epochs", "1", "--dataset", f"training={train}",
                               "--dataset", f"validation={valid}", "-o", tmp_path / "run")
    assert status == 0, err
    with open(tmp_path / "run" / "result.json") as f:
        assert json.load(f)["final"]["epoch"] == 1
    assert load_project(str(tmp_path / "run" / "project.yaml")).name == "fixture"
    status, out, err = run_cli("export", source, "-o", tmp_path / "fixture.nnp")
    assert status == 0 and os.path.getsize(tmp_path / "fixture.nnp") > 0, err
    for network_file in (tmp_path / "fixture.nnp", _exported(tmp_path, ".nntxt")):
        status, out, err = run_cli("run", network_file, "--epochs", "1", "--dataset", f"training={train}",
                                   "--dataset", f"validation={valid}", "-o", tmp_path / f"run-{os.path.basename(network_file)}")
        assert status == 0, err
    status, out, err = run_cli("run", source, "-o", tmp_path / "run-2")     # NNC's URIs: say --dataset
    assert status == 2 and "--dataset training=CSV" in err and "Traceback" not in err


@pytest.mark.e2e
def test_search_takes_an_sdcproj_and_its_datasets(tmp_path):
    source = _fixture(tmp_path, StructureSearch={"Enabled": "1", "Method": "0", "Optimize": "0",
                                                 "ValidationMin": "0", "ValidationMax": "0"})
    train = write_digits(str(tmp_path / "train"), n=24, seed=0)
    valid = write_digits(str(tmp_path / "valid"), n=12, seed=1)
    status, out, err = run_cli("search", source, "--trials", "1", "--epochs", "1", "-o", tmp_path / "search",
                               "--dataset", f"training={train}", "--dataset", f"validation={valid}")
    assert status == 0, err
    assert "1 trials: 1 trained" in out


@pytest.mark.e2e
def test_nncs_lenet_sample_runs_as_it_is_on_the_bundled_digits(tmp_path):
    sample = shared_path("nnc-samples", LENET)
    status, _, err = run_cli("dataset", "mnist-sample", "-o", tmp_path / "mnist")
    assert status == 0, err
    status, out, err = run_cli("run", sample, "--dataset", f"training={tmp_path / 'mnist' / 'train.csv'}",
                               "--dataset", f"validation={tmp_path / 'mnist' / 'valid.csv'}", "-o", tmp_path / "run")
    assert status == 0, err
    with open(tmp_path / "run" / "result.json") as f:
        result = json.load(f)
    assert result["final"]["epoch"] == 10 and 1 - result["final"]["valid_error"] >= 0.97
