"""Shared test helpers: the CLI as a user runs it, and small real image datasets."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# NNC's sample projects and layer reference are not in the repository (NNC's licence): they sit in
# ../shared beside the clone, or wherever NNCGRAPH_SHARED points (a worktree elsewhere, say).
SHARED_ENV = "NNCGRAPH_SHARED"
SHARED = os.path.normpath(os.environ.get(SHARED_ENV) or os.path.join(ROOT, "..", "shared"))
SHARED_FOLDERS = {"nnc-samples": "NNC's sample projects", "nnc-reference": "NNC's layer reference"}


# The fuzz suite (tests/test_fuzz_*.py, Hypothesis): `max_examples` is the budget that fuzz_oracle.examples()
# shares out among its tests. `default` keeps `make test` quick; `ci` (CI=true) runs over 10,000 cases, the
# same ones every time (derandomized, no example database), so a CI failure replays anywhere.
# NNCGRAPH_FUZZ_EXAMPLES=N sets the budget (a long hunt for bugs, or a quick look).
FUZZ_PROFILES = {"default": 60, "ci": 900}
FUZZ_EXAMPLES_ENV = "NNCGRAPH_FUZZ_EXAMPLES"
# Cases build networks and write files: some take a second, which is not the generator's fault.
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("default", max_examples=FUZZ_PROFILES["default"], deadline=None,
                          suppress_health_check=_SLOW_IS_FINE)
settings.register_profile("ci", max_examples=FUZZ_PROFILES["ci"], deadline=None, derandomize=True, database=None,
                          suppress_health_check=_SLOW_IS_FINE, print_blob=True)
settings.register_profile("override", parent=settings.get_profile("ci" if os.environ.get("CI") == "true"
                                                                  else "default"),
                          max_examples=int(os.environ.get(FUZZ_EXAMPLES_ENV) or 1))
settings.load_profile("override" if os.environ.get(FUZZ_EXAMPLES_ENV)
                      else "ci" if os.environ.get("CI") == "true" else "default")


# Tests are marked by what they need; `make test-fast` runs those with none of these marks (the unit tier).
MARKERS = {"e2e": "starts a process (the CLI, nnabla_cli, make, a mount) or trains a run end to end",
           "slow": "takes more than a few seconds in process",
           "browser": "loads a page in a real headless browser (chromium)",
           "postgres": "starts a throwaway PostgreSQL server",
           "onnx": "needs the .[onnx] extra (nnabla's converter, onnxruntime)",
           "torch": "needs PyTorch (the .[gp] extra)"}
TIER_MARKS = ("e2e", "browser", "postgres")      # a test that starts a process carries one of these
# what libraries run once to learn about the machine (platform.processor(), ctypes.util.find_library)
LIBRARY_PROBES = {"uname", "ldconfig", "lscpu", "gcc", "cc", "ld", "objdump", "nvidia-smi"}

_current_test = None


def pytest_configure(config):
    for name, what in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {what}")
    # Keep the unit tier honest: a test that starts a process without saying so fails, whoever starts it
    # (a test, a module fixture, or code under test).
    original = subprocess.Popen.__init__

    def checked_init(self, *args, **kwargs):
        test = _current_test
        command = args[0] if args else kwargs.get("args")
        program = command[0] if isinstance(command, (list, tuple)) and command else command
        incidental = os.path.basename(str(program)) in LIBRARY_PROBES
        if test is not None and not incidental and not any(test.get_closest_marker(m) for m in TIER_MARKS):
            shown = " ".join(map(str, command))[:80] if isinstance(command, (list, tuple)) else str(command)[:80]
            pytest.fail(f"{test.nodeid} starts a process ({shown}): mark it (or its module) with one of "
                        f"{', '.join(TIER_MARKS)}", pytrace=False)
        original(self, *args, **kwargs)

    subprocess.Popen.__init__ = checked_init


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current_test
    _current_test = item
    yield
    _current_test = None


# A test's tier is the first of its marks in this order, "unit" when it has none.
TIERS = ("browser", "postgres", "onnx", "torch", "e2e", "slow")
_tier_time: dict = {}


def tier_of(item) -> str:
    return next((m for m in TIERS if item.get_closest_marker(m)), "unit")


def pytest_runtest_logreport(report):
    tier = getattr(report, "tier", None)
    if tier:
        count, seconds = _tier_time.get(tier, (0, 0.0))
        _tier_time[tier] = (count + (report.when == "call"), seconds + report.duration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().tier = tier_of(item)


def pytest_terminal_summary(terminalreporter):
    """The time each tier took (CI prints it), and the fuzz suite's case count and valid share, in `-q` output too."""
    if _tier_time:
        terminalreporter.write_line("tiers: " + "; ".join(
            f"{tier} {count} tests {seconds:.0f} s" for tier, (count, seconds) in
            sorted(_tier_time.items(), key=lambda kv: (("unit",) + TIERS).index(kv[0]))))
    oracle = sys.modules.get("fuzz_oracle")
    line = oracle.summary_line() if oracle else None
    if line:
        terminalreporter.write_line(line)


def shared_path(folder, *parts):
    """SHARED/folder/parts..., for tests that read NNC's own files. Without the folder (a plain clone) the test
    skips with one line saying what it needs; under CI=true, where .ci/run has it beside the clone, that is a
    failure. A folder that is there but lacks the file is always a failure: the copy is incomplete."""
    top = os.path.join(SHARED, folder)
    if not os.path.isdir(top):
        shown = top if os.environ.get(SHARED_ENV) else os.path.join("..", "shared", folder)
        line = (f"needs {shown} ({SHARED_FOLDERS.get(folder, 'NNC files')}, beside the clone, or set "
                f"{SHARED_ENV}); absent here")
        if os.environ.get("CI") == "true":
            pytest.fail(line + ", and CI must provide it", pytrace=False)
        pytest.skip(line)
    path = os.path.join(top, *parts)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing from {top}: the copy of {SHARED_FOLDERS.get(folder, folder)} is incomplete",
                    pytrace=False)
    return path


def shared_names(folder, pattern):
    """File names in SHARED/folder matching `pattern`, for parametrizing over NNC's files. Without the folder:
    one placeholder, so the test still collects and then skips (or fails under CI) through shared_path."""
    top = os.path.join(SHARED, folder)
    if not os.path.isdir(top):
        return [f"absent-{folder}"]
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(top, pattern)))


def run_cli(*args, cwd=None, env=None):
    """Run `python -m nncgraph ARGS` in a fresh process; (status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "nncgraph", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def main_in_process(capsys, *args):
    """`nncgraph ARGS` through nncgraph.cli.main.main in this process (no interpreter start-up, so a
    test can try many inputs); (status, stdout, stderr). An exception escaping main fails the test
    with its traceback, as a user would have seen one."""
    from nncgraph.cli.main import main

    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def write(path, text: str) -> str:
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def write_digits(folder, n=24, classes=3, size=8, seed=0, labels=None):
    """A tiny real-PNG dataset: class k images are bright in band k (learnable)."""
    from PIL import Image

    rng = np.random.RandomState(seed)
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)
    rows = ["x:image,y:label"]
    for i in range(n):
        label = i % classes if labels is None else labels[i]
        pixels = rng.randint(0, 60, (size, size)).astype(np.uint8)
        band = int(label) % classes
        pixels[:, band * size // classes:(band + 1) * size // classes] += 180
        Image.fromarray(pixels, "L").save(os.path.join(folder, "img", f"{i}.png"))
        rows.append(f"img/{i}.png,{label}")
    path = os.path.join(folder, "data.csv")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")
    return path


TINY_NETWORK = """
network:
  - {type: Input, name: x, size: [1, 8, 8]}
  - {type: Convolution, out_maps: 4, kernel_shape: [3, 3]}
  - {type: ReLU}
  - {type: Affine, out_shape: 3}
  - {type: SoftmaxCrossEntropy, target: y}
"""


def tiny_project(folder, train_csv, valid_csv=None, network=TINY_NETWORK, epochs=2, extra=""):
    valid = f"\n  validation: {{csv: {valid_csv}}}" if valid_csv else ""
    text = (f"name: tiny\ndatasets:\n  training: {{csv: {train_csv}}}{valid}\n"
            + textwrap.dedent(network).lstrip("\n")
            + f"training: {{max_epoch: {epochs}, batch_size: 8, seed: 1}}\n" + extra)
    path = os.path.join(folder, "project.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.fixture
def digits(tmp_path):
    return write_digits(str(tmp_path / "data"))
