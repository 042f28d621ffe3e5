"""`nncgraph report`: the HTML's content, its escaping and self-containment, and the page in a
real headless Chromium (screenshot; no console errors, over the DevTools protocol)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import time
import urllib.request
from html.parser import HTMLParser
from typing import Dict, List, Optional

import numpy as np
import pytest

from conftest import ROOT, run_cli, tiny_project, write_digits

# every test reads one run, trained once for the module by the CLI
pytestmark = pytest.mark.e2e

# -- headless Chromium: find or install it, screenshot, and load a page collecting errors ---------
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]


def find_or_install_chromium() -> Optional[str]:
    """The chromium binary; installs Debian's package when missing and we are root. None if impossible."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
            return None
    return shutil.which("chromium")


def screenshot(chromium: str, url: str, path: str, profile: str, size: str = "1280,2000") -> None:
    subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={path}",
                    f"--window-size={size}", url], capture_output=True, timeout=120, check=True)


class PageErrors:
    """Load `url` in a fresh headless Chromium; .errors and .requests after load()."""

    def __init__(self, chromium: str, profile: str):
        self.chromium, self.profile = chromium, profile
        self.errors: List[str] = []
        self.requests: List[str] = []
        self._id = 0

    def load(self, url: str, settle: float = 1.0) -> "PageErrors":
        import websocket   # websocket-client, from the test extra

        proc = subprocess.Popen([self.chromium, *FLAGS, f"--user-data-dir={self.profile}",
                                 "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = self._port(proc)
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
            page = next(t for t in targets if t.get("type") == "page")
            ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=10)
            try:
                for domain in ("Runtime", "Log", "Network", "Page"):
                    self._call(ws, f"{domain}.enable")
                self._call(ws, "Page.navigate", {"url": url})
                self._drain(ws, until="Page.loadEventFired", deadline=time.time() + 30)
                self._drain(ws, until=None, deadline=time.time() + settle)   # late errors, e.g. timers
            finally:
                ws.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        return self

    def _port(self, proc) -> int:
        # Chromium writes the port it chose into the profile once DevTools listens
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"chromium exited with status {proc.returncode}")
            if os.path.isfile(path):
                first = open(path).read().split("\n")[0].strip()
                if first.isdigit():
                    return int(first)
            time.sleep(0.1)
        raise RuntimeError("chromium's DevTools did not start within 30 s")

    def _call(self, ws, method: str, params: Optional[Dict] = None) -> Dict:
        self._id += 1
        ws.send(json.dumps({"id": self._id, "method": method, "params": params or {}}))
        deadline = time.time() + 30
        while time.time() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("id") == self._id:
                return msg
            self._event(msg)
        raise RuntimeError(f"no answer to {method}")

    def _drain(self, ws, until: Optional[str], deadline: float) -> None:
        import websocket

        while time.time() < deadline:
            ws.settimeout(max(0.05, deadline - time.time()))
            try:
                msg = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            self._event(msg)
            if until and msg.get("method") == until:
                return
        if until:
            raise RuntimeError(f"{until} did not arrive")

    def _event(self, msg: Dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append("exception: " + (details.get("exception", {}).get("description")
                                                 or details.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.errors.append("log: " + params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Network.loadingFailed":
            self.errors.append("network: " + params.get("errorText", ""))


# -- the run under test --------------------------------------------------------------------------
EVIL = "<script>alert(1)</script>"
RESIDUAL = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, name: conv1, out_maps: 4, kernel_shape: [3, 3], padding: [1, 1]}
  - {type: ReLU, name: relu1}
  - {type: Convolution, name: conv2, out_maps: 4, kernel_shape: [3, 3], padding: [1, 1]}
  - {type: Add2, name: skip_add, input: [relu1, conv2]}
  - {type: ReLU, name: relu2}
  - {type: Affine, name: fc, out_shape: 3}
  - {type: SoftmaxCrossEntropy, name: loss, target: y}
"""


def _evaluate_available() -> bool:
    try:
        import nncgraph.evaluate.evaluation  # noqa: F401
    except ImportError:
        return False
    return True


def _write_evaluation_by_hand(run_dir: str, valid_csv: str, labels) -> None:
    """The documented evaluation/ files, for when `nncgraph evaluate` is not there: every sample
    predicted as class 0 with probability 0.6."""
    folder = os.path.join(run_dir, "evaluation")
    os.makedirs(folder)
    with open(valid_csv) as f:
        rows = list(csv.reader(f))
    k = len(labels)
    matrix = [[0] * k for _ in range(k)]
    out = [rows[0] + [f"y'__{i}" for i in range(k)] + ["top1", "top1_prob"]]
    for r in rows[1:]:
        matrix[int(r[1])][0] += 1
        out.append(r + ["0.6"] + ["0.2"] * (k - 1) + [labels[0], "0.6"])
    for name, table in (("output_result.csv", out),
                        ("confusion_matrix.csv", [["true \\ predicted"] + labels] +
                         [[labels[i]] + [str(c) for c in matrix[i]] for i in range(k)]),
                        ("per_class.csv", [["index", "label", "precision", "recall", "f_measure", "support"]] +
                         [[str(i), labels[i], "0.0", "0.0", "0.0", str(sum(matrix[i]))] for i in range(k)])):
        with open(os.path.join(folder, name), "w", newline="") as f:
            csv.writer(f).writerows(table)
    correct = matrix[0][0]
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump({"dataset": valid_csv, "samples": len(rows) - 1, "correct": correct, "output": "y'",
                   "accuracy": correct / (len(rows) - 1)}, f)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A trained residual run; report.html before evaluation, then after it."""
    tmp = tmp_path_factory.mktemp("report")
    train = write_digits(str(tmp / "train"), n=30)
    valid = write_digits(str(tmp / "valid"), n=15, seed=1)
    labels = ["zero", EVIL, "two"]
    with open(tmp / "valid" / "labels.txt", "w") as f:
        f.write("\n".join(labels) + "\n")
    project = tiny_project(str(tmp), train, valid, network=RESIDUAL, epochs=2)
    run_dir = str(tmp / "run")
    status, out, err = run_cli("run", project, "-o", run_dir)
    assert status == 0, err
    # `run` itself evaluates the best model and writes the report
    assert "report:" in out and os.path.isfile(os.path.join(run_dir, "evaluation", "confusion_matrix.csv"))
    assert 'class="confusion"' in open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    shutil.rmtree(os.path.join(run_dir, "evaluation"))      # the report of a run not evaluated yet
    status, out, err = run_cli("report", run_dir)
    assert status == 0, err
    with open(os.path.join(run_dir, "report.html"), encoding="utf-8") as f:
        before = f.read()
    if _evaluate_available():
        status, _, err = run_cli("evaluate", run_dir)
        assert status == 0, err
    else:
        _write_evaluation_by_hand(run_dir, valid, labels)
    status, out, err = run_cli("report", run_dir)
    assert status == 0, err
    assert "report.html" in out
    path = os.path.join(run_dir, "report.html")
    with open(path, encoding="utf-8") as f:
        after = f.read()
    return {"dir": run_dir, "path": path, "before": before, "html": after, "tmp": tmp}


class _Page(HTMLParser):
    """What the tests look at: layer boxes, edges, src/href values, scripts, tables, thumbnails."""

    def __init__(self, text: str):
        super().__init__()
        self.layers, self.edges, self.links, self.scripts, self.tables, self.thumbs = {}, [], [], [], [], 0
        self._layer, self._script, self._table_class = None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if key in a:
                self.links.append(a[key])
        if tag == "g" and "layer" in a.get("class", "").split():
            self._layer = a["data-name"]
            self.layers[self._layer] = {"type": a["data-type"], "text": ""}
        elif tag == "path" and a.get("class") == "edge":
            self.edges.append((a["data-from"], a["data-to"]))
        elif tag == "script":
            self._script = ""
        elif tag == "table":
            self.tables.append(a.get("class", ""))
        elif tag == "img" and a.get("src", "").startswith("data:image/png;base64,") and "alt" in a \
                and a["alt"].endswith(".png"):
            self.thumbs += 1

    def handle_endtag(self, tag):
        if tag == "g":
            self._layer = None
        elif tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None

    def handle_data(self, data):
        if self._layer is not None:
            self.layers[self._layer]["text"] += data + " "
        if self._script is not None:
            self._script += data


def _inferred(run_dir):
    from nncgraph.graph.ir import network_graph
    from nncgraph.graph.shape_pass import infer
    from nncgraph.graph.variants import derive
    from nncgraph.project.load import load_project

    project = load_project(os.path.join(run_dir, "project.yaml"))
    return infer(derive(network_graph(project, project.training.network), "validation"), "validation")


# -- the HTML --------------------------------------------------------------------------------------
def test_one_box_per_layer_with_type_name_shape_params(run):
    page = _Page(run["html"])
    infos = _inferred(run["dir"]).ordered()
    assert list(page.layers) == [i.node.name for i in infos]       # top to bottom, topological order
    for info in infos:
        box = page.layers[info.node.name]
        assert box["type"] == info.node.type
        assert info.node.type in box["text"] and info.node.name in box["text"]
        assert ",".join(map(str, info.out_shape)) in box["text"]
        assert (f"{info.trainable_params:,} params" if info.trainable_params else "no params") in box["text"]


def test_an_edge_per_input_including_the_skip_connection(run):
    page = _Page(run["html"])
    expected = sorted((src, i.node.name) for i in _inferred(run["dir"]).ordered() for src in i.node.inputs)
    assert sorted(page.edges) == expected
    assert ("relu1", "skip_add") in page.edges
    assert 'data-from="relu1" data-to="skip_add" data-skip="1"' in run["html"]   # drawn on the side


def test_self_contained(run):
    for text in (run["before"], run["html"]):
        page = _Page(text)
        assert page.links, "expected in-page links and data: images"
        for link in page.links:
            assert link.startswith(("#", "data:")), link
        assert "http://" not in "".join(page.links) and "https://" not in "".join(page.links)
        assert "@import" not in text and "url(http" not in text


def test_user_text_is_escaped(run):
    page = _Page(run["html"])
    assert EVIL not in run["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in run["html"]
    assert not any("alert(1)" in s for s in page.scripts)


def test_without_evaluation_says_so(run):
    assert "Evaluation has not been run" in run["before"]
    assert 'class="confusion"' not in run["before"]


def test_confusion_matrix_and_thumbnails(run):
    page = _Page(run["html"])
    assert "confusion" in page.tables and "per-class" in page.tables
    folder = os.path.join(run["dir"], "evaluation")
    with open(os.path.join(folder, "metrics.json")) as f:
        metrics = json.load(f)
    wrong = metrics["samples"] - metrics["correct"]
    assert wrong > 0, "the tiny run should misclassify something"
    assert page.thumbs == min(48, wrong)
    assert "true: <b>" in run["html"] and "predicted: <b>" in run["html"]


def test_learning_curves_and_settings(run):
    html_text = run["html"]
    assert html_text.count('class="series"') == 4       # train/valid cost and error
    for key in ("max_epoch", "batch_size", "nnabla", "python", "platform", "total seconds"):
        assert key in html_text


def test_not_a_run_folder(tmp_path):
    status, _, err = run_cli("report", str(tmp_path))
    assert status == 2 and "not a run folder" in err


# -- a real browser --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    path = find_or_install_chromium()
    if path is None:
        pytest.skip("chromium is not installed and could not be installed with apt-get (not root, or no network)")
    pytest.importorskip("websocket", reason="websocket-client (pyproject.toml's test extra) is needed for DevTools")
    return path


@pytest.mark.browser
def test_screenshot_is_not_blank(run, chromium, tmp_path):
    from PIL import Image

    shot = str(tmp_path / "report.png")
    screenshot(chromium, "file://" + run["path"], shot, str(tmp_path / "profile"))
    with Image.open(shot) as img:
        assert img.size == (1280, 2000)
        colours = len(np.unique(np.asarray(img.convert("L").resize((128, 200)))))
    assert colours > 20, "the screenshot is (nearly) blank"
    results = os.path.join(ROOT, "benchmarks", "results")
    os.makedirs(results, exist_ok=True)
    shutil.copy(shot, os.path.join(results, "report-screenshot.png"))


@pytest.mark.browser
def test_no_console_errors_and_no_network(run, chromium, tmp_path):
    page = PageErrors(chromium, str(tmp_path / "profile")).load("file://" + run["path"])
    assert page.errors == []
    assert page.requests and all(u.startswith(("file:", "data:")) for u in page.requests), page.requests


@pytest.mark.browser
def test_the_error_check_can_fail(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><p>x</p><script>console.error('deliberate');"
                   "undefinedFunction();</script></body></html>")
    page = PageErrors(chromium, str(tmp_path / "profile")).load("file://" + str(bad))
    assert any("deliberate" in e for e in page.errors), page.errors
    assert any("undefinedFunction" in e for e in page.errors), page.errors
