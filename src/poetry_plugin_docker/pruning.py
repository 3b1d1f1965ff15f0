"""The group-pruned stub: only the groups and extras the image installs.

A dev-only change (a new pytest, ruff, mypy: the most frequent lock changes)
must not rebuild the production dependency layer. So the stub pyproject keeps
only the selected groups and extras, and the stub lock only the packages
reachable from them -- every version and marker variant of each, since a
superset is safe and a missing package is not -- with each package's `groups`
and per-group `markers` cut down to the kept groups, and the `content-hash`
recomputed by Poetry's own code. Locks without per-package groups (lock-version
2.0) are pruned the same way: reachability does not need them.
"""

from __future__ import annotations

import copy
import re
from collections import deque
from typing import TYPE_CHECKING, Any, Iterable

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from poetry.core.packages.project_package import ProjectPackage

    from poetry_plugin_docker.selection import Selection

MAIN_GROUP = "main"
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")

Requirement = tuple[str, frozenset[str]]  # (canonical name, canonical extras)


def _names(values: Iterable[str]) -> set[str]:
    return {canonicalize_name(value) for value in values}


# --------------------------------------------------------------------------- pyproject


def kept_groups(stub_data: dict[str, Any], groups: Iterable[str]) -> set[str]:
    """The selected groups and the groups they include, canonical names."""
    poetry_groups = {
        canonicalize_name(name): table
        for name, table in stub_data.get("tool", {}).get("poetry", {}).get("group", {}).items()
    }
    pep735_groups = {
        canonicalize_name(name): entries
        for name, entries in stub_data.get("dependency-groups", {}).items()
    }
    kept: set[str] = set()
    pending = deque(_names(groups))
    while pending:
        group = pending.popleft()
        if group in kept:
            continue
        kept.add(group)
        table = poetry_groups.get(group)
        if isinstance(table, dict):
            pending.extend(_names(table.get("include-groups", [])))
        for entry in pep735_groups.get(group, []):
            if isinstance(entry, dict) and "include-group" in entry:
                pending.append(canonicalize_name(entry["include-group"]))
    return kept


def pruned_pyproject(stub_data: dict[str, Any], selection: Selection) -> dict[str, Any]:
    """The stub pyproject content with only the selected groups and extras (a copy)."""
    data = copy.deepcopy(stub_data)
    groups = kept_groups(data, selection.groups)
    poetry = data.get("tool", {}).get("poetry", {})

    if "group" in poetry:
        poetry["group"] = {
            name: table for name, table in poetry["group"].items() if canonicalize_name(name) in groups
        }
        if not poetry["group"]:
            del poetry["group"]
    if "dev-dependencies" in poetry and "dev" not in groups:
        del poetry["dev-dependencies"]
    if "dependency-groups" in data:
        data["dependency-groups"] = {
            name: entries
            for name, entries in data["dependency-groups"].items()
            if canonicalize_name(name) in groups
        }
        if not data["dependency-groups"]:
            del data["dependency-groups"]

    if not selection.all_extras:
        extras = _names(selection.extras)
        project = data.get("project", {})
        for table in (project, poetry):
            key = "optional-dependencies" if table is project else "extras"
            if key in table:
                table[key] = {
                    name: value for name, value in table[key].items() if canonicalize_name(name) in extras
                }
                if not table[key]:
                    del table[key]
        _drop_unused_optional_dependencies(data)
    return data


def _drop_unused_optional_dependencies(data: dict[str, Any]) -> None:
    """Drop [tool.poetry.dependencies] entries marked optional that no kept extra names."""
    project = data.get("project", {})
    poetry = data.get("tool", {}).get("poetry", {})
    named: set[str] = set()
    for requirement in project.get("dependencies", []):
        named |= _requirement_names(requirement)
    for requirements in project.get("optional-dependencies", {}).values():
        for requirement in requirements:
            named |= _requirement_names(requirement)
    for names in poetry.get("extras", {}).values():
        named |= _names(names)

    dependencies = poetry.get("dependencies", {})
    for name, spec in list(dependencies.items()):
        specs = spec if isinstance(spec, list) else [spec]
        optional = all(isinstance(item, dict) and item.get("optional") for item in specs)
        if optional and canonicalize_name(name) not in named:
            del dependencies[name]


def _requirement_names(requirement: str) -> set[str]:
    match = _REQUIREMENT.match(requirement)
    return {canonicalize_name(match.group(1))} if match else set()


# --------------------------------------------------------------------------- lock


def root_requirements(package: ProjectPackage, selection: Selection, groups: set[str]) -> list[Requirement]:
    """What the selected groups and extras of the project require directly."""
    extras = _names(selection.extras)
    requirements = []
    for group in sorted(groups):
        if not package.has_dependency_group(group):
            continue
        for dependency in package.dependency_group(group).dependencies:
            if dependency.is_optional() and not (
                selection.all_extras or extras & _names(dependency.in_extras)
            ):
                continue
            requirements.append((canonicalize_name(dependency.name), frozenset(_names(dependency.extras))))
    return requirements


def reachable_packages(lock_data: dict[str, Any], roots: Iterable[Requirement]) -> set[str]:
    """Names of the locked packages the roots need, through every marker and version variant."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for package in lock_data.get("package", []):
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)

    requested_extras: dict[str, set[str]] = {}
    pending = deque(roots)
    while pending:
        name, extras = pending.popleft()
        if name not in by_name:
            continue  # not locked for any environment (e.g. a marker that never applies)
        seen = requested_extras.get(name)
        if seen is not None and extras <= seen:
            continue
        new_extras = extras - (seen or set())
        first_visit = seen is None
        requested_extras[name] = (seen or set()) | extras
        for package in by_name[name]:
            pending.extend(_package_requirements(package, new_extras, first_visit))
    return set(requested_extras)


def _package_requirements(package: dict[str, Any], extras: set[str], first_visit: bool) -> list[Requirement]:
    """A locked package's requirements: its regular ones (first visit) and those of these extras."""
    in_extras: dict[str, set[str]] = {}  # dependency name -> extras it asks for, within the requested extras
    for extra, entries in package.get("extras", {}).items():
        if canonicalize_name(extra) not in extras:
            continue
        for entry in entries:
            match = _REQUIREMENT.match(entry)
            if match:
                in_extras.setdefault(canonicalize_name(match.group(1)), set()).update(
                    _names(part for part in (match.group(2) or "").split(",") if part.strip())
                )

    requirements = []
    for name, spec in package.get("dependencies", {}).items():
        dependency = canonicalize_name(name)
        specs = spec if isinstance(spec, list) else [spec]
        dependency_extras = set()
        optional = True
        for item in specs:
            if isinstance(item, dict):
                dependency_extras |= _names(item.get("extras", []))
                optional = optional and bool(item.get("optional"))
            else:
                optional = False
        if dependency in in_extras:
            requirements.append((dependency, frozenset(dependency_extras | in_extras[dependency])))
        elif first_visit and not optional:
            requirements.append((dependency, frozenset(dependency_extras)))
    return requirements


def pruned_lock(
    lock: bytes,
    kept_packages: set[str],
    groups: set[str],
    selection: Selection,
    content_hash: str,
    *,
    non_editable: bool = False,
) -> bytes:
    """The lock with only these packages, groups and extras, and this content-hash.

    Returns the lock unchanged, byte for byte, when there is nothing to change.
    """
    import tomlkit

    document = tomlkit.parse(lock.decode("utf-8"))
    changed = False
    packages = document.get("package")
    if packages is not None:
        for index in reversed(range(len(packages))):
            package = packages[index]
            if canonicalize_name(package["name"]) not in kept_packages:
                del packages[index]
                changed = True
                continue
            changed |= _keep_groups(package, groups)
            if non_editable and package.get("develop") is True:
                package["develop"] = False
                changed = True

    extras = document.get("extras")
    if extras is not None and not selection.all_extras:
        wanted = _names(selection.extras)
        for name in [name for name in extras if canonicalize_name(name) not in wanted]:
            del extras[name]
            changed = True
        if not extras:
            del document["extras"]

    metadata = document["metadata"]
    if metadata.get("content-hash") != content_hash:
        metadata["content-hash"] = content_hash
        changed = True
    return tomlkit.dumps(document).encode("utf-8") if changed else lock


def _keep_groups(package: Any, groups: set[str]) -> bool:
    """Cut a lock-2.1 package's groups and per-group markers down to the kept groups.

    The markers are written back as Poetry writes them: one string when every kept
    group has the same marker, none when that marker is "any", else a table.
    """
    if "groups" not in package:
        return False
    old_groups = [str(group) for group in package["groups"]]
    new_groups = [group for group in old_groups if canonicalize_name(group) in groups]
    if not new_groups or new_groups == old_groups:
        return False
    package["groups"] = new_groups
    markers = package.get("markers")
    if markers is None or isinstance(markers, str):
        return True  # the same marker (or none) for every group
    per_group = {group: str(markers.get(group, "*")) for group in new_groups}
    distinct = set(per_group.values())
    if distinct == {"*"}:
        del package["markers"]
    elif len(distinct) == 1:
        package["markers"] = distinct.pop()
    else:
        import tomlkit

        table = tomlkit.inline_table()
        table.update({group: marker for group, marker in per_group.items() if marker != "*"})
        package["markers"] = table
    return True
