"""Limits on the values of a project file: training integers, search ranges and settings, numbers,
the project name, and odd values that used to end in a traceback. Each is one clear line at load."""
from __future__ import annotations

import os

import pytest

from conftest import ROOT, run_cli
from nncgraph.errors import UserError
from nncgraph.project.load import load_project, parse_project
from test_limits import HEAD, NETWORK, checked, one_line_error, project, refused


# -- 4. training integers ------------------------------------------------------------------------
@pytest.mark.parametrize("section, field, value, fragment", [
    ("training", "batch_size", "0", "must be 1 or more"),
    ("training", "batch_size", "true", "must be an integer, got True"),
    ("training", "batch_size", "1e3", "got 1000.0 (write 1000)"),
    ("training", "max_epoch", "0", "must be 1 or more"),
    ("training", "max_epoch", str(2 ** 70), "must be below 2^63"),
    ("training", "monitor_interval", "10000000", "at most 1,000,000"),
    ("training", "seed", "-1", "no \"random\" value such as -1"),
    ("training", "seed", str(2 ** 31), "at most 2,147,483,647"),
    ("context", "device_id", "256", "at most 255"),
    ("context", "device_id", "-1", "must be 0 or more"),
])
def test_training_integers_are_range_checked_at_load(section, field, value, fragment):
    refused(project(NETWORK + f"{section}: {{{field}: {value}}}\n"), f"property '{field}'", fragment,
            "project.yaml:8:")


@pytest.mark.parametrize("value, fragment", [("-2", "must be at least -1"),
                                             (str(2 ** 31), "must be at most 2,147,483,647")])
def test_a_random_layers_seed_is_minus_1_or_a_seed_nnabla_takes(value, fragment):
    network = NETWORK.replace("{type: Affine,", f"{{type: Dropout, seed: {value}}}\n  - {{type: Affine,", 1)
    assert network != NETWORK
    refused(project(network), "property 'seed'", fragment, "layer 'Dropout'")


def test_the_largest_accepted_seed_seeds_nnabla():
    pytest.importorskip("nnabla")
    from nncgraph.project.sections import MAX_SEED
    from nncgraph.engines.nnabla.engine import seed_everything

    assert parse_project(project(NETWORK + f"training: {{seed: {MAX_SEED}}}\n"), "p.yaml").training.seed == MAX_SEED
    seed_everything(MAX_SEED)


# -- 5. search ranges and settings ---------------------------------------------------------------
def _declared(value: str):
    from nncgraph.project.located_yaml import load_located_yaml
    from nncgraph.project.search_declarations import declarations
    from nncgraph.search.space import validate_declarations

    doc = load_located_yaml(project(f"""
        network:
          - {{type: Input, size: [4]}}
          - {{type: Affine, out_shape: {value}}}
        """), "space.yaml")
    validate_declarations(declarations(doc), doc)


@pytest.mark.parametrize("value, fragment", [
    ("{search: {low: 0, high: 64, log: true}}", "low must be above 0"),
    ("{search: {low: -4, high: 64, log: true}}", "low must be above 0"),
    ("{search: {low: 64, high: 8}}", "low <= high"),
    ("{search: {low: 8, high: 1e300}}", "reaches 1e+300"),
    ("{search: {low: 8, high: 64, step: 0}}", "must be a number above 0"),
    ("{search: {low: 8, high: 64, step: -8}}", "must be a number above 0"),
    ("{search: {low: 8, high: 64, step: 8, log: true}}", "both `step` and `log: true`"),
    ("{search: {low: 8, high: 64, step: 0.5}}", "`step` must be one"),
    ("{search: {low: 8, high: .nan}}", "must be {low: L, high: H}"),
    ("{search: []}", "non-empty list"),
])
def test_search_ranges_no_sampler_can_use_are_refused_at_their_line(value, fragment):
    with pytest.raises(UserError) as caught:
        _declared(value)
    assert fragment in str(caught.value) and "space.yaml:6:" in str(caught.value), str(caught.value)


@pytest.mark.parametrize("setting, fragment", [
    ("trials: many", "search.trials must be a whole number"),
    ("trials: 0", "search.trials must be a whole number"),
    ("seed: -1", "search.seed must be a whole number"),
    ("epochs: true", "search.epochs must be a whole number"),
    ("fidelity: {min_epochs: 0}", "search.fidelity.min_epochs"),
    ("fidelity: 5", "search.fidelity must be a mapping"),
    ("error_range: [0.5, 0.1]", "minimum 0.5 above its maximum 0.1"),
    ("time_limit: -5", "not a duration above 0"),
])
def test_search_settings_are_typed_at_load(setting, fragment):
    from nncgraph.project.located_yaml import load_located_yaml
    from nncgraph.search.settings import from_project

    doc = load_located_yaml(f"search:\n  {setting}\n", "space.yaml")
    with pytest.raises(UserError) as caught:
        from_project(doc["search"])
    assert fragment in str(caught.value) and "space.yaml:2:" in str(caught.value), str(caught.value)


# -- 6. floats ---------------------------------------------------------------------------------
@pytest.mark.parametrize("written, value", [("1e-3", 0.001), ("1E+5", 1e5), ("-2.5e-4", -2.5e-4)])
def test_exponent_floats_are_read_as_floats(written, value):
    spec = parse_project(project(NETWORK + f"training: {{optimizer: {{type: Adam, alpha: {written}}}}}\n"),
                         "p.yaml")
    assert spec.training.optimizer.params["alpha"] == value


def test_a_quoted_number_gets_the_hint():
    refused(project(NETWORK + "training: {optimizer: {type: Adam, alpha: '1e-3x'}}\n"), "must be a number")
    refused(project(NETWORK + "training: {optimizer: {type: Adam, alpha: '1e-3'}}\n"), "1.0e-3")


def test_non_finite_floats_are_refused():
    refused(project(NETWORK + "training: {optimizer: {type: Adam, alpha: .nan}}\n"), "must be a finite number")


# -- 7. project name ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["'../escape'", "/tmp/abs", "'..'", "'.'", "'a\\\\b'", "''", '"x\\0y"',
                                  "'C:'", "' padded'", "[1]", "2020-01-01", "'" + "n" * 300 + "'"])
def test_the_project_name_is_one_safe_folder_name(name):
    refused(project(NETWORK, head=f"name: {name}\ndatasets:\n  training: {{csv: data.csv}}\n"),
            "project.yaml:1:", "the project's `name`")


@pytest.mark.e2e
def test_a_run_named_outside_runs_writes_nothing(tmp_path):
    path = tmp_path / "project.yaml"
    path.write_text(project(NETWORK, head="name: ../../escape\ndatasets:\n  training: {csv: data.csv}\n"))
    # run from the project's folder (this checkout's nncgraph), where runs/ would be made
    one_line_error(run_cli("run", path, cwd=tmp_path, env={"PYTHONPATH": ROOT}), "the project's `name`")
    assert sorted(os.listdir(tmp_path)) == ["project.yaml"]
    assert not os.path.exists(tmp_path.parent / "escape")


# -- 8. odd values that used to end in a traceback -----------------------------------------------
@pytest.mark.parametrize("text, fragment", [
    (HEAD + "network:\n  - {type: [Convolution]}\n", "a layer's `type` must be a layer type name"),
    (HEAD + "network:\n  - {type: {a: b}}\n", "a layer's `type` must be a layer type name"),
    (HEAD + NETWORK + "training: {optimizer: {type: [Adam]}}\n", "unknown optimizer type ['Adam']"),
    (HEAD + NETWORK + "training: {lr_scheduler: {type: {a: 1}}}\n", "unknown lr_scheduler type"),
    (HEAD + "units:\n  B: {layers: [{type: ReLU}]}\nnetwork:\n  - {type: Input, size: [4]}\n"
     "  - {type: Unit, unit: [B]}\n", "`unit:` must name a unit"),
])
def test_structures_where_a_name_goes_are_clear_errors(text, fragment):
    refused(text, fragment)


def test_a_merge_key_may_be_overridden():
    result = checked(project("""
        units:
          B:
            args: {base: &conv {type: Affine, out_shape: 4}}
            layers:
              - {<<: *conv, out_shape: 8}
        network:
          - {type: Input, size: [4]}
          - {type: Unit, unit: B}
        """))
    assert result["Main"]["training"].ordered()[-1].out_shape == (8,)


def test_a_key_written_twice_is_still_refused():
    refused(project("network:\n  - {type: Input, size: [4], size: [5]}\n"), "key 'size' appears twice")


@pytest.mark.parametrize("content, fragment", [
    (b"name: caf\xe9\n", "project.yaml:1:10: project file is not UTF-8 text: byte 0xe9"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00\xd0\xff", "is a binary file, not text"),
])
def test_a_project_file_that_is_not_text_says_so(tmp_path, content, fragment):
    path = tmp_path / "project.yaml"
    path.write_bytes(content)
    with pytest.raises(UserError, match="Fix: save the file as UTF-8") as caught:
        load_project(str(path))
    assert fragment in str(caught.value)


def test_a_project_path_that_is_a_directory_says_so(tmp_path):
    with pytest.raises(UserError, match="is a directory"):
        load_project(str(tmp_path))


@pytest.mark.parametrize("text", ["", "5", "[1, 2]", "~", "hello"])
def test_a_file_that_is_not_a_mapping_is_refused(text):
    with pytest.raises(UserError, match="must be a mapping"):
        parse_project(text, "p.yaml")



@pytest.mark.parametrize("label, fragment", [
    ("1.5", "label 1.5 is not an integer; layer 'SoftmaxCrossEntropy' (SoftmaxCrossEntropy) reads class numbers 0..2"),
    ("7", "label 7 is out of range for layer 'SoftmaxCrossEntropy' (SoftmaxCrossEntropy), which has 3 classes"),
])
def test_a_label_says_what_is_wrong_with_it(tmp_path, capsys, label, fragment):
    from conftest import main_in_process, tiny_project, write_digits

    csv_path = write_digits(str(tmp_path / "d"), n=8)
    with open(csv_path) as f:
        text = f.read()
    with open(csv_path, "w") as f:
        f.write(text.replace("img/7.png,1", f"img/7.png,{label}"))
    status, _, err = main_in_process(capsys, "run", tiny_project(str(tmp_path), "d/data.csv"), "-o", tmp_path / "r")
    assert status == 2 and fragment in err and "data.csv:9" in err and len(err.strip().splitlines()) == 1, err
    assert not os.path.exists(tmp_path / "r" / "result.json")
