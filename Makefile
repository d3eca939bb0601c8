# muie-bench — every target sets up what it needs itself (idempotent: a second call is quick).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` needs these extras only; `make test` adds the full tier (torch, transformers,
# ultralytics, whisper, pyannote: ~8 GB, ~6 min) under its own stamp
EXTRAS := analysis,api,datagen,dev,hf,offline,ray
TEST_EXTRAS := $(EXTRAS),full

.PHONY: setup setup-test run readme test lint bench data clean-venv browser

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# one stamp per extras set, remade when pyproject.toml changes
$(VENV)/.stamp-%: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[$*]"
	touch $@

setup: $(VENV)/.stamp-$(EXTRAS)

setup-test: $(VENV)/.stamp-$(TEST_EXTRAS)

# the main job: the default systems on the bundled benchmark, scored, then the leaderboard
# (adding a system is a one-word edit of RUN_SYSTEMS; a second `make run` resumes and is quick)
RUN_SYSTEMS := pipeline-offline oracle empty
RUN_BENCHMARK := muie-synth-mini

run: setup
	$(BIN)/muie-bench run-all $(RUN_SYSTEMS) --benchmark $(RUN_BENCHMARK)

# README's generated tables (leaderboard, pipeline scores and throughput) from the `make run`
# job's runs (run or resumed first)
readme: setup
	$(BIN)/python scripts/readme_tables.py --run --systems $(RUN_SYSTEMS) --benchmark $(RUN_BENCHMARK)

# headless Chromium for the HTML leaderboard test (skipped when already installed)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)

test: setup-test browser lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check muie_bench tests benchmarks scripts docs
	$(BIN)/mypy muie_bench

# speed of the harness: scoring 3,000 instances with ~3 masks each (targets in README)
bench: setup-test
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_runner.py
	$(BIN)/python benchmarks/bench_pipeline.py

# the full 3,000-instance muie-synth into benchmark_data/muie-synth/ (git-ignored), validated
data: setup
	$(BIN)/muie-bench data build --size full --workers 2
	$(BIN)/muie-bench validate muie-synth --no-media-hashes

clean-venv:
	rm -rf $(VENV)
