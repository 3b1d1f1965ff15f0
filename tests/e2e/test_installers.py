"""`--installer uv` installs exactly what `--installer poetry` installs (issue 10, goal 5).

Each fixture shape is built twice, with the real engine, once per installer, and the
runtime virtualenvs are compared: the same distributions, versions and installed files.
Poetry's virtualenv also holds pip, which Poetry seeds it with: pip is no dependency of
the project, and the uv one goes without.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from imagebuild import DOCKERFILE_OPTIONS, Project
from installed_set import LISTING

pytestmark = pytest.mark.docker

# The seed Poetry's virtualenv gets besides the dependencies.
POETRY_SEEDS = {"pip"}


def _installed(app: Project, tag: str) -> dict[str, list[object]]:
    result = subprocess.run(
        [app.docker, "run", "--rm", "--network=none", "--entrypoint", "python", tag, "-c", LISTING],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def _build(app: Project, installer: str, options: list[str]) -> str:
    app.poetry("docker", "build-context", "--installer", installer, *options)
    app.poetry("docker", "dockerfile", "--force", *DOCKERFILE_OPTIONS, "--installer", installer, *options)
    return app.build(prepare=False).tag


@pytest.mark.parametrize(
    ("fixture", "options"),
    [
        ("example", []),
        ("classic", []),
        ("extras-pep621", ["-E", "idn"]),
        ("dependency-groups", ["--with", "lint"]),
        ("no-dependencies", []),
    ],
)
def test_uv_installs_the_set_poetry_installs(project, docker, fixture, options) -> None:
    app = Project(project(fixture), docker, f"installers-{fixture}")
    try:
        by_poetry = _installed(app, _build(app, "poetry", options))
        by_uv = _installed(app, _build(app, "uv", options))
        assert "pip" not in by_uv
        assert {name: value for name, value in by_poetry.items() if name not in POETRY_SEEDS} == by_uv
        assert len(by_uv) >= (1 if fixture == "no-dependencies" else 2)  # the project, and what it depends on
    finally:
        app.remove_images()

