# The two quick-start commands: `make doctor` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: doctor inspect test lint typecheck unit integration engine bench clean wheel-smoke

# The venv is rebuilt whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

doctor: $(VENV)/.installed
	$(BIN)/envcheck doctor

inspect: $(VENV)/.installed
	$(BIN)/envcheck inspect

lint: $(VENV)/.installed
	$(BIN)/ruff check envcheck tests benchmarks scripts

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit

# Starts a Docker engine when none answers (root on Debian only; elsewhere the engine
# tests skip, or fail when ENVCHECK_REQUIRE_DOCKER=1).
engine:
	bash .ci/engine.sh

integration: $(VENV)/.installed engine
	$(BIN)/python -m pytest tests/integration

test: $(VENV)/.installed engine
	$(BIN)/ruff check envcheck tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest

# What a newcomer does: build the wheel, install it in a clean venv, run it (about 40 s).
wheel-smoke: $(VENV)/.installed
	bash .ci/wheel-smoke.sh $(BIN)/python

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.help_startup
	$(BIN)/python -m benchmarks.inspect_vs_collect_env
	$(BIN)/python -m benchmarks.report_parse
	$(BIN)/python -m benchmarks.matrix_plan
	$(BIN)/python -m benchmarks.report_accuracy
	$(BIN)/python -m benchmarks.guard_overhead

clean:
	rm -rf $(VENV) .cache .mypy_cache .pytest_cache .ruff_cache
