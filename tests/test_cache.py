"""The decoded-data cache: hits, invalidation, exact values, worker errors, interrupted writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, tiny_project, write_digits
from nncgraph.data import cache, decode
from nncgraph.data.csv_dataset import load_csv_dataset, to_float32
from nncgraph.data.decode import FileCell
from nncgraph.errors import Location, UserError

F255 = np.float32(255.0)


def gray(folder, rel, value, size=(4, 4)):
    path = os.path.join(str(folder), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)
    return path


def digits_csv(folder, n=20, name="data.csv"):
    """n distinct 4x4 gray PNGs (pixel value 10*i + column) with label i % 3."""
    rows = ["x:image,y:label"]
    for i in range(n):
        pixels = (np.arange(16, dtype=np.uint8).reshape(4, 4) % 4 + 10 * i).astype(np.uint8)
        os.makedirs(os.path.join(str(folder), "img"), exist_ok=True)
        Image.fromarray(pixels).save(os.path.join(str(folder), "img", f"{i}.png"))
        rows.append(f"img/{i}.png,{i % 3}")
    path = os.path.join(str(folder), name)
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")
    return path


def reference(csv_path):
    """What decoding straight to float32 gives: every PNG as float32 / 255."""
    folder = os.path.dirname(csv_path)
    with open(csv_path) as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:]]
    x = np.stack([np.asarray(Image.open(os.path.join(folder, p)))[None].astype(np.float32) / F255
                  for p, _ in rows])
    return x, np.array([[float(y)] for _, y in rows], np.float32)


def cache_entries(csv_path):
    root = cache.cache_root(csv_path)
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


@pytest.fixture
def count_decodes(monkeypatch):
    """Counts in-process decodes, and refuses worker processes so none are missed."""
    calls = []
    real = decode.decode

    def counting(cell, normalize):
        calls.append(cell.row)
        return real(cell, normalize)

    def no_pool(*args, **kwargs):
        raise AssertionError("worker processes were started")

    monkeypatch.setattr(decode, "decode", counting)
    monkeypatch.setattr(decode, "ProcessPoolExecutor", no_pool)
    monkeypatch.setattr(decode, "PARALLEL_MIN_SECONDS", float("inf"))
    return calls


@pytest.fixture
def force_processes(monkeypatch):
    monkeypatch.setattr(decode, "PARALLEL_MIN_SECONDS", 0.0)
    monkeypatch.setattr(decode, "PROBE_FILES", 2)


# ---------------------------------------------------------------- hits and layout

@pytest.mark.e2e
def test_second_load_reads_the_cache_without_decoding(tmp_path, monkeypatch):
    csv_path = digits_csv(tmp_path)
    first = load_csv_dataset(csv_path)
    assert first.cache_folder == os.path.join(str(tmp_path), ".nncgraph-cache",
                                              os.path.basename(first.cache_folder))
    assert os.path.basename(first.cache_folder).startswith("data-")
    assert cache_entries(csv_path) == [os.path.basename(first.cache_folder)]

    def refuse(*args, **kwargs):
        raise AssertionError("decoded on a cache hit")

    monkeypatch.setattr(decode, "decode", refuse)
    monkeypatch.setattr(decode, "decode_chunk", refuse)
    monkeypatch.setattr(decode, "ProcessPoolExecutor", refuse)
    second = load_csv_dataset(csv_path)
    assert second.cache_folder == first.cache_folder
    x, y = reference(csv_path)
    np.testing.assert_array_equal(second.as_float32("x"), x)
    np.testing.assert_array_equal(second.variables["y"], y)
    assert second.row_lines == first.row_lines == list(range(2, 22))


def test_a_hit_needs_no_parse_of_the_csv(tmp_path, monkeypatch):
    from nncgraph.data import csv_dataset

    csv_path = digits_csv(tmp_path, n=8)
    first = load_csv_dataset(csv_path)

    def refuse(*args):
        raise AssertionError("parsed the CSV on a cache hit")

    monkeypatch.setattr(csv_dataset, "_read_rows", refuse)
    second = load_csv_dataset(csv_path)
    assert second.cache_folder == first.cache_folder and second.row_lines == first.row_lines
    gray(tmp_path, "img/4.png", 1)          # a changed file: back to the full load
    with pytest.raises(AssertionError, match="parsed the CSV"):
        load_csv_dataset(csv_path)


def test_the_same_csv_text_in_two_folders_reads_its_own_files(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "shared"))
    for folder, value in (("a", 10), ("b", 20)):
        gray(tmp_path / folder, "img/0.png", value)
        (tmp_path / folder / "data.csv").write_text("x,y\nimg/0.png,1\n")
    for _ in range(2):
        for folder, value in (("a", 10), ("b", 20)):
            assert load_csv_dataset(str(tmp_path / folder / "data.csv")).variables["x"].max() == value


@pytest.mark.e2e
def test_arrays_are_read_only_memory_maps_of_uint8_with_scales(tmp_path):
    csv_path = digits_csv(tmp_path)
    for normalize, scale in ((True, 1 / 255), (False, 1.0)):
        ds = load_csv_dataset(csv_path, image_normalization=normalize)
        x, y = ds.variables["x"], ds.variables["y"]
        assert isinstance(x, np.memmap) and isinstance(y, np.memmap)
        assert x.dtype == np.uint8 and y.dtype == np.float32
        assert os.path.dirname(x.filename) == ds.cache_folder
        assert not x.flags.writeable
        assert ds.scales == {"x": scale, "y": 1.0}
        batch = x[[5, 2]]           # fancy indexing reads just those rows into memory
        assert type(batch) is np.ndarray
        np.testing.assert_array_equal(batch[:, 0, 0, 0], [50, 20])
    index = json.load(open(os.path.join(ds.cache_folder, cache.INDEX)))
    assert index["csv"] == os.path.abspath(csv_path) and index["rows"] == 20
    assert [v["dtype"] for v in index["variables"]] == ["uint8", "float32"]


@pytest.mark.e2e
def test_to_float32_is_bit_identical_to_dividing_by_255():
    pixels = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(to_float32(pixels, 1 / 255), pixels.astype(np.float32) / F255)
    assert to_float32(pixels, 1 / 255).dtype == np.float32
    np.testing.assert_array_equal(to_float32(pixels, 1.0), pixels.astype(np.float32))
    values = np.linspace(-2, 2, 7, dtype=np.float32)
    assert to_float32(values, 1.0) is values         # float32 unscaled: no copy


@pytest.mark.e2e
def test_cached_values_equal_a_fresh_decode_for_every_kind_of_cell(tmp_path, monkeypatch):
    rgb = np.random.RandomState(0).randint(0, 256, (5, 6, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "pal.png")
    Image.fromarray(rgb).save(tmp_path / "c.jpg", quality=90)
    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.int64).reshape(2, 3))
    rows = "\n".join(f"{img},{i}.5,{i},{-i}" for i, img in enumerate(["rgb.png", "pal.png", "c.jpg"]))
    csv_path = str(tmp_path / "mixed.csv")
    (tmp_path / "mixed.csv").write_text("x,v,w__0,w__1\n" + rows + "\n")
    cold = load_csv_dataset(csv_path)
    warm = load_csv_dataset(csv_path)
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "elsewhere"))
    fresh = load_csv_dataset(csv_path)
    assert fresh.cache_folder.startswith(str(tmp_path / "elsewhere"))
    for name in ("x", "v", "w"):
        np.testing.assert_array_equal(cold.as_float32(name), warm.as_float32(name))
        np.testing.assert_array_equal(fresh.as_float32(name), warm.as_float32(name))
    expected = [np.asarray(Image.open(tmp_path / p).convert("RGB")).transpose(2, 0, 1).astype(np.float32) / F255
                for p in ("rgb.png", "pal.png", "c.jpg")]
    np.testing.assert_array_equal(warm.as_float32("x"), np.stack(expected))
    np.testing.assert_array_equal(warm.variables["w"], [[0, 0], [1, -1], [2, -2]])

    (tmp_path / "arr.csv").write_text("a\na.npy\na.npy\n")
    arr = load_csv_dataset(str(tmp_path / "arr.csv"))
    assert arr.variables["a"].dtype == np.float32 and arr.scales["a"] == 1.0
    np.testing.assert_array_equal(arr.variables["a"][1], [[0, 1, 2], [3, 4, 5]])


@pytest.mark.e2e
@pytest.mark.parametrize("order", ["8-bit first", "16-bit first"])
def test_16_bit_or_array_samples_turn_a_uint8_variable_into_float32(tmp_path, order):
    gray(tmp_path, "g.png", 200, (2, 2))
    Image.fromarray(np.full((2, 2), 257 * 10, np.uint16)).save(tmp_path / "deep.png")
    np.save(tmp_path / "arr.npy", np.full((1, 2, 2), 7.5))
    files = ["g.png", "g.png", "deep.png", "arr.npy"]
    if order == "16-bit first":
        files.reverse()
    (tmp_path / "d.csv").write_text("x\n" + "\n".join(files) + "\n")
    ds = load_csv_dataset(str(tmp_path / "d.csv"))
    assert ds.variables["x"].dtype == np.float32 and ds.scales["x"] == 1.0
    assert sorted(f for f in os.listdir(ds.cache_folder) if f.endswith(".npy")) == ["v0-float32.npy"]
    expected = {"g.png": np.float32(200) / F255, "deep.png": np.float32(10 / 255), "arr.npy": 7.5}
    for i, name in enumerate(files):
        np.testing.assert_allclose(ds.variables["x"][i], np.full((1, 2, 2), expected[name]), rtol=1e-7)
        if name == "g.png":
            assert (ds.variables["x"][i] == np.float32(200) / F255).all()    # exact, as uint8 would give


@pytest.mark.e2e
def test_csv_without_files_is_not_cached(tmp_path):
    (tmp_path / "n.csv").write_text("x__0,x__1,y\n1,2,3\n4,5,6\n")
    ds = load_csv_dataset(str(tmp_path / "n.csv"))
    assert ds.cache_folder is None and not (tmp_path / ".nncgraph-cache").exists()
    assert ds.scales == {"x": 1.0, "y": 1.0}
    np.testing.assert_array_equal(ds.variables["x"], [[1, 2], [4, 5]])


def test_cache_dir_env_keeps_apart_csvs_with_the_same_name(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "shared"))
    a = digits_csv(tmp_path / "a", n=4)
    b = digits_csv(tmp_path / "b", n=5)
    first, second = load_csv_dataset(a), load_csv_dataset(b)
    assert os.path.dirname(first.cache_folder) == os.path.dirname(second.cache_folder) == str(tmp_path / "shared")
    assert len(os.listdir(tmp_path / "shared")) == 2       # neither counts as the other's stale copy
    assert len(load_csv_dataset(a)) == 4 and len(load_csv_dataset(b)) == 5
    assert not (tmp_path / "a" / ".nncgraph-cache").exists()


# ---------------------------------------------------------------- invalidation

def test_changed_image_content_invalidates_and_replaces_the_cache(tmp_path, count_decodes):
    csv_path = digits_csv(tmp_path, n=6)
    old = load_csv_dataset(csv_path)
    assert len(count_decodes) == 6
    gray(tmp_path, "img/3.png", 99)
    new = load_csv_dataset(csv_path)
    assert len(count_decodes) == 12 and new.cache_folder != old.cache_folder
    assert new.variables["x"][3].max() == 99 and new.variables["x"][2].max() == 23
    assert cache_entries(csv_path) == [os.path.basename(new.cache_folder)]     # the stale one is gone


@pytest.mark.e2e
def test_changed_mtime_alone_invalidates(tmp_path, count_decodes):
    csv_path = digits_csv(tmp_path, n=6)
    old = load_csv_dataset(csv_path)
    info = os.stat(tmp_path / "img" / "0.png")
    os.utime(tmp_path / "img" / "0.png", ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    new = load_csv_dataset(csv_path)
    assert new.cache_folder != old.cache_folder and len(count_decodes) == 12
    np.testing.assert_array_equal(new.variables["x"], old.variables["x"])   # old maps stay readable


def test_changed_csv_invalidates(tmp_path, count_decodes):
    csv_path = digits_csv(tmp_path, n=6)
    old = load_csv_dataset(csv_path)
    text = open(csv_path).read().replace("img/5.png,2", "img/5.png,0")
    open(csv_path, "w").write(text)
    new = load_csv_dataset(csv_path)
    assert new.cache_folder != old.cache_folder
    assert new.variables["y"][5, 0] == 0 and old.variables["y"][5, 0] == 2
    assert cache_entries(csv_path) == [os.path.basename(new.cache_folder)]


def test_normalization_flag_has_its_own_cache(tmp_path, count_decodes):
    csv_path = digits_csv(tmp_path, n=4)
    on = load_csv_dataset(csv_path)
    off = load_csv_dataset(csv_path, image_normalization=False)
    assert on.cache_folder != off.cache_folder and len(cache_entries(csv_path)) == 2
    load_csv_dataset(csv_path)
    load_csv_dataset(csv_path, image_normalization=False)
    assert len(count_decodes) == 8


# ---------------------------------------------------------------- errors from worker processes

@pytest.mark.slow
def test_worker_errors_name_the_csv_line(tmp_path, force_processes):
    csv_path = digits_csv(tmp_path, n=30)
    (tmp_path / "img" / "17.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(UserError) as info:
        load_csv_dataset(csv_path, workers=2)
    text = str(info.value)
    assert text.startswith(f"{csv_path}:19: "), text
    assert "cannot read image 'img/17.png' named in row 19 (column 'x:image')" in text
    assert info.value.location == Location(csv_path, 19) and info.value.fix
    assert cache_entries(csv_path) == []            # nothing half-built stays behind


def test_worker_shape_and_array_errors_name_the_csv_line(tmp_path, force_processes):
    csv_path = digits_csv(tmp_path, n=30)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "img" / "21.png")
    with pytest.raises(UserError) as info:
        load_csv_dataset(csv_path, workers=2)
    assert str(info.value).startswith(f"{csv_path}:23: ")
    assert "row 23 has (3,4,4), the first row (line 2) has (1,4,4)" in str(info.value)

    rows = ["a"] + [f"{i}.npy" for i in range(12)]
    for i in range(12):
        np.save(tmp_path / f"{i}.npy", np.full(3, i))
    (tmp_path / "9.npy").write_bytes(b"not numpy")
    (tmp_path / "arr.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(UserError) as info:
        load_csv_dataset(str(tmp_path / "arr.csv"), workers=2)
    assert str(info.value).startswith(f"{tmp_path / 'arr.csv'}:11: ")
    assert "cannot read array file '9.npy' named in row 11" in str(info.value)


@pytest.mark.e2e
def test_parallel_load_uses_processes_and_keeps_row_order(tmp_path, force_processes, monkeypatch):
    chunks = []

    class Recording(decode.ProcessPoolExecutor):
        def submit(self, fn, cells, *args):
            chunks.append([c.row for c in cells])
            return super().submit(fn, cells, *args)

    monkeypatch.setattr(decode, "ProcessPoolExecutor", Recording)
    csv_path = digits_csv(tmp_path, n=25)
    ds = load_csv_dataset(csv_path, workers=2)
    assert sum(chunks, []) == list(range(2, 25)) and len(chunks) > 1
    x, _ = reference(csv_path)
    np.testing.assert_array_equal(ds.as_float32("x"), x)


def test_decoding_keeps_only_a_few_chunks_in_flight(tmp_path, force_processes, monkeypatch):
    submitted = []

    class Recording(decode.ProcessPoolExecutor):
        def submit(self, fn, cells, *args):
            submitted.append(len(cells))
            return super().submit(fn, cells, *args)

    monkeypatch.setattr(decode, "ProcessPoolExecutor", Recording)
    monkeypatch.setattr(decode, "CHUNKS_PER_WORKER", 30)
    cells = []
    for i in range(122):
        path = gray(tmp_path, f"{i}.png", i)
        cells.append(FileCell(path, f"{i}.png", "x", "image", "d.csv", i + 2, 0, i))
    stream = decode.decode_stream(cells, normalize=True, workers=2)
    for _ in range(decode.PROBE_FILES + 1):
        next(stream)
    assert len(submitted) <= 2 * 2 + 1 < 60          # 60 chunks of 2 files in all
    rest = list(stream)
    assert len(rest) == 122 - decode.PROBE_FILES - 1 and sum(submitted) == 120
    assert [int(a.max()) for a in rest[-3:]] == [119, 120, 121]


@pytest.mark.e2e
def test_workers_write_fitting_samples_straight_into_the_cache_file(tmp_path):
    out = tmp_path / "x.npy"
    cache_file = np.lib.format.open_memmap(str(out), mode="w+", dtype=np.uint8, shape=(3, 1, 4, 4))
    cells = [FileCell(gray(tmp_path, f"{i}.png", 7 * i), f"{i}.png", "x", "image", "d.csv", i + 2, 0, i)
             for i in range(2)]
    cells.append(FileCell(gray(tmp_path, "big.png", 9, (5, 5)), "big.png", "x", "image", "d.csv", 4, 0, 2))
    target = {0: (str(out), "uint8", (1, 4, 4), cache_file.offset)}
    results, failure = decode.decode_chunk(cells, True, target)
    assert failure is None and results[:2] == [str(out), str(out)]
    assert results[2].shape == (1, 5, 5)             # does not fit: comes back to be reported
    np.testing.assert_array_equal(cache_file[:2, 0, 0, 0], [0, 7])


@pytest.mark.e2e
def test_promotion_while_workers_write_into_the_old_file(tmp_path, force_processes, monkeypatch):
    from nncgraph.data import assemble

    monkeypatch.setattr(decode, "CHUNKS_PER_WORKER", 40)     # one file per chunk: many in flight
    late = []
    put = assemble._Store.put

    def spying(self, row, value):
        if isinstance(value, str) and value != self.out.path_of(self.file):
            late.append(row)
        return put(self, row, value)

    monkeypatch.setattr(assemble._Store, "put", spying)
    csv_path = digits_csv(tmp_path, n=40)
    Image.fromarray(np.full((4, 4), 257 * 77, np.uint16)).save(tmp_path / "img" / "20.png")
    ds = load_csv_dataset(csv_path, workers=2)
    assert late and min(late) > 20                   # rows decoded into the uint8 file after row 20
    assert ds.variables["x"].dtype == np.float32 and ds.scales["x"] == 1.0
    assert sorted(f for f in os.listdir(ds.cache_folder) if f.endswith(".npy")) == ["v0-float32.npy",
                                                                                   "v1-float32.npy"]
    x, _ = reference(csv_path)
    rows = [i for i in range(40) if i != 20]
    np.testing.assert_array_equal(ds.variables["x"][rows], x[rows])
    np.testing.assert_allclose(ds.variables["x"][20], np.float32(77 / 255), rtol=1e-7)


# ---------------------------------------------------------------- interrupted and broken writes

@pytest.mark.e2e
def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch):
    csv_path = digits_csv(tmp_path, n=10)
    real, seen = decode.decode, []

    def interrupted(cell, normalize):
        seen.append(cell.row)
        if len(seen) == 7:
            raise KeyboardInterrupt
        return real(cell, normalize)

    monkeypatch.setattr(decode, "decode", interrupted)
    monkeypatch.setattr(decode, "PARALLEL_MIN_SECONDS", float("inf"))
    with pytest.raises(KeyboardInterrupt):
        load_csv_dataset(csv_path)
    assert cache_entries(csv_path) == []
    monkeypatch.setattr(decode, "decode", real)
    x, _ = reference(csv_path)
    np.testing.assert_array_equal(load_csv_dataset(csv_path).as_float32("x"), x)


@pytest.mark.e2e
def test_killed_process_leaves_no_usable_cache_and_its_leftovers_are_removed(tmp_path):
    csv_path = digits_csv(tmp_path, n=10)
    script = (
        "import os, signal, sys\n"
        f"sys.path.insert(0, {ROOT!r})\n"
        "from nncgraph.data import decode\n"
        "from nncgraph.data.csv_dataset import load_csv_dataset\n"
        "real, n = decode.decode, [0]\n"
        "def dying(cell, normalize):\n"
        "    n[0] += 1\n"
        "    if n[0] == 6:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(cell, normalize)\n"
        "decode.decode = dying\n"
        f"load_csv_dataset({csv_path!r})\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    leftovers = cache_entries(csv_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-data-")      # never the final name
    ds = load_csv_dataset(csv_path)
    x, _ = reference(csv_path)
    np.testing.assert_array_equal(ds.as_float32("x"), x)
    assert cache_entries(csv_path) == [os.path.basename(ds.cache_folder)]    # the dead run's folder is gone


@pytest.mark.e2e
def test_truncated_or_edited_cache_is_rebuilt(tmp_path, count_decodes):
    csv_path = digits_csv(tmp_path, n=6)
    ds = load_csv_dataset(csv_path)
    folder, path = ds.cache_folder, ds.variables["x"].filename
    del ds
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    again = load_csv_dataset(csv_path)
    assert again.cache_folder == folder and len(count_decodes) == 12
    x, _ = reference(csv_path)
    np.testing.assert_array_equal(again.as_float32("x"), x)
    os.remove(os.path.join(folder, cache.INDEX))
    load_csv_dataset(csv_path)
    assert len(count_decodes) == 18


@pytest.mark.e2e
def test_unwritable_cache_location_falls_back_to_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(blocker))
    csv_path = digits_csv(tmp_path, n=5)
    with pytest.warns(RuntimeWarning, match="cannot write the dataset cache"):
        ds = load_csv_dataset(csv_path)
    assert ds.cache_folder is None and not isinstance(ds.variables["x"], np.memmap)
    x, _ = reference(csv_path)
    np.testing.assert_array_equal(ds.as_float32("x"), x)


@pytest.mark.e2e
def test_disk_full_while_writing_falls_back_to_memory(tmp_path, monkeypatch):
    def full(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "_preallocate", full)
    csv_path = digits_csv(tmp_path, n=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_csv_dataset(csv_path)
    assert any("No space left" in str(w.message) for w in caught)
    assert ds.cache_folder is None and cache_entries(csv_path) == []
    x, _ = reference(csv_path)
    np.testing.assert_array_equal(ds.as_float32("x"), x)


# ---------------------------------------------------------------- binding to a network

@pytest.mark.e2e
def test_bound_data_keeps_the_memory_maps_and_feeds_float32(tmp_path):
    from nncgraph.graph.ir import build_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive
    from nncgraph.project.load import load_project
    from nncgraph.train.data_binding import bind_dataset

    train = write_digits(str(tmp_path / "d"), n=12)
    project = load_project(tiny_project(str(tmp_path), os.path.relpath(train, tmp_path)))
    graph = infer(derive(build_graph("Main", project.networks["Main"]), "validation"), "validation")
    bound = bind_dataset(project, "training", graph)
    assert sorted(bound) == ["x", "y"] and bound.n_samples == 12
    assert isinstance(bound["x"], np.memmap) and bound["x"].dtype == np.uint8
    assert bound.scales == {"x": 1 / 255, "y": 1.0}
    batch = bound.batch("x", np.array([3, 0, 7]))
    assert batch.dtype == np.float32 and batch.shape == (3, 1, 8, 8)
    np.testing.assert_array_equal(batch, bound["x"][[3, 0, 7]].astype(np.float32) / F255)
