"""Fuzz: generated dataset CSVs through what `nncgraph run` does with a dataset before training.

Each case is an NNC dataset CSV (`x:image,y:label` rows naming real PNG, .npy and .csv matrix files, or
`x__0..x__3` vector columns) bound to a small classifier with `bind_dataset`: the CSV is read, its files
decoded into the cache, shapes matched to the Input layer and labels checked against the classes. Cells,
rows and header are then changed as users and spreadsheets get them wrong: files that do not exist, are
folders, are corrupt, empty or of another shape; numbers out of range, not finite, not numbers, empty;
quotes, commas, unicode, a byte-order mark, other line ends, short and long rows, truncation and stray
bytes. An unchanged CSV (a third of the cases) must bind.
"""
from __future__ import annotations

import csv
import io
import os

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from fuzz_oracle import examples, outcome, scratch_file, scratch_folder
from fuzz_values import ODD_TEXT, edited_text
from nncgraph.graph.ir import network_graph
from nncgraph.graph.shape_pass import infer
from nncgraph.graph.variants import derive
from nncgraph.project.load import parse_project
from nncgraph.train.data_binding import bind_dataset

pytestmark = pytest.mark.slow

TARGET = "dataset CSVs"
CLASSES = 3
NETWORKS = {
    "image": "  - {type: Input, size: [1, 8, 8], dataset: x}\n",
    "vector": "  - {type: Input, size: [4], dataset: x}\n",
}
HEAD = f"  - {{type: Affine, out_shape: {CLASSES}}}\n  - {{type: SoftmaxCrossEntropy, target: y}}\n"
IMAGES = [f"img/g{i}.png" for i in range(4)]
# Files that are a valid x for the image network (1 x 8 x 8 after decoding). A CSV matrix is 2-D (8 x 8),
# so for this 3-D Input it is a shape mismatch, as in NNC, where its batch would not fit the variable.
GOOD_FILES = IMAGES + ["arr/a.npy"]
BAD_FILES = ["mat/m.csv", "img/rgb.png", "img/big.png", "img/bad.png", "img/empty.png", "img/truncated.png", "arr/wrong.npy",
             "arr/bad.npy", "arr/object.npy", "arr/nan.npy", "arr/int.npy", "mat/bad.csv", "mat/ragged.csv",
             "img", "missing.png", "img/../img/g0.png", "../outside.png", "img\\g1.png", "img/g0.PNG",
             "notes.txt", "img/g0.png ", " img/g0.png", "img/g0.png/"]


def _data_folder() -> str:
    """The files the CSVs name, written once: real images and arrays, and broken ones."""
    folder = os.path.join(scratch_folder(), "csvdata")
    if os.path.isdir(folder):
        return folder
    from PIL import Image

    rng = np.random.RandomState(0)
    for sub in ("img", "arr", "mat"):
        os.makedirs(os.path.join(folder, sub))
    for path in IMAGES:
        Image.fromarray(rng.randint(0, 255, (8, 8)).astype(np.uint8), "L").save(os.path.join(folder, path))
    Image.fromarray(rng.randint(0, 255, (8, 8, 3)).astype(np.uint8), "RGB").save(os.path.join(folder, "img/rgb.png"))
    Image.fromarray(rng.randint(0, 255, (9, 9)).astype(np.uint8), "L").save(os.path.join(folder, "img/big.png"))
    with open(os.path.join(folder, "img/g0.png"), "rb") as f:
        png = f.read()
    files = {"img/bad.png": b"not a png at all", "img/empty.png": b"", "img/truncated.png": png[:len(png) // 2],
             "arr/bad.npy": b"\x93NUMPY garbage", "mat/bad.csv": b"a,b\nc,d\n", "mat/ragged.csv": b"1,2,3\n4,5\n",
             "notes.txt": b"hello"}
    for path, data in files.items():
        with open(os.path.join(folder, path), "wb") as f:
            f.write(data)
    np.save(os.path.join(folder, "arr/a.npy"), rng.rand(1, 8, 8).astype(np.float32))
    np.save(os.path.join(folder, "arr/wrong.npy"), rng.rand(8, 8, 2).astype(np.float32))
    np.save(os.path.join(folder, "arr/object.npy"), np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(os.path.join(folder, "arr/nan.npy"), np.full((1, 8, 8), np.nan, dtype=np.float32))
    np.save(os.path.join(folder, "arr/int.npy"), np.ones((1, 8, 8), dtype=np.int64))
    np.savetxt(os.path.join(folder, "mat/m.csv"), rng.rand(8, 8), delimiter=",")
    return folder


labels = st.integers(0, CLASSES - 1).map(str)
odd_cells = st.one_of(
    st.sampled_from(GOOD_FILES + BAD_FILES),
    st.sampled_from(["-1", "3", "99", "1.5", "0.0", "-0", "1e400", "nan", "inf", "-inf", "1,0", "0x1", "١",
                     '"0"', "'0'", "0 ", " 2", "+1", "2147483648", "1e-300"]),
    st.sampled_from(ODD_TEXT), st.text(max_size=10),
    st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str))


@st.composite
def valid_tables(draw):
    """(kind, header cells, rows of cells) of a CSV the kind's network must accept."""
    kind = draw(st.sampled_from(sorted(NETWORKS)))
    n = draw(st.integers(1, 8))
    if kind == "image":
        header = ["x:image", "y:label"]
        rows = [[draw(st.sampled_from(GOOD_FILES)), draw(labels)] for _ in range(n)]
    else:
        header = [f"x__{i}" for i in range(4)] + ["y:label"]
        if draw(st.booleans()):      # the columns of a vector may come in any order
            header = draw(st.permutations(header))
        rows = [[draw(st.floats(-1e6, 1e6).map(repr)) if h.startswith("x") else draw(labels) for h in header]
                for _ in range(n)]
    return kind, header, rows


@st.composite
def changed_tables(draw):
    kind, header, rows = draw(valid_tables())
    header, rows = list(header), [list(r) for r in rows]
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["cell", "cell", "cell", "header", "drop_cell", "add_cell", "drop_rows",
                                    "blank_row"]))
        r = draw(st.integers(0, len(rows) - 1)) if rows else None
        if how == "cell" and rows:
            row = rows[r]
            if row:
                row[draw(st.integers(0, len(row) - 1))] = draw(odd_cells)
        elif how == "header" and header:
            header[draw(st.integers(0, len(header) - 1))] = draw(st.one_of(st.sampled_from(
                ["x", "y", "x:image", "x__0", "x__9", "x__-1", "x__01", "__0", ":label", "", " ", "x__", "y__0",
                 "x__0__1", "ｘ"]), st.text(max_size=6)))
        elif how == "drop_cell" and rows and rows[r]:
            rows[r].pop(draw(st.integers(0, len(rows[r]) - 1)))
        elif how == "add_cell" and rows:
            rows[r].append(draw(odd_cells))
        elif how == "drop_rows":
            rows = rows[:draw(st.integers(0, len(rows)))]
        else:
            rows.insert(r or 0, [""] * draw(st.integers(0, len(header))))
    return kind, header, rows


def csv_text(header, rows, quote_all: bool) -> str:
    out = io.StringIO()
    # escapechar: a NUL or a lone quote in a cell is written somehow, as a spreadsheet might
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n",
                        escapechar="\\")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def dataset_csvs(draw):
    """(network kind, CSV bytes, valid)."""
    which = draw(st.sampled_from(["valid", "changed", "changed", "edited"]))
    kind, header, rows = draw(valid_tables() if which in ("valid", "edited") else changed_tables())
    text = csv_text(header, rows, draw(st.booleans()))
    if which == "edited":
        return kind, draw(edited_text(text)), False
    return kind, text.encode("utf-8", "surrogatepass"), which == "valid"


def bind(kind: str, csv_path: str, normalize: bool):
    text = (f"name: fuzz\ndatasets:\n  training: {{csv: '{csv_path}', image_normalization: {str(normalize).lower()}}}\n"
            f"network:\n{NETWORKS[kind]}{HEAD}")
    project = parse_project(text, os.path.join(os.path.dirname(csv_path), "project.yaml"))
    inferred = infer(derive(network_graph(project, "Main"), "validation"), "validation")
    return bind_dataset(project, "training", inferred)


@examples(2.0)
@given(dataset_csvs(), st.booleans())
def test_dataset_csv_binds_or_says_why_in_one_line(case, normalize):
    kind, data, valid = case
    note(f"{kind} network; CSV:\n{data.decode('utf-8', 'replace')}")
    path = scratch_file("data.csv", data, _data_folder())
    bound = outcome(TARGET, lambda: bind(kind, path, normalize), valid=valid)
    if bound is not None:
        x = bound.batch("x", slice(None))
        assert x.dtype == np.float32 and x.shape[1:] == ((1, 8, 8) if kind == "image" else (4,))
        labels_read = bound.batch("y", slice(None))
        assert ((labels_read >= 0) & (labels_read < CLASSES)).all()
