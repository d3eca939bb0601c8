# muie-bench — every target sets up what it needs itself (idempotent: a second call is quick).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS_TEST := dev,datagen,offline,api
EXTRAS_RUN := offline,datagen,api,dev

.PHONY: setup setup-test run test lint bench data clean-venv

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# one stamp per extras set, remade when pyproject.toml changes
$(VENV)/.stamp-%: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[$*]"
	touch $@

setup: $(VENV)/.stamp-$(EXTRAS_RUN)

setup-test: $(VENV)/.stamp-$(EXTRAS_TEST)

run: setup
	$(BIN)/muie-bench validate tests/data/tiny
	$(BIN)/muie-bench info tests/data/tiny

test: setup-test
	$(BIN)/python -m pytest

lint: setup-test
	$(BIN)/ruff check muie_bench tests
	$(BIN)/mypy muie_bench/schema.py muie_bench/benchmark.py

clean-venv:
	rm -rf $(VENV)
