# aura-choreo: every target works on a fresh machine; `.venv` is created on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck bench clean chromium

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: venv
	$(BIN)/python examples/flagship_demo.py

lint: venv
	$(BIN)/ruff check $(wildcard src tests bench examples)

typecheck: venv
	$(BIN)/mypy --strict src/aura_choreo

test: lint typecheck chromium
	$(BIN)/python -m pytest

# The HTML report's browser tests need Chromium; install it when missing (skipped with a reason if we cannot).
chromium:
	sh scripts/ensure-chromium.sh

bench: venv
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
