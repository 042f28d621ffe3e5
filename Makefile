# The two commands of the README:
#   make run   -- set up, make the bundled digits dataset, train LeNet on it
#   make test  -- set up, run the test suite (every tier)
#   make test-fast -- the unit tier only: the tests that start no process and train nothing end to end
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The Python 3.10 that makes the venv: pyenv's 3.10.13, else python3.10 on PATH. `make setup PYTHON310=`
# hides both (to try the bootstrap below); `make setup PYTHON310=/path/to/python3.10` names one.
PYENV_PY := $(shell command -v pyenv >/dev/null 2>&1 && echo "$$(pyenv root)/versions/3.10.13/bin/python3.10")
PYTHON310 := $(shell for p in "$(PYENV_PY)" python3.10; do \
	[ -n "$$p" ] && command -v "$$p" >/dev/null 2>&1 && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$p"; break; }; done)
# Without a 3.10 anywhere, any python3 makes a bootstrap venv, uv comes into it from PyPI, and
# `uv python install 3.10` downloads a standalone CPython; all of it under $(VENV)/.uv, so `make clean`
# removes it with the venv. Each step's output goes to a log there; a failure is one line naming it.
PYTHON3 := python3
BOOT    := $(VENV)/.uv
UV      := UV_PYTHON_INSTALL_DIR="$(abspath $(BOOT))/python" UV_PYTHON_BIN_DIR="$(abspath $(BOOT))/bin" \
           UV_CACHE_DIR="$(abspath $(BOOT))/cache" UV_PYTHON_PREFERENCE=only-managed "$(BOOT)/venv/bin/uv"

.PHONY: run test test-fast setup data benchmark docs clean

run: $(STAMP) data/mnist/train.csv
	$(VENV)/bin/nncgraph run projects/lenet-mnist.yaml

test: $(STAMP)
	$(PY) -m pytest -q tests

# the marks are explained in tests/conftest.py (MARKERS)
test-fast: $(STAMP)
	$(PY) -m pytest -q tests -m "not (e2e or slow or browser or postgres or onnx or torch)"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x "$(PY)" ]; then \
	  python="$(PYTHON310)"; \
	  if [ -z "$$python" ]; then \
	    fail() { echo "nncgraph: error: no Python 3.10 here (nnabla 1.39 needs it), and $$1 (its output is in $$2)." \
	                  "Fix: install Python 3.10 by hand ('pyenv install 3.10.13', or python3.10 on PATH), then run make again." >&2; \
	             exit 2; }; \
	    echo "no Python 3.10 found: getting one with uv, in $(BOOT)"; \
	    mkdir -p "$(BOOT)"; \
	    $(PYTHON3) -m venv "$(BOOT)/venv" >"$(BOOT)/venv.log" 2>&1 \
	      || fail "'$(PYTHON3) -m venv' could not make a bootstrap venv for uv" "$(BOOT)/venv.log"; \
	    "$(BOOT)/venv/bin/python" -m pip install --disable-pip-version-check 'uv>=0.6,<1' >"$(BOOT)/pip-uv.log" 2>&1 \
	      || fail "installing uv from PyPI failed" "$(BOOT)/pip-uv.log"; \
	    $(UV) python install 3.10 >"$(BOOT)/uv-python-install.log" 2>&1 \
	      || fail "'uv python install 3.10' could not download one" "$(BOOT)/uv-python-install.log"; \
	    python=$$($(UV) python find 3.10 2>>"$(BOOT)/uv-python-install.log") \
	      || fail "uv installed Python 3.10 but cannot find it" "$(BOOT)/uv-python-install.log"; \
	  fi; \
	  echo "creating $(VENV) with $$python"; \
	  "$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

data/mnist/train.csv: | $(STAMP)
	$(VENV)/bin/nncgraph dataset mnist-sample -o data/mnist

data: data/mnist/train.csv

benchmark: $(STAMP) data/mnist/train.csv
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_loader.py
	$(PY) benchmarks/bench_search.py
	$(PY) benchmarks/bench_check.py

docs: $(STAMP)
	$(VENV)/bin/nncgraph layers --markdown > docs/layers.md
	$(VENV)/bin/nncgraph schema > schemas/project.schema.json
	$(PY) -m nncgraph.optimizers docs/project-file.md

clean:
	rm -rf $(VENV) runs build *.egg-info
