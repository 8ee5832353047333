# Two commands on a fresh machine (README): `make run` and `make test`. Both create the virtual
# environment in .venv and install doseprep into it when pyproject.toml is newer than the last
# install. CI (.ci/run) runs `make test`, the same recipe.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m pytest tests/benchmarks -o addopts="" -p no:cacheprovider --benchmark-columns=min,median,mean,max,rounds

clean:
	rm -rf $(VENV) build dist *.egg-info
