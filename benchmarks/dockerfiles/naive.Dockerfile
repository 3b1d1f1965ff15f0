# Dockerfile 1, "naive": the first Dockerfile of most introductions to Poetry in Docker.
# Used by benchmarks/run.py for both benchmark projects (PACKAGE and ENTRY are build args).

# One stage on the full image: compilers, headers and Poetry all ship in the runtime image.
FROM python:3.11

# The one concession to this machine, made by all three Dockerfiles: Poetry reaches the
# package index only through poetry-plugin-pypi-mirror, configured by this build argument.
ARG POETRY_PYPI_MIRROR_URL

# Poetry pinned, installed with pip into the image's Python, next to the application.
RUN pip install poetry==2.5.1 poetry-plugin-pypi-mirror

WORKDIR /app

# Everything at once: any change (code, version, lock) invalidates every layer below.
COPY . .

# Dependencies and the project itself straight into the system Python, dev group left out.
RUN poetry config virtualenvs.create false \
    && poetry install --without dev --no-interaction --no-ansi

# The project's script target (module:function), a build arg so one file serves both projects.
ARG ENTRY
ENV APP_ENTRY=${ENTRY}
ENTRYPOINT ["python", "-c", "import importlib, os, sys; m, f = os.environ['APP_ENTRY'].split(':'); sys.exit(getattr(importlib.import_module(m), f)())"]
