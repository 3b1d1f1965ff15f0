"""`poetry docker build-context`: write (or check) the dependency stub."""

from __future__ import annotations

from pathlib import Path

from poetry_plugin_docker.files import differing_files, write_files_atomically
from poetry_plugin_docker.files import shown as shown_path
from poetry_plugin_docker.project import Project
from poetry_plugin_docker.result import Result
from poetry_plugin_docker.stub import render_stub


def write_build_context(project: Project, output: Path, *, check: bool = False) -> Result:
    files = render_stub(project.pyproject, project.lock).files()
    shown = shown_path(output, project.root) + "/"
    if check:
        differences = differing_files(output, files)
        if differences:
            return Result(
                False,
                f"The dependency stub in {shown} is out of date ({'; '.join(differences)}). "
                "Run `poetry docker build-context`.",
            )
        return Result(True, f"The dependency stub in {shown} is up to date.")
    write_files_atomically(output, files, "--output")
    return Result(True, f"Wrote the dependency stub to {shown} ({', '.join(files)}).")
