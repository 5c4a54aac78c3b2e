# Bridgewatch developer commands. `make demo`, `make test` and `make package` do all the set-up themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGE_STAMP := $(VENV)/.installed-package

.PHONY: demo run test bench package package-size package-test venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# PyInstaller comes from the `package` extra, so the build uses the versions pyproject.toml allows.
$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,package]'
	touch $(PACKAGE_STAMP)

venv: $(STAMP)

## demo: the tray app on three simulated bridges (temporary profile, in-memory keyring)
demo: $(STAMP)
	$(BIN)/bridgewatch --demo

## run: the tray app on your own config
run: $(STAMP)
	$(BIN)/bridgewatch

## test: the whole test suite, offscreen (the tests of the built bundle skip until `make package`)
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

## package: the PyInstaller bundle dist/Bridgewatch/ for this platform (plus the tarball on Linux)
package: $(PACKAGE_STAMP)
	$(BIN)/python packaging/build.py

## package-size: `package`, then the bare PySide6 tray app with the same options; writes build/size-report.json
package-size: $(PACKAGE_STAMP)
	$(BIN)/python packaging/build.py --measure

## package-test: the tests that run the built bundle (after `make package`)
package-test: $(STAMP)
	QT_QPA_PLATFORM=offscreen BRIDGEWATCH_REQUIRE_BUNDLE=1 $(BIN)/python -m pytest tests/test_packaging.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

## bench: every benchmark against its baseline, written to benchmarks/RESULTS.md (never part of `make test`)
bench: $(VENV)/.installed-bench
	cd benchmarks && ../$(BIN)/python run.py

# The profilers come from the `bench` extra. BuildNotify goes into its own throwaway venv under build/.
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@
