# The two commands: `make run` (the portal with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Test processes (pytest-xdist): the browser tests and the process tests mostly wait, so two keep both cores busy.
PYTEST_WORKERS ?= 2
DEV_ENV := DEBUG=true

.PHONY: run test install install-test browser lint bench serve clean

$(BIN)/python:
	@python=$$(./bin/find-python) || exit 1; \
	echo "Using $$python ($$($$python --version))"; \
	$$python -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"

$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --group app
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --group test
	@touch $@ $(VENV)/.app-installed

install: $(VENV)/.app-installed
install-test: $(VENV)/.test-installed

run: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEV_ENV) $(BIN)/python manage.py createcachetable
	$(DEV_ENV) $(BIN)/python manage.py seed_demo --site-url http://127.0.0.1:$(PORT)
	@# The task worker (requested links, email deliveries) beside the web server; Ctrl-C stops both.
	$(DEV_ENV) SITE_URL=http://127.0.0.1:$(PORT) $(BIN)/python manage.py db_worker --no-startup-delay & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(DEV_ENV) SITE_URL=http://127.0.0.1:$(PORT) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Debian's chromium drives the browser tests; installed when missing and we may (root).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing chromium for the browser tests…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "No /usr/bin/chromium: browser tests will be skipped (install Debian's chromium package to run them)."; \
	  fi; \
	fi

test: install-test browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The target scale is loaded into PostgreSQL (portal_bench) the first time and kept; django-helpdesk, measured
# beside the portal, is installed into .bench/helpdesk-venv. BENCH_ARGS="--quick" for a short look.
bench: install-test
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache .mypy_cache
