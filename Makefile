PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-matrix lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The distribution was called "rocket" before it became rocket-wsgi: drop that name from an old
# .venv, or two installs would claim the rocket package.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip uninstall -q -y rocket 2>/dev/null || true
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip uninstall -q -y rocket 2>/dev/null || true
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/rocket --bind 127.0.0.1:8000 rocket.demo:app

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# Every CPython 3.9-3.13 found (pyenv or PATH) and PyPy 3, each in .venv-matrix/<version>;
# e.g. make test-matrix MATRIX_ARGS="--only 3.9,3.13,pypy3 --paths tests/functional"
test-matrix:
	$(PYTHON) .ci/matrix $(MATRIX_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .venv-matrix build *.egg-info
