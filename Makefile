# Quick start: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The tests run the Spark job in local mode, so they install the spark extra too.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/sanctrace demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src/sanctrace

test: lint
	$(BIN)/python -m pytest -q

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,spark,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/lists.py
	$(BIN)/python bench/names.py
	$(BIN)/python bench/chain.py
	$(BIN)/python bench/exposure.py
	$(BIN)/python bench/network.py
	$(BIN)/python bench/monitor.py
	$(BIN)/python bench/console.py

clean:
	rm -rf $(VENV) demo-world demo-report sanctrace.db .pytest_cache .ruff_cache
