"""NNC issue 13, item 3: generator inputs. An Input with NNC's `Generator` (Normal, Uniform, Constant, Range
and `GeneratorMultiplier`) reads no dataset column: its values are drawn for every batch, from the training
seed, in training, validation, evaluate and infer; the .sdcproj importer and the nntxt/nnp files carry it."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from conftest import run_cli, tiny_project, write, write_digits
from nncgraph.engines.generated import EVALUATION, TRAINING, Draws, GeneratedInput, generated_inputs
from nncgraph.errors import UserError
from nncgraph.graph.variants import variant_graph
from nncgraph.interop.sdcproj_import import import_sdcproj
from nncgraph.project.load import load_project, parse_project
from sdcproj_text import line_number, sdcproj
from test_import_sdcproj import assert_shapes_match_nnabla
from test_import_sdcproj_fixtures import checked, imported, settings


def nnc_network(generator="Normal", multiplier="2"):
    """NNC's way: an image classifier whose logits get an Affine of a generated z added (a latent input)."""
    return [
        ("Input", "x", {"Size": "1,8,8", "Dataset": "x", "Generator": "None", "GeneratorMultiplier": "1.0"}, []),
        ("Input", "z", {"Size": "4", "Dataset": "x", "Generator": generator, "GeneratorMultiplier": multiplier}, []),
        ("Convolution", "Convolution", {"OutMaps": "2", "KernelShape": "3,3"}, ["x"]),
        ("Affine", "fx", {"OutShape": "3"}, ["Convolution"]),
        ("Affine", "fz", {"OutShape": "3"}, ["z"]),
        ("Add2", "Add2", {}, ["fx", "fz"]),
        ("SoftmaxCrossEntropy", "Loss", {"T.Dataset": "y", "T.Generator": "None", "T.GeneratorMultiplier": "1.0"},
         ["Add2"]),
    ]


def nnc_text(generator="Normal", multiplier="2"):
    return sdcproj({"Main": nnc_network(generator, multiplier)}, settings(), single=True)


GENERATED = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Input, name: z, size: [500], generator: Normal, generator_multiplier: 2}
  - {type: Input, name: u, size: [2, 50], generator: Uniform, generator_multiplier: 0.5}
  - {type: Input, name: c, size: [3], generator: Constant, generator_multiplier: -1.5}
  - {type: Input, name: r, size: [2, 4], generator: Range, generator_multiplier: 0.5}
  - {type: Reshape, name: u_flat, input: u, out_shape: [100]}
  - {type: Reshape, name: r_flat, input: r, out_shape: [8]}
  - {type: Concatenate, input: [z, u_flat, c, r_flat], axis: 0}
  - {type: Affine, input: x, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def project_of(tmp_path, network=GENERATED, extra=""):
    path = write(tmp_path / "p.yaml", "name: g\n" + network.lstrip("\n") + extra)
    return load_project(path)


def compiled(project, variant="training", batch_size=64, seed=0):
    """The variant on a fresh nnabla engine seeded with `seed`."""
    from nncgraph.engines import make_engine

    engine = make_engine(project.context, seed=seed)
    return engine.compile(variant_graph(project, project.training.network, variant), batch_size)


# -- the project format -----------------------------------------------------------------------------------------
def test_an_imported_generator_input_checks_with_nnablas_shapes_and_reads_no_column(tmp_path):
    doc, project, text = imported(tmp_path, nnc_text())
    z = next(layer for layer in doc["network"] if layer.get("name") == "z")
    assert z == {"type": "Input", "name": "z", "size": 4, "generator": "Normal", "generator_multiplier": 2.0}
    layers, report = checked(project)
    assert layers["z"]["output"] == [4] and layers["fz"]["params"] == 4 * 3 + 3
    assert report["total_params"] == (2 * 9 + 2) + (2 * 8 * 8 * 3 + 3) + 15     # NNC's same-size convolution
    assert_shapes_match_nnabla(project)
    # the runtime variant keeps it: infer draws it too
    assert [g.name for g in generated_inputs(variant_graph(project, "Main", "runtime"))] == ["z"]


def test_the_generators_draw_nnablas_distributions(tmp_path):
    draws = compiled(project_of(tmp_path)).draws
    values = draws.at((TRAINING, 1, 0))
    assert set(values) == {"z", "u", "c", "r"} and all(v.dtype == np.float32 for v in values.values())
    z = values["z"]
    assert z.shape == (64, 500) and abs(z.mean()) < 0.05 and abs(z.std() - 2.0) < 0.05    # sigma = multiplier
    u = values["u"]
    assert u.shape == (64, 2, 50) and -0.5 <= u.min() < -0.49 and 0.49 < u.max() < 0.5
    assert abs(u.std() - 0.5 / math.sqrt(3)) < 0.01
    assert np.all(values["c"] == np.float32(-1.5))
    assert np.array_equal(values["r"], np.broadcast_to([0.0, 0.5, 1.0, 1.5], (64, 2, 4)))


def test_every_iteration_draws_anew_and_the_same_seed_draws_the_same(tmp_path):
    project = project_of(tmp_path)
    draws = compiled(project).draws
    first = draws.at((TRAINING, 1, 0))["z"]
    assert not np.array_equal(first, draws.at((TRAINING, 1, 1))["z"])
    assert not np.array_equal(first, draws.at((TRAINING, 2, 0))["z"])
    assert not np.array_equal(first, draws.at((EVALUATION,), 0)["z"])
    assert np.array_equal(first, draws.at((TRAINING, 1, 0))["z"])           # a pure function of where
    assert np.array_equal(first, compiled(project).draws.at((TRAINING, 1, 0))["z"])   # another run, same seed
    assert not np.array_equal(first, compiled(project, seed=5).draws.at((TRAINING, 1, 0))["z"])
    # the validation variant of the same network draws a sample as the runtime one does
    assert np.array_equal(compiled(project, "validation").draws.at((EVALUATION,), 0)["u"],
                          compiled(project, "runtime").draws.at((EVALUATION,), 0)["u"])


def test_an_evaluation_sample_draws_the_same_whatever_the_batch_size():
    inputs = (GeneratedInput("z", (7,), "Normal", 1.0), GeneratedInput("u", (3,), "Uniform", 1.0))
    whole = Draws(inputs, 64, seed=3).at((EVALUATION,), 0)
    for batch, first in [(8, 16), (7, 21), (20, 40)]:
        part = Draws(inputs, batch, seed=3).at((EVALUATION,), first)
        assert all(np.array_equal(part[k], whole[k][first:first + batch]) for k in whole), (batch, first)


def test_the_network_computes_with_the_drawn_values(tmp_path):
    executor = compiled(project_of(tmp_path), "runtime", batch_size=4)
    batch = {"x": np.zeros((4, 1, 8, 8), np.float32), **executor.draws.at((EVALUATION,), 0)}
    out = executor.forward(batch, ["Concatenate"])["Concatenate"]
    assert np.array_equal(out, np.concatenate([batch[k].reshape(4, -1) for k in ("z", "u", "c", "r")], axis=1))
    assert set(executor.inputs) == {"x"}          # what a dataset must provide: not the generated inputs


# -- bad values -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["Gaussian", "normal", "[Normal]"])     # a list once raised a TypeError
def test_an_unknown_generator_is_one_line_naming_the_file_line_and_layer(tmp_path, value):
    text = f"name: g\nnetwork:\n  - {{type: Input, name: z, size: [4], generator: {value}}}\n"
    with pytest.raises(UserError) as caught:
        parse_project(text, str(tmp_path / "g.yaml"))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'g.yaml'}:3:") and "layer 'z' (Input)" in message
    assert "'Normal'" in message and "'Range'" in message and "\n" not in message


@pytest.mark.parametrize("generator, spread", [("Normal", "standard deviation"), ("Uniform", "half-width")])
def test_a_negative_spread_is_refused_with_the_positive_one(tmp_path, generator, spread):
    network = f"network:\n  - {{type: Input, name: z, size: [4], generator: {generator}, generator_multiplier: -2}}\n"
    with pytest.raises(UserError) as caught:
        variant_graph(load_project(write(tmp_path / "g.yaml", "name: g\n" + network)), "Main", "training")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'g.yaml'}:3:") and "layer 'z' (Input)" in message
    assert spread in message and "Fix: write generator_multiplier: 2." in message and "\n" not in message
    # a constant (or a range's step) may well be negative
    network = network.replace(generator, "Constant")
    (constant,) = generated_inputs(variant_graph(load_project(write(tmp_path / "c.yaml", "name: c\n" + network)),
                                                 "Main", "training"))
    assert constant.multiplier == -2.0


def test_bad_generator_values_in_an_sdcproj_name_its_line(tmp_path):
    for generator, multiplier, fragment, needle in [("Gaussian", "2", "Generator='Gaussian'", "Value=Gaussian"),
                                                     ("Uniform", "-1", "half-width", None)]:
        text = nnc_text(generator, multiplier)
        path = tmp_path / "bad.sdcproj"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(UserError) as caught:
            import_sdcproj(str(path))
        message = str(caught.value)
        # a property's own line, or the layer's (its Type line) where the mistake is two properties together
        lines = text.splitlines()
        name_at = lines.index("Property_0_Value=z")       # 0-based: the Type line two above is line name_at - 1
        assert lines[name_at - 2] == "Type=Input"
        line = line_number(text, needle) if needle else name_at - 1
        assert message.startswith(f"{path}:{line}: layer 'z' (Input): "), (message, line)
        assert fragment in message and "Fix:" in message and "\n" not in message


def test_a_generator_inputs_name_cannot_be_a_dataset_variable(tmp_path):
    network = """
network:
  - {type: Input, name: x, size: [4], generator: Normal}
  - {type: Input, name: image, size: [4], dataset: x}
  - {type: Add2, input: [x, image]}
"""
    with pytest.raises(UserError) as caught:
        variant_graph(project_of(tmp_path, network), "Main", "training")
    message = str(caught.value)
    assert "layer 'image' (Input)" in message and "generator input 'x'" in message and "x_noise" in message


def test_an_input_without_a_generator_still_needs_its_column(tmp_path):
    from nncgraph.train.data_binding import bind_dataset

    csv = write_digits(str(tmp_path / "d"), n=6)
    network = GENERATED.replace("{type: Input, name: x, size: [1, 8, 8]}",
                                "{type: Input, name: x, size: [1, 8, 8], dataset: pixels}")
    project = project_of(tmp_path, network, f"datasets: {{training: {{csv: {csv}}}}}\n")
    with pytest.raises(UserError) as caught:
        bind_dataset(project, "training", variant_graph(project, "Main", "validation"))
    message = str(caught.value)
    assert "layer 'x' (Input)" in message and "reads dataset variable 'pixels'" in message
    assert "\n" not in message
    # with its column there, the generated inputs need none: the CSV has only x and y
    project = project_of(tmp_path, GENERATED, f"datasets: {{training: {{csv: {csv}}}}}\n")
    assert sorted(bind_dataset(project, "training", variant_graph(project, "Main", "validation"))) == ["x", "y"]


# -- nnabla's files ---------------------------------------------------------------------------------------------
def test_nntxt_export_writes_the_generators_and_import_reads_them_back(tmp_path):
    from nncgraph.interop.nnp_export import export_project
    from nncgraph.interop.nnp_import import import_nnp
    from nncgraph.interop.nnp_source import Source

    _, project, _ = imported(tmp_path, nnc_text("Uniform", "0.25"))
    out = str(tmp_path / "g.nntxt")
    export_project(project, out, "nntxt")
    proto = Source(out).proto
    groups = {"optimizer": proto.optimizer, "monitor": proto.monitor, "executor": proto.executor}
    for what, items in groups.items():
        assert items, what
        for item in items:
            assert [(g.variable_name, g.type, round(g.multiplier, 6)) for g in item.generator_variable] == \
                [("z", "Uniform", 0.25)], what
            assert "z" not in [d.variable_name for d in item.data_variable], what
    assert list(proto.dataset[0].variable) == ["x", "y"]
    # nnabla's own loader draws it as nnabla_cli would
    from nnabla.utils.load import load

    info = load([out], prepare_data_iterator=False, batch_size=2)
    (assigned,) = next(iter(info.optimizers.values())).generator_assign.values()
    assert type(assigned).__name__ == "UniformInitializer" and assigned.lim == (-0.25, 0.25)
    yaml_out = str(tmp_path / "back.yaml")
    text = import_nnp(out, yaml_out)
    assert "{type: Input, name: z, size: [4], generator: Uniform, generator_multiplier: 0.25}" in text, text
    with open(yaml_out, "w", encoding="utf-8") as f:
        f.write(text)
    back = load_project(yaml_out)
    assert [g.generator for g in generated_inputs(variant_graph(back, "Main", "training"))] == ["Uniform"]


def test_an_nntxt_loss_target_from_a_generator_is_refused_on_its_line(tmp_path):
    from nncgraph.interop.nnp_export import export_project
    from nncgraph.interop.nnp_import import import_nnp

    _, project, _ = imported(tmp_path, nnc_text())
    out = tmp_path / "g.nntxt"
    export_project(project, str(out), "nntxt")
    # NNC's T.Generator: the target y filled by a Constant generator instead of the dataset
    text = out.read_text().replace('  data_variable {\n    variable_name: "y"\n    data_name: "y"\n  }\n',
                                   '  generator_variable {\n    variable_name: "y"\n    type: "Constant"\n'
                                   '    multiplier: 1\n  }\n')
    assert text.count('variable_name: "y"\n    type: "Constant"') == 3     # optimizer and both monitors
    out.write_text(text)
    with pytest.raises(UserError) as caught:
        import_nnp(str(out), str(tmp_path / "back.yaml"))
    message = str(caught.value)
    assert message.startswith(f"{out}:") and "Constant generator" in message and "Fix:" in message


# -- training, evaluate, infer ----------------------------------------------------------------------------------
@pytest.mark.e2e      # the learning curve's plot starts matplotlib's font lookup
def test_the_nnc_fixture_trains(tmp_path):
    from nnc_fixture_run import train_fixture

    rows = train_fixture(tmp_path, nnc_text())
    assert rows[0]["cost"] > 0 and rows[0]["valid_cost"] > 0


RANGE_LOGITS = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Affine, out_shape: 3}
  - {type: Input, name: bias, size: [3], generator: Range, generator_multiplier: 1000}
  - {type: Add2, input: [Affine, bias]}
  - {type: SoftmaxCrossEntropy, target: y}
"""

NOISE = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Input, name: noise, size: [1, 8, 8], generator: Normal, generator_multiplier: 2}
  - {type: Add2, input: [x, noise]}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def train(tmp_path, network, out, max_epoch=1, **overrides):
    import nncgraph

    data = tmp_path / "d"
    if not data.exists():
        write_digits(str(data / "train"), n=24)
        write_digits(str(data / "valid"), n=12, seed=1)
    path = tiny_project(str(tmp_path), str(data / "train" / "data.csv"), str(data / "valid" / "data.csv"),
                        network=network, epochs=max_epoch)
    return nncgraph.load(path).train(str(tmp_path / out), finish=False, log=lambda line: None, **overrides)


@pytest.mark.e2e
def test_training_validation_evaluate_and_infer_all_feed_the_generator(tmp_path):
    # logits + (0, 1000, 2000): whatever the weights, every sample is predicted class 2 -- only if fed
    run = train(tmp_path, RANGE_LOGITS, "run")
    (row,) = run.metrics
    assert row["train_error"] == pytest.approx(2 / 3) and row["valid_error"] == pytest.approx(2 / 3)
    assert 900 < row["cost"] < 1100 and 900 < row["valid_cost"] < 1100     # labels 0, 1, 2 cost ~2000, ~1000, 0
    metrics = run.evaluate()
    assert metrics["confusion_matrix"] == [[0, 0, 4], [0, 0, 4], [0, 0, 4]]
    results = run.infer([str(tmp_path / "d" / "valid" / "img" / "0.png")])
    assert results[0]["label"] == 2 and results[0]["probability"] == pytest.approx(1.0)


@pytest.mark.e2e
def test_runs_are_reproducible_and_evaluate_sees_the_validation_draws(tmp_path):
    first, again = train(tmp_path, NOISE, "a"), train(tmp_path, NOISE, "b")
    strip = lambda rows: [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]    # noqa: E731
    assert strip(first.metrics) == strip(again.metrics)
    other = train(tmp_path, NOISE.replace("generator_multiplier: 2", "generator_multiplier: 0"), "c")
    assert strip(other.metrics) != strip(first.metrics)          # the noise is what the runs saw
    # batch 64 in evaluate, 8 in validation: each sample still drew the same noise
    assert first.evaluate()["loss"] == pytest.approx(first.metrics[-1]["valid_cost"], rel=1e-6)


@pytest.mark.e2e
@pytest.mark.slow
def test_a_resumed_run_draws_what_the_straight_one_did(tmp_path):
    straight = train(tmp_path, NOISE, "straight", max_epoch=3)
    train(tmp_path, NOISE, "resumed", max_epoch=3, epochs=1)
    resumed = train(tmp_path, NOISE, "resumed", max_epoch=3, resume=True)
    strip = lambda rows: [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]    # noqa: E731
    assert len(resumed.metrics) == 3 and strip(resumed.metrics) == strip(straight.metrics)


@pytest.mark.e2e
def test_the_cli_runs_and_infers_a_generator_project_and_refuses_a_bad_one(tmp_path):
    data = write_digits(str(tmp_path / "d"), n=16)
    project = tiny_project(str(tmp_path), data, data, network=NOISE, epochs=1)
    status, _, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    status, out, err = run_cli("infer", tmp_path / "run", os.path.join(tmp_path, "d", "img", "0.png"))
    assert status == 0 and "0.png" in out, err
    with open(project) as f:
        text = f.read()
    with open(project, "w") as f:
        f.write(text.replace("generator: Normal", "generator: normal"))
    status, _, err = run_cli("check", project)
    assert status == 2 and "layer 'noise' (Input)" in err and "'Normal'" in err
    assert len(err.strip().splitlines()) == 1, err
