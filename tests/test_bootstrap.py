"""The Makefile's setup: the Python 3.10 it finds (pyenv's, PATH's), and the uv bootstrap where there is none.

Each make runs with VENV in tmp_path, so the project's own .venv is never touched."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.e2e

FAILURE = ("nncgraph: error: no Python 3.10 here (nnabla 1.39 needs it), and 'uv python install 3.10' could not "
           "download one (its output is in {log}). Fix: install Python 3.10 by hand ('pyenv install 3.10.13', "
           "or python3.10 on PATH), then run make again.")


def make(*args, env=None, timeout=600):
    if shutil.which("make") is None:
        pytest.skip("needs GNU make")
    # a `make test` above this one passes its flags and variables down through MAKEFLAGS: not to this make
    base = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    proc = subprocess.run(["make", "-C", ROOT, "--no-print-directory", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def found_python310():
    """What the Makefile must use, as its README says: pyenv's 3.10.13, else python3.10 on PATH."""
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        pyenv = os.path.join(root, "versions", "3.10.13", "bin", "python3.10")
        if os.access(pyenv, os.X_OK):
            return pyenv
    on_path = shutil.which("python3.10")
    if on_path and subprocess.run([on_path, "-c", "import sys; assert sys.version_info[:2] == (3, 10)"],
                                  capture_output=True).returncode == 0:
        return "python3.10"
    return ""


def test_make_n_run_uses_the_python_310_found_as_before(tmp_path):
    venv = tmp_path / "venv"
    status, out, err = make("-n", "run", f"VENV={venv}")
    assert status == 0, err
    assert f'python="{found_python310()}"' in out
    assert f"{venv}/bin/nncgraph run projects/lenet-mnist.yaml" in out
    assert not venv.exists()                          # -n ran nothing


def test_without_python_310_make_gets_uv_and_says_in_one_line_that_the_download_failed(tmp_path):
    venv = tmp_path / "venv"
    # Point uv's Python download at a closed local port: the download fails here as it does on a machine
    # without internet, even where github.com is reachable. PyPI must be reachable, for uv itself.
    status, out, err = make("setup", "PYTHON310=", f"VENV={venv}",
                            env={"UV_PYTHON_INSTALL_MIRROR": "http://127.0.0.1:9", "UV_HTTP_RETRIES": "0"})
    boot = venv / ".uv"
    if status == 2 and "installing uv from PyPI failed" in err and os.environ.get("CI") != "true":
        pytest.skip(f"needs PyPI, for uv; unreachable here: {(boot / 'pip-uv.log').read_text()[-200:]!r}")
    assert status == 2, (out, err)
    assert os.access(boot / "venv" / "bin" / "uv", os.X_OK)          # it reached the uv step
    log = boot / "uv-python-install.log"
    assert "Failed to install cpython-3.10" in log.read_text()          # uv's own words, kept in the log
    # make's own "make: *** [...] Error 2" trailer aside, the failure is this one line, and nothing of uv's
    lines = [line for line in err.splitlines() if not line.startswith("make: ***")]
    assert lines == [FAILURE.format(log=log)], err
    assert out.splitlines() == [f"no Python 3.10 found: getting one with uv, in {boot}"], out
    assert not (venv / "bin").exists() and not (venv / ".installed").exists()
