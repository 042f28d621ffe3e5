# The two commands of the README:
#   make run   -- set up, make the bundled digits dataset, train LeNet on it
#   make test  -- set up, run the test suite
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYENV_PY := $(shell command -v pyenv >/dev/null 2>&1 && echo "$$(pyenv root)/versions/3.10.13/bin/python3.10")
PYTHON310 := $(shell for p in "$(PYENV_PY)" python3.10; do \
	[ -n "$$p" ] && command -v "$$p" >/dev/null 2>&1 && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: run test setup data benchmark docs clean

run: $(STAMP) data/mnist/train.csv
	$(VENV)/bin/nncgraph run projects/lenet-mnist.yaml

test: $(STAMP)
	$(PY) -m pytest -q tests

setup: $(STAMP)

$(STAMP): setup.py
	@if [ ! -x "$(PY)" ]; then \
	  if [ -z "$(PYTHON310)" ]; then \
	    echo "nncgraph needs Python 3.10 (nnabla 1.39 has no wheels for newer Pythons)."; \
	    echo "Install it, e.g. 'pyenv install 3.10.13', or put python3.10 on PATH, then run make again."; \
	    exit 2; \
	  fi; \
	  echo "creating $(VENV) with $(PYTHON310)"; \
	  "$(PYTHON310)" -m venv $(VENV); \
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

clean:
	rm -rf $(VENV) runs build *.egg-info
