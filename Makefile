# The two commands: `make demo` and `make test`. Both bootstrap .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NATIVE := $(VENV)/.native
ROUTING := $(wildcard src/orderhub/domain/routing/*.py)

.PHONY: venv demo test test-future soak lint typecheck unit format clean

venv: $(STAMP) $(NATIVE)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The routing engine compiled with mypyc (tools/native.py); rebuilt whenever a source changes.
$(NATIVE): $(STAMP) $(ROUTING) tools/native.py
	$(BIN)/python tools/native.py build
	@touch $(NATIVE)

# `make demo PORT=8001` when 8000 is taken (the demo says so before it seeds anything).
PORT ?= 8000
demo: venv
	$(BIN)/orderhub demo --port $(PORT)

lint: venv
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: venv
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)
ifeq ($(CI),true)
	$(MAKE) --no-print-directory test-future
endif

# The whole suite again with every Python process of the run a year ahead of the wall clock
# (tests/support/future_clock; time-machine): no test or code path may depend on today's date.
FUTURE_DAYS ?= 365
test-future: venv
	ORDERHUB_TEST_CLOCK_AHEAD_DAYS=$(FUTURE_DAYS) PYTHONPATH=tests/support/future_clock \
		$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# The model test (tests/model, docs/testing.md) with more examples and longer sequences, pass
# after pass with a new seed each, for SOAK_MINUTES; a failure prints the command replaying it.
SOAK_MINUTES ?= 30
SOAK_EXAMPLES ?= 200
SOAK_STEPS ?= 80
soak: venv
	@end=$$(( $$(date +%s) + 60 * $(SOAK_MINUTES) )); \
	while [ $$(date +%s) -lt $$end ]; do \
		seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
		echo "soak: ORDERHUB_MODEL_SEED=$$seed"; \
		ORDERHUB_MODEL_SEED=$$seed ORDERHUB_MODEL_EXAMPLES=$(SOAK_EXAMPLES) \
		ORDERHUB_MODEL_STEPS=$(SOAK_STEPS) $(BIN)/python -m pytest -x -q -p no:cacheprovider \
			-o timeout=0 tests/model/test_hub_model.py $(PYTEST_ARGS) || exit 1; \
	done

format: venv
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

clean:
	-test -x $(BIN)/python && $(BIN)/python tools/native.py clean
	rm -rf $(VENV) var/*.db* var/.orderhub-database .pytest_cache .mypy_cache .ruff_cache
