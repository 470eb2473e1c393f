# Twinplan developer commands. Needs only python3 (>= 3.11) and make:
#
#   make run     install, migrate, load the demo data, serve on 127.0.0.1:8000
#   make test    install (with the dev group), run the test suite
#                (SQLite; set TWINPLAN_TEST_DATABASE_URL for PostgreSQL)
#   make lint    ruff check, mypy, lint-imports (the layers of app/)
#   make check   lint + models/migrations drift check (alembic check)
#
# uv is bootstrapped into .tools/ at a pinned version; the app's environment
# is .venv/, installed from uv.lock and re-synced only when the lock changes.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# Touched after each successful sync; its age against uv.lock decides re-syncs.
SYNCED := $(VENV)/.synced
PYTEST_ARGS ?=

# Never fetch a managed Python: use the machine's python3 (pyproject says so
# too). Always install into ./.venv, whatever the caller's environment says.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.DEFAULT_GOAL := help
.PHONY: help install js-deps run test lint check check-migrations bench clean

help:
	@echo "make run      install, migrate, seed demo data, serve (TWINPLAN_HOST/TWINPLAN_PORT)"
	@echo "make test     run the tests (TWINPLAN_TEST_DATABASE_URL=postgresql+psycopg://... for PG)"
	@echo "make lint     ruff check . && mypy app && lint-imports"
	@echo "make check    lint + alembic check against a throwaway migrated SQLite database"
	@echo "make bench    run the benchmarks (python -m bench), if bench/ exists"
	@echo "make clean    remove .venv/ and .tools/ (keeps data/)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# One environment for every target: the project (editable) plus the dev group,
# which uv installs by default. --frozen: install exactly what uv.lock says.
$(SYNCED): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

install: $(SYNCED)

run: $(SYNCED)
	$(BIN)/twinplan migrate
	$(BIN)/twinplan seed-demo
	$(BIN)/twinplan serve

# Mozilla's ical.js for the feed tests, exactly as package-lock.json pins it;
# reinstalled only when the lock changes.
JS_DIR := tests/calendars/js
JS_DEPS := $(JS_DIR)/node_modules/.installed

$(JS_DEPS): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error
	@touch $@

js-deps: $(JS_DEPS)

# pytest exits 5 when it collected nothing; that is a failure, say so.
test: $(SYNCED) $(JS_DEPS)
	@$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$status

lint: $(SYNCED)
	$(BIN)/ruff check .
	$(BIN)/mypy app
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
