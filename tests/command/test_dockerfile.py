from __future__ import annotations

import os
import sys

import pytest

from helpers import assert_one_line_error, hadolint, relock, set_in_pyproject

MIRROR_ARGS = "--syntax none --builder-plugin poetry-plugin-pypi-mirror --build-arg POETRY_PYPI_MIRROR_URL"
SHAPES = [
    "classic",
    "pep621-src",
    "extras-pep621",
    "extras-poetry",
    "non-package",
    "explicit-source",
    "dependency-groups",
    "example",
    "monorepo/services/api",
    "monorepo/services/worker",
]


@pytest.mark.parametrize("name", SHAPES)
@pytest.mark.parametrize("options", ["", MIRROR_ARGS])
def test_every_shape_gets_a_dockerfile_hadolint_accepts(project, poetry_cli, name, options) -> None:
    root = project(name)
    run = poetry_cli(root, f"docker dockerfile {options}")
    assert run.status == 0, run.error
    dockerfile = root / "Dockerfile"
    result = hadolint(dockerfile)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout
    text = dockerfile.read_text()
    assert text.startswith("# syntax=docker/dockerfile:1\n") == (options == "")


def test_the_version_is_nowhere_and_a_bump_changes_nothing(project, poetry_cli) -> None:
    root = project("example")
    assert poetry_cli(root, "docker dockerfile").status == 0
    before = (root / "Dockerfile").read_text()
    assert "1.4.2" not in before
    set_in_pyproject(root, 'version = "1.4.2"', 'version = "1.4.3"')
    run = poetry_cli(root, "docker dockerfile --check")
    assert run.status == 0, run.error
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert (root / "Dockerfile").read_text() == before


def test_options_appear_in_the_dockerfile(project, poetry_cli) -> None:
    root = project("pep621-src")
    run = poetry_cli(
        root,
        "docker dockerfile --output docker/Dockerfile --stub-dir docker/deps --with dev --python 3.12 "
        "--base-image registry.example.com/python:3.12 --runtime-image registry.example.com/python:3.12-slim "
        f"--entrypoint pep621-app {MIRROR_ARGS} --build-arg PIP_INDEX_URL",
    )
    assert run.status == 0, run.error
    text = (root / "docker/Dockerfile").read_text()
    assert "FROM registry.example.com/python:3.12 AS poetry" in text
    assert "FROM registry.example.com/python:3.12-slim AS runtime" in text
    assert "COPY docker/deps/pyproject.toml docker/deps/poetry.lock /app/" in text
    assert "poetry install --no-root --only main,dev" in text
    assert "'poetry-plugin-pypi-mirror==" in text
    assert text.count("ARG POETRY_PYPI_MIRROR_URL") == 2 and text.count("ARG PIP_INDEX_URL") == 2
    assert 'ENTRYPOINT ["pep621-app"]' in text
    assert "COPY src /app/src" in text and "COPY README.md pyproject.toml /app/" in text
    assert "# Regenerate: poetry docker dockerfile --output=docker/Dockerfile --stub-dir=docker/deps" in text
    # Regenerating with the recorded command gives the same file.
    command = text.split("# Regenerate: poetry ", 1)[1].splitlines()[0]
    assert poetry_cli(root, command + " --check").status == 0


def test_python_version_follows_the_constraint(project, poetry_cli) -> None:
    root = project("classic")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert f"FROM python:{running}-slim AS runtime" in (root / "Dockerfile").read_text()
    set_in_pyproject(root, 'python = ">=3.9"', 'python = ">=3.9,<3.11"')
    assert_one_line_error(poetry_cli(root, "docker dockerfile --force"), "poetry lock")
    relock(root)
    assert poetry_cli(root, "docker dockerfile --force").status == 0
    assert "FROM python:3.10-slim AS runtime" in (root / "Dockerfile").read_text()
    assert poetry_cli(root, "docker dockerfile --force --python 3.9").status == 0
    assert "FROM python:3.9-slim AS runtime" in (root / "Dockerfile").read_text()


def test_extras_and_groups_are_validated(project, poetry_cli) -> None:
    root = project("extras-pep621")
    run = poetry_cli(root, "docker dockerfile -E idn --extras ini")
    assert run.status == 0, run.error
    assert 'poetry install --no-root --only main --extras "idn ini"' in (root / "Dockerfile").read_text()
    assert_one_line_error(poetry_cli(root, "docker dockerfile --force -E nope"), "Extra 'nope'")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --force --with nope"), "Group 'nope'")


def test_non_package_ships_application_files(project, poetry_cli) -> None:
    root = project("non-package")
    assert poetry_cli(root, "docker dockerfile").status == 0
    text = (root / "Dockerfile").read_text()
    assert "FROM poetry AS wheel" not in text
    assert "COPY manage.py /app/" in text and "COPY webapp /app/webapp" in text
    assert "tests" not in text.split("FROM python:3.11-slim AS runtime")[-1].replace("# ", "")
    assert "PYTHONPATH=/app" in text


def test_refuses_to_overwrite_a_hand_written_dockerfile(project, poetry_cli) -> None:
    root = project("classic")
    (root / "Dockerfile").write_text("FROM scratch\n")
    run = poetry_cli(root, "docker dockerfile")
    assert_one_line_error(run, "was not generated by poetry-plugin-docker", "--force")
    assert (root / "Dockerfile").read_text() == "FROM scratch\n"
    assert poetry_cli(root, "docker dockerfile --force").status == 0
    assert "FROM scratch" not in (root / "Dockerfile").read_text()


def test_refuses_to_overwrite_a_hand_edited_dockerfile(project, poetry_cli) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert poetry_cli(root, "docker dockerfile").status == 0  # its own output: fine
    edited = (root / "Dockerfile").read_text() + "EXPOSE 8000\n"
    (root / "Dockerfile").write_text(edited)
    run = poetry_cli(root, "docker dockerfile")
    assert_one_line_error(run, "was edited since poetry-plugin-docker generated it", "--force")
    assert (root / "Dockerfile").read_text() == edited


def test_check(project, poetry_cli) -> None:
    root = project("classic")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --check"), "is missing")
    assert not (root / "Dockerfile").exists()
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert poetry_cli(root, "docker dockerfile --check").status == 0
    assert_one_line_error(poetry_cli(root, "docker dockerfile --check --python 3.12"), "differs")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_as_user(project, poetry_cli) -> None:  # pragma: no cover - CI runs as root
    root = project("classic")
    (root / "ro").mkdir(mode=0o500)
    assert_one_line_error(poetry_cli(root, "docker dockerfile --output ro/Dockerfile"), "Cannot write")


def test_unwritable_output(project, poetry_cli) -> None:
    root = project("classic")
    (root / "blocker").write_text("a file, not a directory")
    run = poetry_cli(root, "docker dockerfile --output blocker/Dockerfile")
    assert_one_line_error(run, "Cannot write", "--output")


def test_unsatisfiable_python_constraint(project, poetry_cli) -> None:
    root = project("classic")
    set_in_pyproject(root, 'python = ">=3.9"', 'python = ">=4.0"')
    relock(root)
    run = poetry_cli(root, "docker dockerfile")
    assert_one_line_error(run, "No python:3.X image satisfies", "--python")
    assert not (root / "Dockerfile").exists()


def test_bad_option_values(project, poetry_cli) -> None:
    root = project("classic")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --stub-dir ../x"), "--stub-dir")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --python 3"), "--python 3")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --build-arg A=b"), "--build-arg A=b")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --entrypoint nope"), "--entrypoint nope")
    assert not (root / "Dockerfile").exists()


CONFIG = """
[tool.poetry-plugin-docker]
stub-dir = "docker/deps"
dockerfile = "docker/Dockerfile"
with = ["dev"]
python = "3.12"
syntax = "none"
builder-plugins = ["poetry-plugin-pypi-mirror"]
build-args = ["POETRY_PYPI_MIRROR_URL"]
"""


def test_configuration_table_sets_every_default_and_flags_override_it(project, poetry_cli) -> None:
    root = project("pep621-src")
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + CONFIG)
    assert poetry_cli(root, "docker build-context").status == 0
    assert (root / "docker/deps/poetry.lock").exists()
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    text = (root / "docker/Dockerfile").read_text()
    assert not text.startswith("# syntax")
    assert "FROM python:3.12-slim AS runtime" in text
    assert "COPY docker/deps/pyproject.toml docker/deps/poetry.lock /app/" in text
    assert "--only main,dev" in text and "ARG POETRY_PYPI_MIRROR_URL" in text
    assert "# Regenerate: poetry docker dockerfile\n" in text

    run = poetry_cli(root, "docker dockerfile --python 3.13 --only main")
    assert run.status == 0, run.error
    text = (root / "docker/Dockerfile").read_text()
    assert "FROM python:3.13-slim AS runtime" in text and "--only main\n" in text


def test_bad_configuration_is_one_line(project, poetry_cli) -> None:
    root = project("classic")
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + '\n[tool.poetry-plugin-docker]\npyton = "3.12"\n')
    assert_one_line_error(poetry_cli(root, "docker dockerfile"), "Unknown key 'pyton'")
    assert_one_line_error(poetry_cli(root, "docker build-context"), "Unknown key 'pyton'")


def test_requires_plugins_are_installed_in_the_builder(project, poetry_cli) -> None:
    root = project("classic")
    set_in_pyproject(root, "[tool.poetry.scripts]", '[tool.poetry.requires-plugins]\npoetry-plugin-export = ">=1.8,<2"\n\n[tool.poetry.scripts]')
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    assert "'poetry-plugin-export>=1.8,<2'" in (root / "Dockerfile").read_text()
    assert hadolint(root / "Dockerfile").stdout == ""


def test_dockerignore_is_written_and_merged_into_a_hand_written_one(project, poetry_cli) -> None:
    root = project("pep621-src")
    (root / ".dockerignore").write_text("# ours\n.*\nsrc\nnotes.txt\n")
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    assert "Wrote Dockerfile and .dockerignore." in run.output
    text = (root / ".dockerignore").read_text()
    assert text.startswith("# ours\n.*\nsrc\nnotes.txt\n")
    assert "!.docker-deps\n" in text and "!src\n" in text
    assert poetry_cli(root, "docker dockerfile --check").status == 0
    (root / ".dockerignore").write_text("# ours\n.*\n")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --check"), ".dockerignore differs")


def test_credentials_in_a_source_url_are_refused(project, poetry_cli) -> None:
    root = project("explicit-source")
    set_in_pyproject(root, "https://packages.example.com", "https://ci:s3cret@packages.example.com")
    for command in ("docker build-context", "docker dockerfile"):
        run = poetry_cli(root, command)
        assert_one_line_error(run, "source 'internal'", "holds credentials", "POETRY_HTTP_BASIC_INTERNAL_USERNAME")
        assert "s3cret" not in run.error
    assert not (root / ".docker-deps").exists() and not (root / "Dockerfile").exists()


def test_sources_with_credentials_get_a_secret_mount(project, poetry_cli, monkeypatch) -> None:
    root = project("explicit-source")
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert "type=secret" not in (root / "Dockerfile").read_text()
    monkeypatch.setenv("POETRY_HTTP_BASIC_INTERNAL_USERNAME", "ci")
    monkeypatch.setenv("POETRY_HTTP_BASIC_INTERNAL_PASSWORD", "s3cret")
    assert poetry_cli(root, "docker dockerfile").status == 0
    text = (root / "Dockerfile").read_text()
    assert "--mount=type=secret,id=internal-credentials,required=true" in text
    assert 'POETRY_HTTP_BASIC_INTERNAL_PASSWORD="$(cut -d: -f2- /run/secrets/internal-credentials)"' in text
    assert "s3cret" not in text and "ARG POETRY_HTTP_BASIC" not in text
    assert hadolint(root / "Dockerfile").stdout == ""


def test_secret_source_option(project, poetry_cli) -> None:
    root = project("explicit-source")
    assert poetry_cli(root, "docker dockerfile --secret-source internal").status == 0
    assert "id=internal-credentials" in (root / "Dockerfile").read_text()
    assert_one_line_error(poetry_cli(root, "docker dockerfile --secret-source nope"), "--secret-source nope")
