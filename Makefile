PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint clean

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

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
