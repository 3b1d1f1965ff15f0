"""Versions that come from git tags: which tool takes them, and the release's version.

The build context has no `.git` (it must not: history, credentials, a context that
changes with every fetch), so the wheel stage cannot ask git. The Dockerfile gives the
release's version, the VERSION build argument, to the versioning tool in the wheel stage
only: poetry-dynamic-versioning reads POETRY_DYNAMIC_VERSIONING_BYPASS, setuptools-scm
(and hatch-vcs, built on it) SETUPTOOLS_SCM_PRETEND_VERSION. `poetry docker build`
derives VERSION from the git tag, the way those tools do.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from poetry_plugin_docker.errors import UserError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

PDV = "poetry-dynamic-versioning"
PDV_VARIABLE = "POETRY_DYNAMIC_VERSIONING_BYPASS"
SCM_VARIABLE = "SETUPTOOLS_SCM_PRETEND_VERSION"
_SCM_REQUIREMENTS = {"setuptools-scm", "hatch-vcs"}
# A release tag as poetry-dynamic-versioning's default pattern takes it (Dunamai): v1.2.3, v1.2.3rc1.
_DESCRIBED = re.compile(
    r"^v(?P<base>\d+(?:\.\d+)*)(?P<pre>[-._]?(?:a|b|rc|alpha|beta)\d*)?-(?P<distance>\d+)-g(?P<commit>[0-9a-f]+)$"
)


@dataclass(frozen=True)
class DynamicVersion:
    tool: str  # "poetry-dynamic-versioning" or "setuptools-scm"
    variable: str  # the environment variable that gives the tool its version
    poetry_plugin: bool  # poetry-dynamic-versioning as a Poetry plugin: `poetry build` must load it


def _requirement_names(requires: Any) -> set[str]:
    names: set[str] = set()
    for spec in requires if isinstance(requires, list) else []:
        try:
            names.add(canonicalize_name(Requirement(str(spec)).name))
        except InvalidRequirement:
            continue
    return names


def dynamic_version(pyproject: Mapping[str, Any]) -> DynamicVersion | None:
    """How the project takes its version from git tags, or None when pyproject.toml holds it."""
    build_system = pyproject.get("build-system") or {}
    backend = build_system.get("build-backend")
    requires = _requirement_names(build_system.get("requires"))
    if backend == "poetry_dynamic_versioning.backend":
        return DynamicVersion(PDV, PDV_VARIABLE, poetry_plugin=False)
    settings = (pyproject.get("tool") or {}).get(PDV) or {}
    if isinstance(settings, dict) and settings.get("enable") is True:
        return DynamicVersion(PDV, PDV_VARIABLE, poetry_plugin=True)
    if requires & _SCM_REQUIREMENTS:
        return DynamicVersion("setuptools-scm", SCM_VARIABLE, poetry_plugin=False)
    return None


def release_version(root: Path, dynamic: DynamicVersion, environ: Mapping[str, str]) -> str:
    """The version of this checkout: the tool's variable if set (as the tool itself would take it),
    else from `git describe` the way the tool serialises it (the tag's version on a tagged commit)."""
    if environ.get(dynamic.variable):
        return environ[dynamic.variable]
    try:
        described = subprocess.run(
            ["git", "describe", "--tags", "--long", "--match", "v[0-9]*"],
            cwd=root, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        described = None
    match = _DESCRIBED.match(described.stdout.strip()) if described and described.returncode == 0 else None
    if match is None:
        raise UserError(
            f"The version comes from git tags ({dynamic.tool}), and git finds no release tag like v1.2.3 "
            f"in {root}: tag the release (git tag v1.2.3), or set {dynamic.variable}=1.2.3."
        )
    base = match["base"] + (match["pre"] or "").lstrip("-._")
    distance, commit = int(match["distance"]), match["commit"][:7]
    if distance == 0:
        return base
    if dynamic.tool == PDV:  # Dunamai's pep440 style
        return f"{base}.post{distance}.dev0+{commit}"
    parts = base.split(".")  # setuptools-scm's guess-next-dev
    parts[-1] = str(int(parts[-1]) + 1) if parts[-1].isdigit() else parts[-1]
    return f"{'.'.join(parts)}.dev{distance}+g{commit}"
