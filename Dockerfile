# syntax=docker/dockerfile:1
# Twinplan image: a uv build stage and a slim runtime stage without uv
# (after astral-sh/uv-docker-example, multistage.Dockerfile).
#
#   docker build -t twinplan .
#   docker run --rm -e TWINPLAN_DATABASE_URL=... twinplan twinplan migrate
#   docker run -p 8000:8000 -e TWINPLAN_DATABASE_URL=... twinplan
#
# Migrations are their own command (`twinplan migrate`, or
# `docker compose run --rm migrate`); the server never migrates on start.

# Builder and runtime must use the same base: the venv points at its python.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app

# Dependencies first, from the lock only, so this layer survives code changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-install-project --no-dev

# Then the project itself. It stays an editable install on purpose: the app
# finds alembic.ini, migrations/ and static/ next to the package in /app.
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev


FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 twinplan \
    && useradd --system --uid 10001 --gid twinplan --home-dir /app --no-create-home twinplan
COPY --from=builder --chown=twinplan:twinplan /app /app
WORKDIR /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    TWINPLAN_HOST=0.0.0.0 \
    TWINPLAN_PORT=8000
# Default database: a SQLite file in /app/data (mount a volume there to keep it);
# set TWINPLAN_DATABASE_URL=postgresql+psycopg://... for PostgreSQL.
RUN mkdir -p /app/data && chown twinplan:twinplan /app/data
USER twinplan

EXPOSE 8000
# No curl in slim images; python's urllib fails on connection errors and on 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TWINPLAN_PORT', '8000'), timeout=4)"]

CMD ["twinplan", "serve", "--host", "0.0.0.0", "--workers", "2"]
