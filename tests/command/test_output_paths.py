"""No output path touches a file of the user's: the stub directory is the plugin's own, inside the
project, never its root, never a directory of the user's files, from the command line or the table
alike; every refusal is one line and leaves every file byte for byte as it was."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from helpers import assert_one_line_error, set_in_pyproject

if TYPE_CHECKING:
    from pathlib import Path


def _snapshot(top: Path) -> dict[str, bytes]:
    """Every file under `top` (the project and what lies beside it), with its bytes."""
    return {str(path.relative_to(top)): path.read_bytes() for path in sorted(top.rglob("*")) if path.is_file()}


def _with_sibling(project, name: str) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    root = project(name)
    sibling = root.parent / "other-project"
    sibling.mkdir()
    (sibling / "pyproject.toml").write_text('[tool.poetry]\nname = "other"\nversion = "9.9.9"\n')
    (sibling / "poetry.lock").write_text("# the other project's lock\n")
    return root, sibling


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (".", "is not inside the project"),
        ("..", "is not inside the project"),
        ("../other-project", "is not inside the project"),
        ("ABSOLUTE", "is not inside the project"),
        ("classic_app", "holds files poetry-plugin-docker did not write (__init__.py)"),
    ],
)
@pytest.mark.parametrize("command", ["build-context --output", "dockerfile --stub-dir"])
def test_a_stub_directory_that_is_not_the_plugins_own_is_refused(project, poetry_cli, command, value, rule) -> None:
    root, sibling = _with_sibling(project, "classic")
    value = str(sibling) if value == "ABSOLUTE" else value
    before = _snapshot(root.parent)
    run = poetry_cli(root, f"docker {command} {value}")
    assert_one_line_error(run, f"{command.split()[1]} {value} {rule}")
    assert _snapshot(root.parent) == before


@pytest.mark.parametrize("value", [".", "../out"])
@pytest.mark.parametrize("command", ["build-context", "dockerfile", "build"])
def test_the_tables_stub_dir_is_refused_alike_by_every_command(project, poetry_cli, command, value) -> None:
    root, _ = _with_sibling(project, "classic")
    set_in_pyproject(root, "[tool.poetry]", f'[tool.poetry-plugin-docker]\nstub-dir = "{value}"\n\n[tool.poetry]')
    before = _snapshot(root.parent)
    run = poetry_cli(root, f"docker {command}")
    assert_one_line_error(run, f"stub-dir in [tool.poetry-plugin-docker] {value} is not inside the project")
    assert _snapshot(root.parent) == before


def test_a_symbolic_link_out_of_the_project_is_refused(project, poetry_cli) -> None:
    root, sibling = _with_sibling(project, "classic")
    (root / ".docker-deps").symlink_to(sibling)
    before = _snapshot(root.parent)
    run = poetry_cli(root, "docker build-context")
    assert_one_line_error(run, "--output .docker-deps leads outside the project through a symbolic link")
    assert _snapshot(root.parent) == before


def test_the_dockerfile_is_written_inside_the_project_only(project, poetry_cli) -> None:
    root, sibling = _with_sibling(project, "classic")
    before = _snapshot(root.parent)
    for value in ("../other-project/Dockerfile", str(sibling / "Dockerfile"), "."):
        assert_one_line_error(poetry_cli(root, f"docker dockerfile --output {value}"), "is not inside the project")
    assert _snapshot(root.parent) == before


def test_its_own_stub_is_rewritten_and_a_new_or_empty_directory_taken(project, poetry_cli) -> None:
    root = project("classic")
    (root / "empty").mkdir()
    for output in (".docker-deps", ".docker-deps", "empty", "docker/deps"):
        run = poetry_cli(root, f"docker build-context --output {output}")
        assert run.status == 0, run.error
        assert (root / output / ".poetry-plugin-docker").is_file()
    # A stub written before the marker existed is the plugin's too.
    (root / "empty" / ".poetry-plugin-docker").unlink()
    assert poetry_cli(root, "docker build-context --output empty").status == 0


def test_a_source_directory_is_refused(project, poetry_cli) -> None:
    root = project("pep621-src")
    before = _snapshot(root)
    run = poetry_cli(root, "docker build-context --output src")
    assert_one_line_error(run, "--output src holds files poetry-plugin-docker did not write")
    assert _snapshot(root) == before
