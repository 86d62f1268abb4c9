# The two commands that do everything on a fresh machine:
#   make test   creates .venv, installs the package with its extras, runs the whole suite
#   make demo   creates .venv with only what the demo needs, runs the example project
#               against the built-in emulator
# and for contributors: make lint (ruff, mypy), make docs (Sphinx, warnings are errors),
# make format, make bench.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint docs format clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

# .venv gets the test, dev and docs extras: the suite, the linters, tox and Sphinx.
$(STAMP): $(BIN)/python setup.py requirements-test.txt requirements-dev.txt pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The pipeline's tests again on PostgreSQL and on MariaDB (the whole suite runs on SQLite;
# tests/test_pipeline_concurrency.py runs on all three by itself). Each database a run of its
# own (AKAMAI_TEST_DATABASE); without the server the tests are skipped with the reason, and
# fail when AKAMAI_TEST_REQUIRE_BROKER=1 (.ci/run).
PIPELINE_TESTS := tests/test_pipeline.py tests/test_pipeline_faults.py tests/test_intent_table.py \
	tests/test_intent_processes.py tests/test_intent_admin.py tests/test_background_thread.py \
	tests/test_delivery_contract.py tests/test_intent_writes.py tests/test_bulk_purge.py \
	tests/test_delivery_statements.py tests/test_autopurge_batching.py

# The linters first (seconds), so that a change that passes make test passes make lint too.
test: $(STAMP) browser
	$(BIN)/python -m ruff check django_akamai tests example benchmarks docs
	$(BIN)/python -m ruff format --check django_akamai tests example benchmarks docs
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	AKAMAI_TEST_DATABASE=postgresql $(BIN)/python -m pytest $(PIPELINE_TESTS)
	AKAMAI_TEST_DATABASE=mariadb $(BIN)/python -m pytest $(PIPELINE_TESTS)

BROWSER_PACKAGES := chromium chromium-driver
HAVE_BROWSER := command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
# Two `make test` at once take turns (flock), the second finding the packages installed;
# apt waits for its own locks if something else holds them.
APT_WAIT := -o DPkg::Lock::Timeout=900

# Headless Chromium and its driver for tests/test_browser.py, installed when missing.
browser:
	@if $(HAVE_BROWSER); then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO flock /tmp/django-akamai-apt.lock sh -c '$(HAVE_BROWSER) || \
	    { apt-get $(APT_WAIT) update && apt-get $(APT_WAIT) install -y $(BROWSER_PACKAGES); }'; \
	else echo "no chromium/chromedriver and no apt-get: browser tests will be skipped" >&2; fi

# make demo installs only what the demo needs (requirements-demo.txt: the package and Celery).
DEMO_STAMP := $(VENV)/.demo-installed
$(DEMO_STAMP): $(BIN)/python setup.py requirements-demo.txt
	$(BIN)/python -m pip install --quiet -r requirements-demo.txt
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	cd example && ../$(BIN)/python manage.py demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# The checks of .pre-commit-config.yaml: ruff, and mypy with django-stubs on django_akamai
# (its configuration is in pyproject.toml).
lint: $(STAMP)
	$(BIN)/python -m ruff check django_akamai tests example benchmarks docs
	$(BIN)/python -m ruff format --check django_akamai tests example benchmarks docs
	$(BIN)/python -m mypy

# -n: every cross-reference must resolve; -W --keep-going: list every warning, then fail.
docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -n -q -b html docs docs/_build/html

format: $(STAMP)
	$(BIN)/python -m ruff format django_akamai tests example benchmarks docs
	$(BIN)/python -m ruff check --fix django_akamai tests example benchmarks docs

clean:
	rm -rf $(VENV) .venv-bench .tox build dist *.egg-info test-artifacts docs/_build
