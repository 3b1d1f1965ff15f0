"""How the project's wheel is built: what building it reads, and whether Poetry would isolate the build."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from poetry.core.masonry.builders.wheel import WheelBuilder

from poetry_plugin_docker import values
from poetry_plugin_docker.errors import UserError

if TYPE_CHECKING:
    from poetry_plugin_docker.project.loading import Project

_OUTSIDE = (
    "pyproject.toml packages files from outside the project directory (`from = \"../...\"`), which the "
    "build context cannot hold; build the project with the tool its layout needs (such as "
    "poetry-multiproject-plugin's `poetry build-project`), or move the packages into the project."
)
# poetry-core puts files with these names in the wheel's metadata when they exist.
_LICENSE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


def needs_isolated_build(project: Project, poetry_core: str | None) -> bool:
    """Whether `poetry build` builds the wheel in an isolated environment (`poetry_core`: the version
    installed next to Poetry, which it builds with otherwise).

    Mirrors Poetry 2's `BuildHandler._requires_isolated_build`
    (poetry/console/commands/build.py): a build script, build requirements besides
    poetry-core, a poetry-core with a source (URL), or a poetry-core constraint that the
    poetry-core next to Poetry does not satisfy. Otherwise Poetry's own poetry-core builds it,
    and so does the Dockerfile (through its PEP 517 hook).
    """
    build_system = project.pyproject.get("build-system") or {}
    if "build-backend" not in build_system:
        return False  # Poetry falls back to its own poetry-core
    requires = build_system.get("requires") or []
    if getattr(project.poetry.package, "build_script", None) or len(requires) != 1:
        return True
    try:
        requirement = Requirement(requires[0])
    except InvalidRequirement:
        return True
    if canonicalize_name(requirement.name) != "poetry-core" or requirement.url:
        return True
    return not requirement.specifier.contains(poetry_core or "0", prereleases=True)


def build_requirements(project: Project) -> tuple[str, ...]:
    """`[build-system] requires`, for the uv builder to install before the project's files and build
    without an isolated environment; empty when the project names no build backend (uv then falls back
    to the isolated build it would make anyway)."""
    build_system = project.pyproject.get("build-system") or {}
    requires = build_system.get("requires")
    if "build-backend" not in build_system or not isinstance(requires, list):
        return ()
    return tuple(values.requirement("pyproject.toml's [build-system] requires", str(spec)) for spec in requires)


POETRY_CORE_BACKEND = "poetry.core.masonry.api"


def builds_with_poetry_core(project: Project) -> bool:
    """Whether the build backend is poetry-core's, from the installed packages (no `backend-path`):
    the Dockerfile then calls its PEP 517 hook itself, as a frontend would."""
    build_system = project.pyproject.get("build-system") or {}
    return build_system.get("build-backend") == POETRY_CORE_BACKEND and not build_system.get("backend-path")


def wheel_inputs(project: Project) -> list[str]:
    """Top-level paths (relative to the root) that building the wheel reads."""
    builder = WheelBuilder(project.poetry)
    top_level = {"pyproject.toml", *project.readme_files}
    build_script = getattr(project.poetry.package, "build_script", None)
    if build_script:  # run by the build
        top_level.add(Path(build_script).parts[0])
    try:
        files = builder.find_files_to_add(exclude_build=False)
    except ValueError as error:  # poetry-core: a package `from` outside the project ("is not in the subpath")
        raise UserError(_OUTSIDE) from error
    for include in files:
        path = Path(include.path)
        if not path.is_relative_to(project.root):
            raise UserError(_OUTSIDE)
        top_level.add(path.relative_to(project.root).parts[0])
    for candidate in project.root.iterdir():
        if candidate.is_file() and candidate.name.upper().startswith(_LICENSE_PREFIXES):
            top_level.add(candidate.name)
    return sorted(top_level)
