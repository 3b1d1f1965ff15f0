# Dockerfile 2, "hand-written": the best pattern of the well-known articles (cited in
# docs/benchmarks.md): pinned Poetry, pyproject.toml + poetry.lock copied before the code,
# `poetry install --no-root` with a cache mount, multi-stage, slim runtime, non-root user.
# Used by benchmarks/run.py for both benchmark projects (PACKAGE and ENTRY are build args).

# Builder: the full image, which has the compilers a source distribution may need.
FROM python:3.11 AS builder

# The one concession to this machine, made by all three Dockerfiles: Poetry reaches the
# package index only through poetry-plugin-pypi-mirror, configured by this build argument.
ARG POETRY_PYPI_MIRROR_URL

# Poetry pinned, so that every build resolves and installs the same way.
RUN pip install poetry==2.5.1 poetry-plugin-pypi-mirror

# An in-project virtualenv (the runtime stage copies it); Poetry's cache outside the image.
ENV POETRY_NO_INTERACTION=1 \
    POETRY_VIRTUALENVS_IN_PROJECT=1 \
    POETRY_VIRTUALENVS_CREATE=1 \
    POETRY_CACHE_DIR=/tmp/poetry_cache

WORKDIR /app

# Only the dependency files before the code, so that a code change keeps the install cached.
COPY pyproject.toml poetry.lock ./

# Dependencies only (--no-root), main group only; downloads kept in a BuildKit cache mount.
RUN --mount=type=cache,target=/tmp/poetry_cache poetry install --without dev --no-root

# Runtime: the slim image, without Poetry, compilers or caches.
FROM python:3.11-slim AS runtime

# A fixed non-root user, created before the big layers so that it is never rebuilt.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin app

# Use the virtualenv without activating it.
ENV VIRTUAL_ENV=/app/.venv \
    PATH="/app/.venv/bin:$PATH"

WORKDIR /app

# The dependencies from the builder.
COPY --from=builder /app/.venv /app/.venv

# The code last: the package directory, run from source (the project itself is not installed).
ARG PACKAGE
COPY ${PACKAGE} ./${PACKAGE}

# The application never needs root.
USER 10001:10001

# The project's script target (module:function), a build arg so one file serves both projects.
ARG ENTRY
ENV APP_ENTRY=${ENTRY}
ENTRYPOINT ["python", "-c", "import importlib, os, sys; m, f = os.environ['APP_ENTRY'].split(':'); sys.exit(getattr(importlib.import_module(m), f)())"]
