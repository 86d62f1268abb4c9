# The two commands that do everything on a fresh machine:
#   make test   creates .venv, installs the package with its test extras, runs the whole suite
#   make demo   creates .venv, runs the example project against the built-in emulator
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint format clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python setup.py requirements-test.txt pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $(STAMP)

test: $(STAMP) browser
	$(BIN)/python -m ruff check django_akamai tests example benchmarks
	$(BIN)/python -m ruff format --check django_akamai tests example benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS)

BROWSER_PACKAGES := chromium chromium-driver

# Headless Chromium and its driver for tests/test_browser.py, installed when missing.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y $(BROWSER_PACKAGES); \
	else echo "no chromium/chromedriver and no apt-get: browser tests will be skipped" >&2; fi

demo: $(STAMP)
	cd example && ../$(BIN)/python manage.py demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/python -m ruff check django_akamai tests example benchmarks
	$(BIN)/python -m ruff format --check django_akamai tests example benchmarks

format: $(STAMP)
	$(BIN)/python -m ruff format django_akamai tests example benchmarks
	$(BIN)/python -m ruff check --fix django_akamai tests example benchmarks

clean:
	rm -rf $(VENV) .venv-bench .tox build dist *.egg-info test-artifacts
