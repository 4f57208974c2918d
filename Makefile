# `make demo` runs the audit on the bundled sample estate; `make test` passes the tests.
# Each creates the virtualenv it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

system-deps:
	scripts/install-system-deps.sh

demo: $(STAMP)
	$(BIN)/v6audit demo -o demo-report

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: system-deps $(STAMP) lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/runner_overhead.py

clean:
	rm -rf $(VENV) demo-report v6audit-report .pytest_cache .ruff_cache
