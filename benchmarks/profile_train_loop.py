"""Per-step timing of nncgraph's training iteration, next to the hand-written one.

    python benchmarks/profile_train_loop.py [--iterations 630] [--rounds 3]

cProfile cannot see inside nnabla's Cython methods (forward, backward,
update, the `.d` property), so this builds nncgraph's training graph the way
`train_project` does (same nncgraph calls), then replays the body of its
iteration with a timer around each statement, and does the same for the
hand-written graph of bench_training.py. Rounds alternate between the two.
Nothing in nncgraph is changed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_training as bench  # noqa: E402

STEPS = ("shuffle+slice", "feed", "learning_rate", "set_learning_rate", "zero_grad", "forward", "backward",
         "update", "sample_costs", "sample_errors")


def build_nncgraph():
    import nnabla as nn

    from nncgraph.compile.context import make_context
    from nncgraph.compile.nnabla_graph import compile_graph
    from nncgraph.graph.ir import build_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive
    from nncgraph.project.load import load_project
    from nncgraph.train.data_binding import bind_dataset
    from nncgraph.train.evaluation import keep_monitored_outputs
    from nncgraph.train.optimizer import base_learning_rate, make_solver
    from nncgraph.train.trainer import seed_everything

    project = load_project(bench.PROJECT)
    spec = project.training
    graph = build_graph(spec.network, project.networks[spec.network])
    inferred = {v: infer(derive(graph, v), v) for v in ("training", "validation")}
    train_data = bind_dataset(project, "training", inferred["validation"])
    nn.set_default_context(make_context(project.context))
    nn.clear_parameters()
    seed_everything(spec.seed)
    trainer_graph = compile_graph(inferred["training"], spec.batch_size)
    monitor_graph = compile_graph(inferred["validation"], spec.batch_size)
    keep_monitored_outputs(trainer_graph)
    keep_monitored_outputs(monitor_graph)
    solver = make_solver(spec.optimizer)
    solver.set_parameters(nn.get_parameters())
    return project, spec, trainer_graph, solver, train_data, base_learning_rate(spec.optimizer)


def time_nncgraph(iterations: int) -> dict:
    from nncgraph.train.evaluation import sample_costs, sample_errors
    from nncgraph.train.schedule import learning_rate

    project, spec, g, solver, train_data, base_lr = build_nncgraph()
    feeds = [(var, train_data[name]) for name, var in g.inputs.items()]
    n, batch = len(feeds[0][1]), spec.batch_size
    per_epoch = -(-n // batch)
    rng = np.random.RandomState(spec.seed)
    t = dict.fromkeys(STEPS, 0.0)
    clock = time.perf_counter
    cost_sum = err_sum = 0.0
    total0 = clock()
    for i in range(iterations):
        it = i % per_epoch
        a = clock()
        if it == 0:
            order = rng.permutation(n)
            order = np.concatenate([order, order[:per_epoch * batch - n]])
        idx = order[it * batch:(it + 1) * batch]
        b = clock(); t["shuffle+slice"] += b - a
        for var, array in feeds:
            var.d = array[idx]
        a = clock(); t["feed"] += a - b
        lr = learning_rate(spec.lr_scheduler, base_lr, i / per_epoch, spec.max_epoch)
        b = clock(); t["learning_rate"] += b - a
        solver.set_learning_rate(lr)
        a = clock(); t["set_learning_rate"] += a - b
        solver.zero_grad()
        b = clock(); t["zero_grad"] += b - a
        g.loss.forward(clear_no_need_grad=True)
        a = clock(); t["forward"] += a - b
        g.loss.backward(clear_buffer=True)
        b = clock(); t["backward"] += b - a
        solver.update()
        a = clock(); t["update"] += a - b
        fresh = min(batch, n - it * batch)
        cost_sum += float(sample_costs(g)[:fresh].sum())
        b = clock(); t["sample_costs"] += b - a
        batch_data = {name: var.d for name, var in g.inputs.items()}
        err_sum += float(sample_errors(g, batch_data)[:fresh].sum())
        a = clock(); t["sample_errors"] += a - b
    t["total"] = clock() - total0
    return t


def time_hand(iterations: int, train: dict) -> dict:
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.solvers as S
    from nnabla.ext_utils import get_extension_context

    nn.set_default_context(get_extension_context("cpu", type_config="float"))
    nn.clear_parameters()
    np.random.seed(0)
    nn.random.seed(0)
    x = nn.Variable((64, 1, 28, 28))
    y = nn.Variable((64, 1))
    loss = F.mean(F.categorical_cross_entropy(bench.lenet(x), y, axis=1))
    solver = S.Adam(alpha=0.001)
    solver.set_parameters(nn.get_parameters())
    xs, ys = train["x"], train["y"]
    n, batch = len(xs), 64
    per_epoch = -(-n // batch)
    rng = np.random.RandomState(0)
    t = dict.fromkeys(STEPS, 0.0)
    clock = time.perf_counter
    total0 = clock()
    for i in range(iterations):
        it = i % per_epoch
        a = clock()
        if it == 0:
            order = rng.permutation(n)
            order = np.concatenate([order, order[:per_epoch * batch - n]])
        idx = order[it * batch:(it + 1) * batch]
        b = clock(); t["shuffle+slice"] += b - a
        x.d = xs[idx]
        y.d = ys[idx]
        a = clock(); t["feed"] += a - b
        solver.zero_grad()
        b = clock(); t["zero_grad"] += b - a
        loss.forward(clear_no_need_grad=True)
        a = clock(); t["forward"] += a - b
        loss.backward(clear_buffer=True)
        b = clock(); t["backward"] += b - a
        solver.update()
        a = clock(); t["update"] += a - b
    t["total"] = clock() - total0
    return t


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=630, help="per round (63 = one epoch)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bench._quiet()
    import nnabla  # noqa: F401
    bench._quiet()
    train, _ = bench.load_arrays()
    res = {"nncgraph": [], "hand": []}
    for r in range(args.rounds):
        for which in (("nncgraph", "hand") if r % 2 == 0 else ("hand", "nncgraph")):
            res[which].append(time_nncgraph(args.iterations) if which == "nncgraph"
                              else time_hand(args.iterations, train))
    k = args.iterations
    print(f"ms per iteration, median of {args.rounds} rounds x {k} iterations")
    print(f"{'step':20s} {'nncgraph':>9s} {'hand':>9s} {'diff':>9s}")
    for step in STEPS + ("total",):
        a = statistics.median(t[step] for t in res["nncgraph"]) / k * 1e3
        b = statistics.median(t[step] for t in res["hand"]) / k * 1e3
        print(f"{step:20s} {a:9.3f} {b:9.3f} {a - b:+9.3f}")
    untimed = [statistics.median(t["total"] - sum(t[s] for s in STEPS) for t in res[w]) / k * 1e3
               for w in ("nncgraph", "hand")]
    print(f"{'(loop/timer)':20s} {untimed[0]:9.3f} {untimed[1]:9.3f} {untimed[0] - untimed[1]:+9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
