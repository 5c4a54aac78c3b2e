# Bridgewatch developer commands. `make demo` and `make test` do all the set-up themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo run test bench venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## demo: the tray app on three simulated bridges (temporary profile, in-memory keyring)
demo: $(STAMP)
	$(BIN)/bridgewatch --demo

## run: the tray app on your own config
run: $(STAMP)
	$(BIN)/bridgewatch

## test: the whole test suite, offscreen
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

## bench: benchmarks against their baselines (never part of `make test`)
bench: $(STAMP)
	$(BIN)/python benchmarks/poll_cost.py
