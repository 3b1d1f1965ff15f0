"""The dependency stub for one selection of groups and extras, as data, before it is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from poetry_plugin_docker.project.loading import poetry_content_hash
from poetry_plugin_docker.stub.lock import (
    kept_groups,
    pruned_lock,
    pruned_pyproject,
    reachable_packages,
    root_requirements,
)
from poetry_plugin_docker.stub.path_dependencies import PathDependency, needed_path_dependencies, without_develop
from poetry_plugin_docker.stub.pyproject import render_stub_pyproject, stub_pyproject_data
from poetry_plugin_docker.toml import tomllib

if TYPE_CHECKING:
    from poetry_plugin_docker.project.loading import Project
    from poetry_plugin_docker.project.selection import Selection


@dataclass(frozen=True)
class Stub:
    """The stub for one selection of groups and extras, before it is written."""

    pyproject: dict[str, Any]
    lock: bytes
    lock_data: dict[str, Any]
    dependencies: list[PathDependency]  # the path dependencies it carries

    @property
    def pyproject_text(self) -> bytes:
        return render_stub_pyproject(self.pyproject).encode("utf-8")


def plan_stub(project: Project, selection: Selection) -> Stub:
    """The stub pruned to what installing this selection needs."""
    data = stub_pyproject_data(project.pyproject)
    groups = kept_groups(data, selection.groups)
    data = pruned_pyproject(data, groups, selection)
    without_develop(data["tool"]["poetry"])
    roots = root_requirements(project.poetry.package, selection, groups)
    kept = reachable_packages(project.lock_data, roots)
    # Every carried path dependency is installed non-editable, whichever group declared it
    # `develop = true`: the lock records it per package, and Poetry installs what the lock says.
    lock = pruned_lock(project.lock, kept, groups, selection, poetry_content_hash(data), non_editable=True)
    lock_data = project.lock_data if lock is project.lock else tomllib.loads(lock.decode("utf-8"))
    return Stub(
        pyproject=data,
        lock=lock,
        lock_data=lock_data,
        dependencies=needed_path_dependencies(lock_data, project.root),
    )
