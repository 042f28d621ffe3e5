"""Data loading throughput: nncgraph's decoded-data cache against nnabla's CSV data iterator.

    python benchmarks/bench_loader.py [--repeats R] [--out PATH]

Two datasets of the same 5,000 digits (nncgraph's bundled MNIST sample), each
with a CSV `x:image,y:label`: 28x28 gray PNG as written by
`write_mnist_sample`, and the digits upscaled to 128x128 RGB (bilinear) and
saved as JPEG quality 90. For each, in one process, images/s = 5,000 / seconds:

  pillow 1-thread  `np.asarray(Image.open(p))` for every file: the physical reference
  nncgraph cold    `load_csv_dataset` with a fresh cache folder (decode in worker
                   processes, write the cache), then one epoch
  nncgraph warm    `load_csv_dataset` again (parse the CSV, stat every file, open the
                   memory maps), then one epoch
  nnabla cold      `data_iterator_csv_dataset(csv, batch_size=64, shuffle=True,
                   with_memory_cache=False, with_file_cache=True, normalize=True,
                   cache_dir=<fresh>)`: its constructor decodes every file and writes
                   its cache; then one epoch of `next()`
  nnabla warm      the better of: a second epoch of that iterator, and a new
                   `data_iterator_cache` on its cache folder plus one epoch

An epoch reads every sample once in shuffled batches of 64 as float32 values
(nncgraph: `to_float32(array[idx], scale)`, as its trainer feeds; nnabla: its
`next()`, which returns float64 batches, 79 per epoch). Cold runs get fresh
cache folders; the OS page cache is warm for every measurement (the files were
just written and read; dropping it needs root). Each figure is the median of
--repeats rounds.
"""
from __future__ import annotations

import argparse
import datetime
import logging
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

from bench_report import write_report
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

BATCH = 64
TARGETS = {"cold": 1.5, "warm": 1.0}


def _quiet() -> None:
    logging.getLogger("nnabla").setLevel(logging.WARNING)


def folder_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


# -- datasets -------------------------------------------------------------------
def make_datasets(tmp: str) -> dict:
    from nncgraph.data.mnist_sample import write_mnist_sample

    gray_dir = os.path.join(tmp, "gray")
    info = write_mnist_sample(gray_dir)
    rows = []
    for split in ("train_csv", "valid_csv"):
        with open(info[split], encoding="utf-8") as f:
            rows += f.read().splitlines()[1:]
    gray_csv = os.path.join(gray_dir, "all.csv")
    with open(gray_csv, "w", encoding="utf-8") as f:
        f.write("x:image,y:label\n" + "\n".join(rows) + "\n")

    rgb_dir = os.path.join(tmp, "rgb")
    rgb_rows = []
    for row in rows:
        rel, label = row.split(",")
        out = os.path.join("images", os.path.splitext(rel)[0].split("/", 1)[1] + ".jpg")
        os.makedirs(os.path.join(rgb_dir, os.path.dirname(out)), exist_ok=True)
        with Image.open(os.path.join(gray_dir, rel)) as img:
            big = img.convert("RGB").resize((128, 128), Image.BILINEAR)
        big.save(os.path.join(rgb_dir, out), quality=90)
        rgb_rows.append(f"{out},{label}")
    rgb_csv = os.path.join(rgb_dir, "all.csv")
    with open(rgb_csv, "w", encoding="utf-8") as f:
        f.write("x:image,y:label\n" + "\n".join(rgb_rows) + "\n")
    return {"28x28 gray PNG": gray_csv, "128x128 RGB JPEG": rgb_csv}


def file_paths(csv_path: str) -> list:
    folder = os.path.dirname(csv_path)
    with open(csv_path, encoding="utf-8") as f:
        return [os.path.join(folder, line.split(",")[0]) for line in f.read().splitlines()[1:]]


# -- measurements ---------------------------------------------------------------
def run_pillow(paths: list) -> float:
    t0 = time.perf_counter()
    for p in paths:
        np.asarray(Image.open(p))
    return time.perf_counter() - t0


def nncgraph_epoch(ds, rng) -> None:
    from nncgraph.data.csv_dataset import to_float32

    n = len(ds)
    order = rng.permutation(n)
    feeds = [(ds.variables[name], ds.scales[name]) for name in ("x", "y")]
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        for array, scale in feeds:
            to_float32(array[idx], scale)


def run_nncgraph(csv_path: str, cache_dir: str) -> dict:
    from nncgraph.data.cache import CACHE_DIR_ENV
    from nncgraph.data.csv_dataset import load_csv_dataset

    os.environ[CACHE_DIR_ENV] = cache_dir
    rng = np.random.RandomState(0)
    try:
        t0 = time.perf_counter()
        ds = load_csv_dataset(csv_path)
        t1 = time.perf_counter()
        nncgraph_epoch(ds, rng)
        t2 = time.perf_counter()
        assert ds.cache_folder and ds.variables["x"].dtype == np.uint8
        del ds
        t3 = time.perf_counter()
        ds = load_csv_dataset(csv_path)
        t4 = time.perf_counter()
        nncgraph_epoch(ds, rng)
        t5 = time.perf_counter()
    finally:
        os.environ.pop(CACHE_DIR_ENV, None)
    return {"cold": t2 - t0, "cold_load": t1 - t0, "warm": t5 - t3, "warm_load": t4 - t3,
            "cache_bytes": folder_bytes(cache_dir)}


def run_nnabla(csv_path: str, cache_dir: str) -> dict:
    from nnabla.utils.data_iterator import data_iterator_cache, data_iterator_csv_dataset

    t0 = time.perf_counter()
    it = data_iterator_csv_dataset(csv_path, batch_size=BATCH, shuffle=True, with_memory_cache=False,
                                   with_file_cache=True, normalize=True, cache_dir=cache_dir)
    t1 = time.perf_counter()
    batches = math.ceil(it.size / BATCH)
    for _ in range(batches):
        x, _ = it.next()
    t2 = time.perf_counter()
    for _ in range(batches):
        it.next()
    t3 = time.perf_counter()
    it.close()
    dtype = str(x.dtype)
    t4 = time.perf_counter()
    again = data_iterator_cache(cache_dir, batch_size=BATCH, shuffle=True, with_memory_cache=False,
                                normalize=True)
    for _ in range(batches):
        again.next()
    t5 = time.perf_counter()
    again.close()
    return {"cold": t2 - t0, "cold_construct": t1 - t0, "warm_second_epoch": t3 - t2,
            "warm_new_iterator": t5 - t4, "warm": min(t3 - t2, t5 - t4), "batch_dtype": dtype,
            "cache_bytes": folder_bytes(cache_dir)}


# -- report ---------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "loader.json"))
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    _quiet()
    import nnabla  # noqa: F401  (import, and its INFO line, before anything is timed)
    _quiet()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp:
        print("writing the datasets ...", file=sys.stderr)
        datasets = make_datasets(tmp)
        for label, csv_path in datasets.items():
            paths = file_paths(csv_path)
            n = len(paths)
            run_pillow(paths)       # the page cache now holds every file
            rounds = {"pillow": [], "nncgraph": [], "nnabla": []}
            for r in range(args.repeats):
                rounds["pillow"].append(run_pillow(paths))
                for which, fn in (("nncgraph", run_nncgraph), ("nnabla", run_nnabla)):
                    cache_dir = tempfile.mkdtemp(prefix=f"{which}-", dir=tmp)
                    rounds[which].append(fn(csv_path, cache_dir))
                    shutil.rmtree(cache_dir)
                last = rounds["nncgraph"][-1], rounds["nnabla"][-1]
                print(f"  {label} round {r + 1}: pillow {rounds['pillow'][-1]:.2f}s  "
                      f"nncgraph cold {last[0]['cold']:.2f}s warm {last[0]['warm']:.3f}s  "
                      f"nnabla cold {last[1]['cold']:.2f}s warm {last[1]['warm']:.3f}s", file=sys.stderr)

            def rate(seconds: list) -> float:
                return n / statistics.median(seconds)

            speeds = {
                "pillow_1_thread": rate(rounds["pillow"]),
                "nncgraph_cold": rate([m["cold"] for m in rounds["nncgraph"]]),
                "nncgraph_warm": rate([m["warm"] for m in rounds["nncgraph"]]),
                "nnabla_cold": rate([m["cold"] for m in rounds["nnabla"]]),
                "nnabla_warm": rate([m["warm"] for m in rounds["nnabla"]]),
            }
            results[label] = {
                "csv_rows": n, "images_per_second": speeds,
                "ratios": {
                    "nncgraph_cold_over_nnabla_cold": speeds["nncgraph_cold"] / speeds["nnabla_cold"],
                    "nncgraph_warm_over_nnabla_warm": speeds["nncgraph_warm"] / speeds["nnabla_warm"],
                    **{f"{k}_over_pillow": speeds[k] / speeds["pillow_1_thread"]
                       for k in ("nncgraph_cold", "nncgraph_warm", "nnabla_cold", "nnabla_warm")},
                },
                "rounds_seconds": rounds,
            }

    print(f"Loader throughput, {n:,} images per dataset, shuffled epoch in batches of {BATCH}, "
          f"images/s (median of {args.repeats}); OS page cache warm for all, {os.cpu_count()} CPUs")
    head = ["pillow 1-thr", "nncg cold", "nncg warm", "nnabla cold", "nnabla warm"]
    print(f"{'':18s}" + "".join(f"{h:>13s}" for h in head))
    for label, res in results.items():
        s = res["images_per_second"]
        print(f"{label:18s}" + "".join(f"{s[k]:13,.0f}" for k in
                                       ("pillow_1_thread", "nncgraph_cold", "nncgraph_warm",
                                        "nnabla_cold", "nnabla_warm")))
    print(f"{'ratios':18s}" + "".join(f"{h:>13s}" for h in
                                      ["cold/nnabla", "warm/nnabla", "cold/pillow", "warm/pillow"]))
    for label, res in results.items():
        q = res["ratios"]
        print(f"{label:18s}" + "".join(f"{q[k]:13.2f}" for k in (
            "nncgraph_cold_over_nnabla_cold", "nncgraph_warm_over_nnabla_warm",
            "nncgraph_cold_over_pillow", "nncgraph_warm_over_pillow")))
    print(f"targets: nncgraph cold / nnabla cold >= {TARGETS['cold']}, "
          f"nncgraph warm / nnabla warm >= {TARGETS['warm']}")
    for label, res in results.items():
        r = res["rounds_seconds"]
        nc = statistics.median(m["cache_bytes"] for m in r["nncgraph"])
        nb = statistics.median(m["cache_bytes"] for m in r["nnabla"])
        print(f"{label}: cache on disk nncgraph {nc / 2**20:.1f} MiB, nnabla {nb / 2**20:.1f} MiB; "
              f"nncgraph load only: cold {statistics.median(m['cold_load'] for m in r['nncgraph']):.3f}s, "
              f"warm {statistics.median(m['warm_load'] for m in r['nncgraph']):.3f}s")

    report = {
        "benchmark": "data loading throughput, nncgraph decoded-data cache vs nnabla data_iterator_csv_dataset",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {"repeats": args.repeats, "batch_size": BATCH, "statistic": "median",
                     "page_cache": "warm for every measurement (files just written and read)",
                     "nncgraph_workers": os.cpu_count(),
                     "nnabla_iterator": "data_iterator_csv_dataset(shuffle=True, with_memory_cache=False, "
                                        "with_file_cache=True, normalize=True, cache_dir=fresh)",
                     "nnabla_warm": "better of its second epoch and a new data_iterator_cache + one epoch"},
        "targets": {"nncgraph_cold_over_nnabla_cold": TARGETS["cold"],
                    "nncgraph_warm_over_nnabla_warm": TARGETS["warm"]},
        "datasets": results,
    }
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
