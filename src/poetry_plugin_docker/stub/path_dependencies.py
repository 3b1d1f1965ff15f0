"""Path dependencies (monorepos): carried into the stub, installed non-editable.

The stub holds each path dependency the image needs, at the same position
relative to the project as on disk, so the lock's relative URLs stay valid
inside the stub and the Docker build context can stay the project root even for
`../libs/core`. Inside the stub the project sits below the common ancestor of
itself and its path dependencies:

    .docker-deps/services/api/pyproject.toml   (the project's stub)
    .docker-deps/services/api/poetry.lock
    .docker-deps/libs/core/...                 (what building `core` needs)

`develop = true` is dropped in the stub pyproject and becomes `develop = false` for
every package of its lock, whatever group declared it (the content-hash is
recomputed with Poetry's own code): an editable install would point at the
builder's source tree, which the runtime image does not have.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from poetry.core.factory import Factory

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.project.loading import read_toml

# What is never part of a path dependency's source when it is not a Poetry project.
_SKIPPED = re.compile(r"^(\..*|__pycache__|dist|build|.*\.egg-info|.*\.py[cod]|node_modules)$")


@dataclass(frozen=True)
class PathDependency:
    name: str
    url: str
    path: Path


def needed_path_dependencies(lock_data: dict[str, Any], root: Path) -> list[PathDependency]:
    """The directory dependencies in a lock already pruned to what the image installs."""
    found = []
    for package in lock_data.get("package", []):
        source = package.get("source") or {}
        if source.get("type") != "directory":
            continue
        path = (root / source["url"]).resolve()
        if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
            raise UserError(
                f"Path dependency {package['name']} ({source['url']}) is not a project directory "
                f"at {path}. Fix its path in pyproject.toml and run `poetry lock`."
            )
        found.append(PathDependency(package["name"], source["url"], path))
    return found


def _common_ancestor(root: Path, dependencies: list[PathDependency]) -> Path:
    ancestor = Path(os.path.commonpath([root.resolve(), *(dep.path for dep in dependencies)]))
    if ancestor == Path(ancestor.anchor):
        raise UserError(
            "The project and its path dependencies share no directory but the file system root; "
            "keep them in one repository."
        )
    return ancestor


def project_dir_in_stub(root: Path, dependencies: list[PathDependency]) -> str:
    """Where the project's stub files sit inside the stub directory."""
    if not dependencies:
        return "."
    return root.resolve().relative_to(_common_ancestor(root, dependencies)).as_posix()


def dependency_dirs_in_stub(root: Path, dependencies: list[PathDependency]) -> list[str]:
    """Where each carried path dependency's copy sits inside the stub directory."""
    if not dependencies:
        return []
    ancestor = _common_ancestor(root, dependencies)
    return [dependency.path.relative_to(ancestor).as_posix() for dependency in dependencies]


def stale_copies(stub_dir: Path, files: dict[str, bytes], directories: list[str]) -> list[str]:
    """Files left in the stub's copies of path dependencies that the dependencies no longer have."""
    stale = []
    for directory in directories:
        for path in sorted((stub_dir / directory).rglob("*")):
            relative = path.relative_to(stub_dir).as_posix()
            if path.is_file() and relative not in files:
                stale.append(relative)
    return stale


def stub_layout(root: Path, dependencies: list[PathDependency]) -> tuple[str, dict[str, bytes]]:
    """The project's directory inside the stub, and the path dependencies' files by stub path."""
    project_dir = project_dir_in_stub(root, dependencies)
    if not dependencies:
        return project_dir, {}
    ancestor = _common_ancestor(root, dependencies)
    files: dict[str, bytes] = {}
    for dependency in dependencies:
        base = PurePosixPath(dependency.path.relative_to(ancestor).as_posix())
        for relative in _source_files(dependency.path):
            files[str(base / relative)] = (dependency.path / relative).read_bytes()
    return project_dir, dict(sorted(files.items()))


def _source_files(directory: Path) -> list[str]:
    """What building the dependency needs: its sdist's files when poetry-core builds it, else its
    tree (a setuptools, hatchling, ... project: poetry-core would read its [project] table and
    miss what its own backend builds from, such as setup.py and C sources)."""
    if not _built_by_poetry_core(directory):
        return _tree(directory)
    try:
        # poetry-core's sdist builder: loaded only for a project that carries path dependencies.
        from poetry.core.masonry.builders.sdist import SdistBuilder

        poetry = Factory().create_poetry(directory)
        included = {
            Path(include.path).resolve().relative_to(directory).as_posix()
            for include in SdistBuilder(poetry).find_files_to_add(exclude_build=False)
        }
        return sorted(included | {"pyproject.toml"})
    except Exception:  # not a loadable Poetry project: take the tree
        return _tree(directory)


def _built_by_poetry_core(directory: Path) -> bool:
    try:
        pyproject = read_toml(directory / "pyproject.toml")
    except UserError:
        return False  # no pyproject.toml (setup.py only) or not TOML
    backend = (pyproject.get("build-system") or {}).get("build-backend")
    # No [build-system]: pip and Poetry fall back to setuptools, unless it is a [tool.poetry] project.
    return backend == "poetry.core.masonry.api" or (backend is None and "poetry" in pyproject.get("tool", {}))


def _tree(directory: Path) -> list[str]:
    """Every file of the directory, without local state (VCS, caches, build output)."""
    files = []
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not _SKIPPED.match(d))
        for name in sorted(names):
            if not _SKIPPED.match(name):
                files.append((Path(current) / name).relative_to(directory).as_posix())
    return files


def without_develop(tables: dict[str, Any]) -> bool:
    """Drop `develop` from the path dependencies of a [tool.poetry] table; True if any had it.

    The stub lock needs the same (pruning.pruned_lock with non_editable=True): Poetry installs
    a locked directory package editable when its lock entry says `develop = true`."""
    changed = False
    dependency_tables = [tables.get("dependencies", {}), tables.get("dev-dependencies", {})]
    dependency_tables += [g.get("dependencies", {}) for g in tables.get("group", {}).values()]
    for table in dependency_tables:
        for spec in list(table.values()):
            specs = spec if isinstance(spec, list) else [spec]
            for item in specs:
                if isinstance(item, dict) and "path" in item and "develop" in item:
                    del item["develop"]
                    changed = True
    return changed
