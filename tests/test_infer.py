"""`nncgraph infer` on real runs: the same predictions as `evaluate`, from images, folders and CSVs."""
from __future__ import annotations

import csv
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, tiny_project, write_digits

# most tests read one run, trained once for the module by the CLI
pytestmark = pytest.mark.e2e

LABELS = ["left", "middle", "right"]


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def evaluated(run, model="last"):
    """{image path: (top1 label, top1 probability, [(label, p)] up to 3)} from evaluate's output_result.csv."""
    status, _, err = run_cli("evaluate", run, "--model", model)
    assert status == 0, err
    rows = read_rows(os.path.join(run, "evaluation", "output_result.csv"))
    at = rows[0].index("top1")
    k = (len(rows[0]) - at) // 2     # fewer than 3 classes: fewer columns
    return {r[0]: (r[at], float(r[at + 1]), [(r[at + 2 * j], float(r[at + 2 * j + 1])) for j in range(k)])
            for r in rows[1:]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("infer")
    train = write_digits(str(folder / "train"), n=48, seed=1)
    valid = write_digits(str(folder / "valid"), n=20, seed=2)
    for data in (train, valid):
        with open(os.path.join(os.path.dirname(data), "labels.txt"), "w") as f:
            f.write("\n".join(LABELS) + "\n")
    project = tiny_project(str(folder), train, valid, epochs=2)
    run = str(folder / "run")
    status, _, err = run_cli("run", project, "-o", run)
    assert status == 0, err
    return run, os.path.dirname(valid), evaluated(run)


def test_images_give_evaluates_labels_and_probabilities(trained):
    run, valid, expected = trained
    images = [os.path.join(valid, "img", f"{i}.png") for i in range(10)]
    status, out, err = run_cli("infer", run, *images, "--model", "last")
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 10
    for image, line in zip(images, lines):
        shown, label, probability = line.split("\t")
        want = expected[os.path.relpath(image, valid)]
        assert shown == image and label == want[0] and label in LABELS
        assert abs(float(probability) - want[1]) <= 1e-5

    status, out, err = run_cli("infer", run, *images, "--model", "last", "--json")
    assert status == 0, err
    results = json.loads(out)
    assert [r["input"] for r in results] == images
    for r in results:
        want = expected[os.path.relpath(r["input"], valid)]
        assert r["label"] == want[0] and r["label"] == LABELS[r["index"]]
        assert abs(r["probability"] - want[1]) <= 1e-5
        assert [label for label, _ in r["top"]] == [label for label, _ in want[2]]
        np.testing.assert_allclose([p for _, p in r["top"]], [p for _, p in want[2]], atol=1e-5)


def test_a_folder_is_read_recursively_in_sorted_order(trained, tmp_path):
    run, valid, expected = trained
    folder = tmp_path / "images"
    shutil.copytree(os.path.join(valid, "img"), folder / "top")
    os.makedirs(folder / "top" / "nested")
    shutil.move(str(folder / "top" / "3.png"), folder / "top" / "nested" / "3.png")
    (folder / "top" / "notes.txt").write_text("not an image: skipped inside a folder")
    status, out, err = run_cli("infer", run, folder, "--model", "last", "--json")
    assert status == 0, err
    results = json.loads(out)
    assert len(results) == 20
    shown = [os.path.relpath(r["input"], folder / "top") for r in results]
    assert sorted(shown) == sorted(f"{i}.png" if i != 3 else "nested/3.png" for i in range(20))
    top_level = [s for s in shown if "/" not in s]
    assert top_level == sorted(top_level) and shown[-1] == "nested/3.png"
    for r, name in zip(results, shown):
        want = expected[os.path.join("img", os.path.basename(name))]
        assert r["label"] == want[0] and abs(r["probability"] - want[1]) <= 1e-5


def test_a_dataset_csv_and_other_image_sizes(trained, tmp_path):
    run, valid, expected = trained
    status, out, err = run_cli("infer", run, os.path.join(valid, "data.csv"), "--model", "last")
    assert status == 0, err
    lines = [line.split("\t") for line in out.splitlines()]
    assert len(lines) == 20
    for shown, label, probability in lines:
        want = expected[os.path.relpath(shown, valid)]
        assert label == want[0] and abs(float(probability) - want[1]) <= 1e-5
    # any size and format: converted to the Input's 1 x 8 x 8 as a new dataset would be
    big = tmp_path / "big.jpg"
    Image.open(os.path.join(valid, "img", "0.png")).convert("RGB").resize((32, 24)).save(big)
    status, out, err = run_cli("infer", run, big)
    assert status == 0, err
    shown, label, probability = out.strip().split("\t")
    assert shown == str(big) and label in LABELS and 0 < float(probability) <= 1


def test_an_unreadable_image_is_named_in_one_line(trained, tmp_path):
    run, valid, _ = trained
    bad = tmp_path / "broken.png"
    bad.write_text("this is not a PNG")
    status, out, err = run_cli("infer", run, os.path.join(valid, "img", "0.png"), bad)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(bad) in err and "Fix:" in err, err
    status, _, err = run_cli("infer", run, tmp_path / "absent.png")
    assert status == 2 and "absent.png" in err and len(err.strip().splitlines()) == 1


def test_dataset_create_settings_are_reused(tmp_path):
    """Images of other sizes are padded to the dataset's size by `dataset create`'s own code (report.json)."""
    rng = np.random.RandomState(0)
    source = tmp_path / "source"
    for label, cls in enumerate(("dark", "light")):
        os.makedirs(source / cls)
        for i in range(14):
            w, h = (12, 8) if i % 2 else (9, 13)       # neither square nor the target size
            pixels = rng.randint(0, 60, (h, w, 3)) + 150 * label
            Image.fromarray(pixels.astype(np.uint8), "RGB").save(source / cls / f"{i}.png")
    data = tmp_path / "data"
    status, _, err = run_cli("dataset", "create", source, "-o", data, "--width", 8, "--height", 8, "--channels", 1,
                             "--mode", "pad", "--split", "70,30", "--workers", 1)
    assert status == 0, err
    project = tiny_project(str(tmp_path), str(data / "train.csv"), str(data / "valid.csv"), network="""
        network:
          - {type: Input, name: x, size: [1, 8, 8]}
          - {type: Affine, out_shape: 2}
          - {type: SoftmaxCrossEntropy, target: y}
        """)
    run = str(tmp_path / "run")
    assert run_cli("run", project, "-o", run)[0] == 0
    expected = evaluated(run)
    # the created PNGs keep the source's class folder and name
    sources = [str(source / os.path.relpath(p, "images")) for p in expected]
    status, out, err = run_cli("infer", run, *sources, "--model", "last", "--json")
    assert status == 0, err
    results = json.loads(out)
    assert len(results) == len(expected) > 0
    for r, created in zip(results, expected):
        assert r["label"] in ("dark", "light") and r["label"] == expected[created][0]
        assert len(r["top"]) == 2
        assert abs(r["probability"] - expected[created][1]) <= 1e-5
