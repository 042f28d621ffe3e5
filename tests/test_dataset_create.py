"""`dataset create`: class folders of real image files -> an NNC dataset."""
from __future__ import annotations

import argparse
import csv
import json
import os

import numpy as np
import pytest
from PIL import ExifTags, Image

from conftest import run_cli, tiny_project
from nncgraph.cli.dataset_commands import add_create_parser, cmd_create
from nncgraph.data import create
from nncgraph.data.create import create_dataset
from nncgraph.data.csv_dataset import load_csv_dataset
from nncgraph.errors import UserError

RNG = np.random.RandomState(0)
# Readable images per class in the tree below, and their 80/20 split.
COUNTS = {"bird": {"train": 4, "valid": 1}, "cat": {"train": 8, "valid": 2}, "dog": {"train": 4, "valid": 1}}


def save(root, rel, img: Image.Image, **kw) -> str:
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)
    return path


def noise(w, h, mode="RGB") -> Image.Image:
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    return Image.fromarray(RNG.randint(0, 256, shape).astype(np.uint8), mode)


def make_tree(root) -> str:
    """3 classes; mixed sizes and formats, plus a corrupt PNG and a text file."""
    src = os.path.join(str(root), "src")
    save(src, "bird/b0.png", noise(30, 20))
    save(src, "bird/b1.png", noise(50, 50))
    save(src, "bird/b2.gif", noise(40, 30).convert("P"))
    save(src, "bird/b3.tif", noise(20, 40))
    save(src, "bird/b4.webp", noise(64, 48))
    with open(os.path.join(src, "bird/broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + RNG.bytes(200))
    with open(os.path.join(src, "bird/notes.txt"), "w") as f:
        f.write("not an image\n")
    for i, (w, h) in enumerate([(60, 45), (33, 77), (100, 20), (24, 24), (45, 60)]):
        save(src, f"cat/c{i}.jpg", noise(w, h), quality=90)
    save(src, "cat/dup.jpg", noise(40, 40))
    save(src, "cat/dup.png", noise(20, 30))    # same stem: the names must not clash
    save(src, "cat/c.bmp", noise(35, 25))
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 0)       # transparent red: must come out black
    rgba[:, 20:] = (0, 255, 0, 255)
    save(src, "cat/rgba.png", Image.fromarray(rgba, "RGBA"))
    # Stored 40x30, top half white; orientation 6 = shown turned 90 degrees clockwise,
    # so the white half is on the right of the 30x40 image a viewer shows.
    stored = np.zeros((30, 40, 3), np.uint8)
    stored[:15] = 255
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    save(src, "cat/rotated.jpg", Image.fromarray(stored), exif=exif, quality=95)
    save(src, "dog/gray16.png", Image.fromarray(np.full((30, 40), 257 * 200, np.uint16)))
    save(src, "dog/d0.jpg", noise(50, 40).convert("CMYK"))
    save(src, "dog/d1.png", noise(16, 16, "L"))
    save(src, "dog/d2.bmp", noise(70, 30))
    save(src, "dog/sub/d3.png", noise(25, 25))   # nested folders still belong to the class
    return src


def read_csv(path) -> list[tuple[str, int]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["x:image", "y:label"]
    return [(p, int(y)) for p, y in rows[1:]]


def pixels(out, rel) -> np.ndarray:
    with Image.open(os.path.join(out, rel)) as img:
        return np.asarray(img)


@pytest.mark.slow
@pytest.mark.parametrize("channels,mode", [(3, "trim"), (1, "pad")])
def test_create_mixed_tree(tmp_path, channels, mode):
    src, out = make_tree(tmp_path), str(tmp_path / "out")
    report = create_dataset(src, out, width=32, height=24, channels=channels, mode=mode, split="80,20",
                            seed=3, workers=2)

    assert sorted(os.listdir(out)) == ["images", "labels.txt", "report.json", "train.csv", "valid.csv"]
    with open(os.path.join(out, "labels.txt")) as f:
        assert f.read() == "bird\ncat\ndog\n"
    assert sorted(os.listdir(os.path.join(out, "images", "cat"))) == sorted(
        [f"c{i}.png" for i in range(5)] + ["c.png", "dup.png", "dup_png.png", "rgba.png", "rotated.png"])
    with open(os.path.join(out, "report.json")) as f:
        assert json.load(f) == report
    assert report["counts"] == COUNTS and report["total"] == {"train": 16, "valid": 4}
    assert report["settings"] == {"width": 32, "height": 24, "channels": channels, "mode": mode,
                                  "split": [80, 20], "seed": 3}
    skipped = {s["file"]: s["reason"] for s in report["skipped"]}
    assert sorted(skipped) == ["bird/broken.png", "bird/notes.txt"]
    assert "corrupt" in skipped["bird/broken.png"] or "not a readable image" in skipped["bird/broken.png"]
    assert skipped["bird/notes.txt"] == "not an image file (extension '.txt')"

    train, valid = read_csv(os.path.join(out, "train.csv")), read_csv(os.path.join(out, "valid.csv"))
    assert not {p for p, _ in train} & {p for p, _ in valid}
    for name, rows in (("train", train), ("valid", valid)):
        for path, label in rows:    # label matches the class folder the image sits in
            assert path.split("/")[:2] == ["images", ["bird", "cat", "dog"][label]]
        per_class = {c: sum(1 for _, y in rows if y == i) for i, c in enumerate(["bird", "cat", "dog"])}
        assert per_class == {c: n[name] for c, n in COUNTS.items()}
    for path, _ in train + valid:
        with Image.open(os.path.join(out, path)) as img:
            assert (img.size, img.mode) == ((32, 24), "RGB" if channels == 3 else "L")

    gray = pixels(out, "images/dog/gray16.png")     # 16-bit 51400 -> 8-bit 200, not clipped to 255
    assert gray.min() == gray.max() == 200
    data = load_csv_dataset(os.path.join(out, "train.csv"))
    assert data.variables["x"].shape == (16, channels, 24, 32)
    assert data.variables["y"].shape == (16, 1)
    if channels == 1:
        return
    rgba = pixels(out, "images/cat/rgba.png")       # same aspect as 32x24: no crop
    assert rgba[12, 4].tolist() == [0, 0, 0] and rgba[12, 28].tolist() == [0, 255, 0]
    rotated = pixels(out, "images/cat/rotated.png").mean(axis=2)
    # Shown upright the white half is on the right; unrotated it would be at the top.
    assert rotated[3, 2] < 40 and rotated[20, 29] > 215


@pytest.mark.slow
def test_cli_prints_summary_and_replaces_own_output(tmp_path, capsys):
    src, out = make_tree(tmp_path), str(tmp_path / "out")
    parser = argparse.ArgumentParser()
    add_create_parser(parser.add_subparsers(dest="command").add_parser("dataset").add_subparsers())
    argv = ["dataset", "create", src, "-o", out, "--width", "16", "--height", "16", "--channels", "1",
            "--mode", "resize", "--split", "80,20", "--workers", "1"]
    assert cmd_create(parser.parse_args(argv)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("wrote 20 images of 3 classes (16 train, 4 valid) as 16x16 gray (resize) to ")
    assert lines[0].endswith("; 2 files skipped:")
    assert lines[1].startswith("  skipped bird/broken.png: ")
    assert lines[2] == "  skipped bird/notes.txt: not an image file (extension '.txt')"
    assert len(lines) == 3
    # A second run replaces the first (it has report.json) and leaves no temp folder behind.
    assert cmd_create(parser.parse_args(argv[:-1] + ["2"])) == 0
    assert sorted(os.listdir(tmp_path)) == ["out", "src"]


def one_class(tmp_path, name, img: Image.Image) -> str:
    save(tmp_path / "src", f"a/{name}", img)
    return str(tmp_path / "src")


@pytest.mark.parametrize("width,height,channels,rows,cols", [
    (32, 32, 1, slice(8, 24), slice(0, 32)),    # 40x20 -> 32x16, 8 black rows above and below
    (48, 16, 3, slice(0, 16), slice(8, 40)),    # 40x20 -> 32x16, 8 black columns left and right
])
def test_pad_bands(tmp_path, width, height, channels, rows, cols):
    src = one_class(tmp_path, "white.png", Image.new("RGB", (40, 20), (255, 255, 255)))
    create_dataset(src, tmp_path / "out", width=width, height=height, channels=channels, mode="pad", split=100)
    img = pixels(tmp_path / "out", "images/a/white.png")
    assert img.shape[:2] == (height, width)
    expected = np.zeros((height, width), np.uint8)
    expected[rows, cols] = 255
    assert np.array_equal(img if channels == 1 else img[..., 0], expected)
    if channels == 3:
        assert np.array_equal(img[..., 0], img[..., 2])


def test_trim_and_resize_geometry(tmp_path):
    sides = np.zeros((20, 40), np.uint8)
    sides[:, 10:30] = 255       # trim to a square keeps exactly the white middle 20x20
    src = one_class(tmp_path, "sides.png", Image.fromarray(sides))
    create_dataset(src, tmp_path / "trim", width=32, height=32, channels=1, mode="trim", split=100)
    trimmed = pixels(tmp_path / "trim", "images/a/sides.png")
    assert trimmed.shape == (32, 32) and trimmed.min() > 200 and (trimmed[:, 4:28] == 255).all()

    create_dataset(src, tmp_path / "resize", width=32, height=32, channels=1, mode="resize", split=100)
    stretched = pixels(tmp_path / "resize", "images/a/sides.png")   # x 10..30 of 40 -> 8..24 of 32
    assert stretched.shape == (32, 32) and (stretched == stretched[0]).all()
    assert stretched[0, :7].max() < 10 and stretched[0, 9:23].min() > 245 and stretched[0, 25:].max() < 10
    with open(tmp_path / "resize" / "train.csv") as f:
        assert f.read() == "x:image,y:label\nimages/a/sides.png,0\n"
    assert not os.path.exists(tmp_path / "resize" / "valid.csv")


@pytest.mark.slow
def test_seed_and_workers_are_deterministic(tmp_path):
    src = make_tree(tmp_path)
    kw = dict(width=20, height=20, channels=3, mode="trim", split="80,20")

    def files(out):
        return {os.path.relpath(os.path.join(d, n), out): open(os.path.join(d, n), "rb").read()
                for d, _, names in os.walk(out) for n in names}

    a = files(create_dataset(src, tmp_path / "a", seed=7, workers=1, **kw) and tmp_path / "a")
    b = files(create_dataset(src, tmp_path / "b", seed=7, workers=2, **kw) and tmp_path / "b")
    c = files(create_dataset(src, tmp_path / "c", seed=8, workers=2, **kw) and tmp_path / "c")
    assert a == b
    assert c["train.csv"] != a["train.csv"] and c["report.json"] != a["report.json"]


@pytest.mark.slow
def test_progress_bar_only_when_asked(tmp_path, capsys):
    src = make_tree(tmp_path)
    create_dataset(src, tmp_path / "a", width=8, height=8, channels=1, mode="pad", split=100, workers=1)
    assert capsys.readouterr().err == ""
    create_dataset(src, tmp_path / "b", width=8, height=8, channels=1, mode="pad", split=100,
                   workers=1, progress=True)
    assert "21/21" in capsys.readouterr().err


def expect_error(*fragments, src, out, **kw) -> str:
    settings = dict(width=8, height=8, channels=1, mode="pad", split="80,20", workers=1)
    settings.update(kw)
    with pytest.raises(UserError) as info:
        create_dataset(src, out, **settings)
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, text
    return text


def test_bad_source_folders(tmp_path):
    out = tmp_path / "out"
    expect_error("does not exist", src=tmp_path / "nowhere", out=out)
    save(tmp_path, "file.png", noise(4, 4))
    expect_error("is not a folder", src=tmp_path / "file.png", out=out)
    save(tmp_path, "flat/top.png", noise(4, 4))     # images but no class folders
    expect_error("has no class sub-folders", "Fix: put each class", src=tmp_path / "flat", out=out)
    for i in range(5):
        save(tmp_path, f"s/good/{i}.png", noise(4, 4))
    os.makedirs(tmp_path / "s" / "empty")
    expect_error("class 'empty' has no image file", src=tmp_path / "s", out=out)
    os.rmdir(tmp_path / "s" / "empty")
    with open(tmp_path / "s" / "good" / "readme.txt", "w") as f:
        f.write("hi")
    with open(tmp_path / "s" / "junk.md", "w") as f:
        f.write("top-level file: skipped, not an error")
    save(tmp_path, "s/zz/photo.jpg", noise(4, 4))   # the extension says image, the bytes do not
    with open(tmp_path / "s" / "zz" / "photo.jpg", "wb") as f:
        f.write(b"\xff\xd8\xff\xe0garbage")
    expect_error("class 'zz' has no readable image", "zz/photo.jpg", src=tmp_path / "s", out=out, split=100)
    assert sorted(os.listdir(tmp_path)) == ["file.png", "flat", "s"]    # no output, no temp folder


def test_bad_split(tmp_path):
    for i in range(12):
        save(tmp_path, f"src/many/{i}.png", noise(4, 4))
    for i in range(3):
        save(tmp_path, f"src/few/{i}.png", noise(4, 4))
    src, out = tmp_path / "src", tmp_path / "out"
    expect_error("summing to 100", "90,20", src=src, out=out, split="90,20")
    expect_error("summing to 100", src=src, out=out, split="0,100")
    expect_error("summing to 100", src=src, out=out, split="50,30,20")
    expect_error("whole percentages", src=src, out=out, split="90.5,9.5")
    text = expect_error("class 'few' (3 image files) would have no validation sample",
                        "at least 5 per class", "--split 83,17", src=src, out=out, split="90,10")
    assert "Fix: add images to 'few'" in text
    with open(src / "few" / "2.png", "wb") as f:   # 2 readable: found after decoding
        f.write(b"\x89PNG\r\n\x1a\nbroken")
    expect_error("class 'few' (2 readable images) would have no validation sample", "--split 75,25",
                 src=src, out=out, split="80,20")
    os.remove(src / "few" / "2.png")
    save(tmp_path, "src/few/2.png", noise(4, 4))
    report = create_dataset(src, out, width=8, height=8, channels=1, mode="pad", split="70,30", workers=1)
    assert report["counts"] == {"few": {"train": 2, "valid": 1}, "many": {"train": 8, "valid": 4}}


def test_bad_settings_and_outputs(tmp_path):
    for i in range(4):
        save(tmp_path, f"src/a/{i}.png", noise(6, 6))
    src, out = tmp_path / "src", tmp_path / "out"
    expect_error("--width must be", src=src, out=out, width=0)
    expect_error("--height must be", src=src, out=out, height=-1)
    expect_error("--channels must be 1 (gray) or 3", src=src, out=out, channels=2)
    expect_error("--mode must be one of trim, pad, resize", src=src, out=out, mode="stretch")
    expect_error("--workers must be at least 1", src=src, out=out, workers=0)
    expect_error("overlap", src=src, out=src / "out")
    os.makedirs(out)
    with open(out / "keep.txt", "w") as f:
        f.write("mine")
    expect_error("no report.json", "refusing to replace", src=src, out=out)
    assert os.listdir(out) == ["keep.txt"]
    with open(tmp_path / "file", "w") as f:
        f.write("x")
    expect_error("is a file, not a folder", src=src, out=tmp_path / "file")


def test_interrupted_run_keeps_the_old_dataset(tmp_path, monkeypatch):
    for i in range(4):
        save(tmp_path, f"src/a/{i}.png", noise(6, 6))
    src, out = tmp_path / "src", tmp_path / "out"
    create_dataset(src, out, width=8, height=8, channels=1, mode="pad", split=100, workers=1)
    before = open(out / "report.json").read()

    def interrupt(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(create, "_write_csv", interrupt)
    with pytest.raises(KeyboardInterrupt):
        create_dataset(src, out, width=16, height=16, channels=1, mode="pad", split=100, workers=1)
    assert open(out / "report.json").read() == before
    assert sorted(os.listdir(tmp_path)) == ["out", "src"]
    with pytest.raises(KeyboardInterrupt):
        create_dataset(src, tmp_path / "new", width=16, height=16, channels=1, mode="pad", split=100, workers=1)
    assert sorted(os.listdir(tmp_path)) == ["out", "src"]


@pytest.mark.e2e
def test_created_dataset_trains_end_to_end(tmp_path):
    """Class k is bright in horizontal band k, saved as PNG, JPEG and BMP of several sizes."""
    rng = np.random.RandomState(1)
    for label, cls in enumerate(["one", "two", "three"]):
        for i in range(12):
            size = (16, 24, 32)[i % 3]
            img = rng.randint(0, 60, (size, size)).astype(np.uint8)
            img[label * size // 3:(label + 1) * size // 3] += 180
            save(tmp_path, f"src/{cls}/{i}.{('png', 'jpg', 'bmp')[i % 3]}", Image.fromarray(img))
    data = tmp_path / "data"
    create_dataset(tmp_path / "src", data, width=8, height=8, channels=1, mode="resize", split="75,25", seed=1)
    project = tiny_project(str(tmp_path), str(data / "train.csv"), str(data / "valid.csv"), epochs=3)
    status, stdout, stderr = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, stderr
    assert "validation accuracy" in stdout


@pytest.mark.e2e
def test_a_new_user_goes_from_folders_to_a_trained_run(tmp_path):
    """The issue's story through the CLI: mixed images, one corrupt file and one text file."""
    rng = np.random.RandomState(2)
    for label, cls in enumerate(["cat", "dog", "owl"]):
        for i in range(10):
            size = (20, 30, 45)[i % 3]
            img = rng.randint(0, 60, (size, size + 5, 3)).astype(np.uint8)
            img[:, label * (size + 5) // 3:(label + 1) * (size + 5) // 3] += 180
            save(tmp_path, f"photos/{cls}/{i}.{('png', 'jpg', 'bmp')[i % 3]}", Image.fromarray(img))
    (tmp_path / "photos" / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "photos" / "owl" / "notes.txt").write_text("taken at dusk")
    status, out, err = run_cli("dataset", "create", tmp_path / "photos", "-o", tmp_path / "data", "--width", "12",
                               "--height", "12", "--channels", "3", "--mode", "pad", "--split", "80,20")
    assert status == 0, err
    assert "2 files skipped" in out and "broken.jpg" in out and "notes.txt" in out
    skipped = {os.path.basename(s["file"]) for s in json.load(open(tmp_path / "data" / "report.json"))["skipped"]}
    assert skipped == {"broken.jpg", "notes.txt"}
    project = tiny_project(str(tmp_path), "data/train.csv", "data/valid.csv", epochs=4, network="""
        network:
          - {type: Input, name: x, size: [3, 12, 12]}
          - {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
          - {type: ReLU}
          - {type: Affine, out_shape: 3}
          - {type: SoftmaxCrossEntropy, target: y}
        """)
    status, out, err = run_cli("run", project, "-o", tmp_path / "run")
    assert status == 0, err
    assert "validation accuracy" in out
