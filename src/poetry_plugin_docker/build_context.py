"""`poetry docker build-context`: write (or check) the dependency stub."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from poetry_plugin_docker.files import differing_files, write_files_atomically
from poetry_plugin_docker.files import shown as shown_path
from poetry_plugin_docker.path_dependencies import (
    PathDependency,
    dependency_dirs_in_stub,
    lock_without_develop,
    needed_path_dependencies,
    stale_copies,
    stub_layout,
    without_develop,
)
from poetry_plugin_docker.project import Project, poetry_content_hash
from poetry_plugin_docker.result import Result
from poetry_plugin_docker.stub import STUB_LOCK, STUB_PYPROJECT, render_stub_pyproject, stub_pyproject_data


def stub_files(project: Project, dependencies: list[PathDependency]) -> dict[str, bytes]:
    """The stub's files by path inside the stub directory, carrying these path dependencies."""
    data = stub_pyproject_data(project.pyproject)
    lock = project.lock
    if without_develop(data["tool"]["poetry"]):
        lock = lock_without_develop(lock, poetry_content_hash(data))
    project_dir, dependency_files = stub_layout(project.root, dependencies)
    prefix = "" if project_dir == "." else f"{project_dir}/"
    return {
        f"{prefix}{STUB_PYPROJECT}": render_stub_pyproject(data).encode("utf-8"),
        f"{prefix}{STUB_LOCK}": lock,
        **dependency_files,
    }


def write_build_context(
    project: Project, output: Path, *, groups: Iterable[str] | None = None, check: bool = False
) -> Result:
    dependencies = needed_path_dependencies(project.lock_data, project.root, groups)
    files = stub_files(project, dependencies)
    shown = shown_path(output, project.root) + "/"
    stale = stale_copies(output, files, dependency_dirs_in_stub(project.root, dependencies))
    if check:
        differences = differing_files(output, files) + [f"{name} should be gone" for name in stale]
        if differences:
            return Result(
                False,
                f"The dependency stub in {shown} is out of date ({'; '.join(differences)}). "
                "Run `poetry docker build-context`.",
            )
        return Result(True, f"The dependency stub in {shown} is up to date.")
    write_files_atomically(output, files, "--output")
    for name in stale:  # deleted from the library: the copy must not keep it
        (output / name).unlink()
    message = f"Wrote the dependency stub to {shown} (pyproject.toml, poetry.lock)."
    if dependencies:
        carried = ", ".join(f"{dep.name} ({dep.url})" for dep in dependencies)
        message += (
            f" It carries the path dependencies {carried} at their paths relative to the project, "
            "so the build context can stay the project root."
        )
    return Result(True, message)
