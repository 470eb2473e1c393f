# Twinplan developer commands. Needs python3 (>= 3.11, with its venv module) and
# make; `make test` also needs Node.js with npm, and Chromium for the browser tests
# (`make test-tools` installs both with apt-get):
#
#   make run         install the runtime, migrate, load the demo data and demo
#                    accounts (it prints their password: TWINPLAN_DEMO_PASSWORD, or
#                    a new one each time), serve on 127.0.0.1:8000 (TWINPLAN_HOST, TWINPLAN_PORT)
#   make test        install (with the dev group), run the test suite
#                    (SQLite; set TWINPLAN_TEST_DATABASE_URL for PostgreSQL)
#   make test-tools  install Node.js, npm and Chromium if missing (apt-get), and ical.js
#   make lint        ruff check, mypy (app, bench), lint-imports (the layers of app/)
#   make check       lint + models/migrations drift check (alembic check)
#
# uv is bootstrapped into .tools/ at a pinned version; the app's environment
# is .venv/, installed from uv.lock and re-synced only when the lock changes.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# Touched after each successful sync; their age against uv.lock decides re-syncs.
# Two of them, so that `make run` and `make test` never undo each other's work:
# SYNCED is the project with the dev group (tests, linters), RUNTIME_SYNCED the
# project alone, all that serving needs. A dev sync satisfies both.
SYNCED := $(VENV)/.synced
RUNTIME_SYNCED := $(VENV)/.synced-runtime
PYTEST_ARGS ?=
# Test processes (pytest-xdist): the suite is mostly waiting on servers, browsers
# and databases, so two processes halve it even on two cores (a test file stays in
# one process, with its module-scoped servers and browsers). JOBS=0: one process.
JOBS ?= 2

# Never fetch a managed Python: use the machine's python3 (pyproject says so
# too). Always install into ./.venv, whatever the caller's environment says.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.DEFAULT_GOAL := help
.PHONY: help install install-runtime js-deps test-tools run test lint check check-migrations \
	bench clean

help:
	@echo "make run         install the runtime, migrate, seed demo data and accounts, serve"
	@echo "                 (TWINPLAN_HOST/TWINPLAN_PORT; the worker's links follow, via .env)"
	@echo "make test        run the tests (TWINPLAN_TEST_DATABASE_URL=postgresql+psycopg://... for PG);"
	@echo "                 needs Node.js and npm, and Chromium for the browser tests"
	@echo "make test-tools  install Node.js, npm and Chromium if missing (apt-get), then ical.js"
	@echo "make lint        ruff check . && mypy app bench && lint-imports"
	@echo "make check       lint + alembic check against a throwaway migrated SQLite database"
	@echo "make bench       run the benchmarks (python -m bench), if bench/ exists"
	@echo "make clean       remove .venv/ and .tools/ (keeps data/ and .env)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# One environment, .venv, for every target. --frozen: install exactly what uv.lock
# says. The dev group (uv's default) for tests and linters: an exact sync, which
# also removes what the lock no longer names.
$(SYNCED): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@ $(RUNTIME_SYNCED)

# The project and its runtime dependencies only (--no-dev). --inexact: dev tools
# that an earlier `make test` installed stay, so the two targets do not take turns
# installing and removing them.
$(RUNTIME_SYNCED): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --no-dev --inexact
	@touch $@

install: $(SYNCED)

install-runtime: $(RUNTIME_SYNCED)

# `twinplan serve` records the address it listens at in .env (unless you set
# TWINPLAN_PUBLIC_BASE_URL), so a `twinplan worker` started here builds the same links.
run: $(RUNTIME_SYNCED)
	$(BIN)/twinplan migrate
	$(BIN)/twinplan seed-demo --people
	$(BIN)/twinplan serve

# Mozilla's ical.js for the feed tests, panva's oidc-provider (a real OpenID
# Connect provider) for the single sign-on tests, and axe-core and Lighthouse for
# the console's browser tests, each exactly as its package-lock.json pins it;
# each reinstalled only when its lock changes.
JS_DIR := tests/calendars/js
OIDC_DIR := tests/accounts/oidc
CONSOLE_JS_DIR := tests/console/js
JS_DEPS := $(JS_DIR)/node_modules/.installed $(OIDC_DIR)/node_modules/.installed \
	$(CONSOLE_JS_DIR)/node_modules/.installed

NEED_NODE := echo "make: the tests need Node.js and npm (Mozilla's ical.js reads every\
feed, oidc-provider plays a city hall's identity provider); \`make test-tools\`\
installs them with apt-get, or get Node.js 20.19+ from https://nodejs.org" >&2; exit 1

%/node_modules/.installed: %/package.json %/package-lock.json
	@command -v npm >/dev/null 2>&1 || { $(NEED_NODE); }
	npm ci --prefix $* --no-audit --no-fund --loglevel=error
	@touch $@

js-deps: $(JS_DEPS)

# Node.js, npm and Chromium, from the system's packages (Debian, Ubuntu), when
# missing; then ical.js. As root, or through sudo. Elsewhere it says what to install.
test-tools:
	@missing=""; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	    || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	    if ! command -v apt-get >/dev/null 2>&1; then \
	        echo "make test-tools: no apt-get here; install these yourself:$$missing" >&2; \
	        exit 1; \
	    fi; \
	    sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	    echo "make test-tools: installing$$missing (apt-get)"; \
	    $$sudo apt-get update -qq && \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$missing || exit 1; \
	fi; \
	echo "node $$(node --version), npm $$(npm --version)"; \
	{ command -v chromium >/dev/null 2>&1 && chromium --version 2>/dev/null; } \
	    || chromium-browser --version 2>/dev/null
	@$(MAKE) --no-print-directory js-deps

# pytest exits 5 when it collected nothing; that is a failure, say so. Without
# Chromium the browser tests (console, /docs offline) are skipped, except in CI.
test: $(SYNCED) $(JS_DEPS)
	@command -v node >/dev/null 2>&1 || { $(NEED_NODE); }
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	    || echo "make test: no Chromium, so the console and /docs browser tests are" \
	            "skipped; \`make test-tools\` installs it" >&2
	@$(BIN)/pytest -n $(JOBS) --dist loadfile -m "not alone" $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	[ $$status -eq 0 ] || exit $$status; \
	echo "make test: the tests that time the machine (marked alone), with nothing beside them"; \
	$(BIN)/pytest -m alone $(PYTEST_ARGS)

lint: $(SYNCED)
	$(BIN)/ruff check .
	$(BIN)/mypy app bench
	$(BIN)/lint-imports

# Migrate a throwaway database to head, then fail if the models differ from it
# (alembic upgrade head + alembic check, in one process: imports are slow).
# CHECK_DATABASE_URL points it at another (empty) database, e.g. PostgreSQL.
check-migrations: $(SYNCED)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	url="$${CHECK_DATABASE_URL:-sqlite:///$$tmp/check.db}"; \
	echo "alembic upgrade head && alembic check ($${url%%://*})"; \
	TWINPLAN_DATABASE_URL="$$url" $(BIN)/python -c \
	    'from app.core import migrations; migrations.upgrade(); migrations.check()'

check: lint check-migrations

bench: $(SYNCED)
	@if [ -d bench ]; then $(BIN)/python -m bench; else echo "make bench: no bench/ yet"; fi

clean:
	rm -rf $(VENV) $(TOOLS)
