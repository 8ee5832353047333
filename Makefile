# Two commands on a fresh machine (README): `make run` and `make test`. Both create the virtual
# environment in .venv and install exactly the versions in the lock files (requirements/*.txt,
# with hashes), then doseprep itself without dependencies. `make run` installs only what the
# program needs; `make test` adds the test tools. CI (.ci/run) runs `make test`, the same recipe.
# `make lock` refreshes the lock files from pyproject.toml (see README, "Dependencies").

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
DIST_VENV ?= .venv-dist
DIST_STAMP := $(DIST_VENV)/.installed-dist
UV_VERSION := 0.13.9

.PHONY: run test bench lint lock clean dist dist-check

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): requirements/run.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements/run.txt
	$(PY) -m pip install --quiet --no-deps -e .
	rm -f $(TEST_STAMP)
	touch $(RUN_STAMP)

$(TEST_STAMP): requirements/test.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements/test.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(TEST_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(PY) main.py

test: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# The workstation bundle: dist/doseprep/ runs without Python (README, "Workstation bundle"). Built
# in its own environment holding only the program's locked dependencies and PyInstaller
# (requirements/dist.txt), so no test tool can end up inside.
$(DIST_STAMP): requirements/dist.txt pyproject.toml
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DIST_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements/dist.txt
	touch $(DIST_STAMP)

dist: $(DIST_STAMP)
	$(DIST_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	$(DIST_VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/doseprep.spec
	@echo "bundle: dist/doseprep ($$(du -sh dist/doseprep | cut -f1)); run dist/doseprep/doseprep-window"

dist-check: dist
	bash packaging/check_bundle.sh dist/doseprep

bench: $(TEST_STAMP)
	$(PY) -m pytest tests/benchmarks -o addopts="" -p no:cacheprovider -s --benchmark-columns=min,median,mean,max,rounds

# The lock files cover Python 3.11 on Linux, Windows and macOS (uv's universal resolution).
lock:
	$(PYTHON) -m venv .lock-tools
	.lock-tools/bin/pip install --quiet uv==$(UV_VERSION)
	rm -f requirements/run.txt requirements/test.txt requirements/dist.txt
	.lock-tools/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -o requirements/run.txt
	.lock-tools/bin/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -o requirements/test.txt
	.lock-tools/bin/uv pip compile pyproject.toml --extra dist -c requirements/run.txt --universal \
		--python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		-o requirements/dist.txt
	rm -rf .lock-tools

clean:
	rm -rf $(VENV) $(DIST_VENV) build dist *.egg-info .lock-tools
