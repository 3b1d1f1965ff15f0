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
import json
import re
from collections import deque
from typing import TYPE_CHECKING, Any

import tomlkit
from packaging.utils import NormalizedName, canonicalize_name

from poetry_plugin_docker.toml import tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Set as AbstractSet

    from poetry.core.packages.project_package import ProjectPackage

    from poetry_plugin_docker.project.selection import Selection

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")

Requirement = tuple[NormalizedName, frozenset[NormalizedName]]  # (canonical name, canonical extras)


def _names(values: Iterable[str]) -> set[NormalizedName]:
    return {canonicalize_name(value) for value in values}


# --------------------------------------------------------------------------- pyproject


def kept_groups(stub_data: dict[str, Any], groups: Iterable[str]) -> set[NormalizedName]:
    """The selected groups and the groups they include, canonical names."""
    poetry_groups = {
        canonicalize_name(name): table
        for name, table in stub_data.get("tool", {}).get("poetry", {}).get("group", {}).items()
    }
    pep735_groups = {
        canonicalize_name(name): entries
        for name, entries in stub_data.get("dependency-groups", {}).items()
    }
    kept: set[NormalizedName] = set()
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


def pruned_pyproject(
    stub_data: dict[str, Any], groups: AbstractSet[NormalizedName], selection: Selection
) -> dict[str, Any]:
    """The stub pyproject content with only these groups (`kept_groups`) and the selected extras (a copy)."""
    data = copy.deepcopy(stub_data)
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
    named: set[NormalizedName] = set()
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


def _requirement_names(requirement: str) -> set[NormalizedName]:
    match = _REQUIREMENT.match(requirement)
    return {canonicalize_name(match.group(1))} if match else set()


# --------------------------------------------------------------------------- lock


def root_requirements(
    package: ProjectPackage, selection: Selection, groups: AbstractSet[NormalizedName]
) -> list[Requirement]:
    """What the selected groups and extras of the project require directly."""
    extras = _names(selection.extras)
    # poetry-core 1.x keeps group names as written ("runtime_extra"); 2.x canonicalizes them.
    declared = {canonicalize_name(name): name for name in package.dependency_group_names(include_optional=True)}
    requirements: list[Requirement] = []
    for group in sorted(groups):
        if group not in declared:
            continue
        for dependency in package.dependency_group(declared[group]).dependencies:
            if dependency.is_optional() and not (
                selection.all_extras or extras & _names(dependency.in_extras)
            ):
                continue
            requirements.append((canonicalize_name(dependency.name), frozenset(_names(dependency.extras))))
    return requirements


def reachable_packages(lock_data: dict[str, Any], roots: Iterable[Requirement]) -> set[NormalizedName]:
    """Names of the locked packages the roots need, through every marker and version variant."""
    by_name: dict[NormalizedName, list[dict[str, Any]]] = {}
    for package in lock_data.get("package", []):
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)

    requested_extras: dict[NormalizedName, AbstractSet[NormalizedName]] = {}
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


def _package_requirements(
    package: dict[str, Any], extras: AbstractSet[NormalizedName], first_visit: bool
) -> list[Requirement]:
    """A locked package's requirements: its regular ones (first visit) and those of these extras."""
    # dependency name -> extras it asks for, within the requested extras
    in_extras: dict[NormalizedName, set[NormalizedName]] = {}
    for extra, entries in package.get("extras", {}).items():
        if canonicalize_name(extra) not in extras:
            continue
        for entry in entries:
            match = _REQUIREMENT.match(entry)
            if match:
                in_extras.setdefault(canonicalize_name(match.group(1)), set()).update(
                    _names(part.strip() for part in (match.group(2) or "").split(",") if part.strip())
                )

    requirements: list[Requirement] = []
    for name, spec in package.get("dependencies", {}).items():
        dependency = canonicalize_name(name)
        specs = spec if isinstance(spec, list) else [spec]
        dependency_extras: set[NormalizedName] = set()
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
    kept_packages: AbstractSet[NormalizedName],
    groups: AbstractSet[NormalizedName],
    selection: Selection,
    content_hash: str,
    *,
    non_editable: bool = False,
) -> bytes:
    """The lock with only these packages, groups and extras, and this content-hash.

    Edits the text Poetry wrote, section by section, which keeps every kept byte
    and costs next to nothing (build-context runs in every release job); a lock
    laid out otherwise (edited by hand) goes through tomlkit instead. Returns the
    lock itself when there is nothing to change.
    """
    text = lock.decode("utf-8")
    edit = _LockEdit(kept_packages, groups, selection, content_hash, non_editable)
    try:
        pruned = edit.text(text)
    except _UnusualLayout:
        pruned = edit.tomlkit(text)
    return lock if pruned == text else pruned.encode("utf-8")


class _UnusualLayout(Exception):
    """The lock is not laid out as Poetry writes it."""


# Top-level tables: [[package]], [extras], [metadata] (not [package.dependencies] and the like).
_TOP_LEVEL_HEADER = re.compile(r"^\[\[?(?!package\.)[^\[\]]+\]\]?[ \t]*$", re.MULTILINE)
_PACKAGE_NAME = re.compile(r'\[\[package\]\][ \t]*\r?\nname = "([^"\\]+)"\r?\n')
_SUBTABLE = re.compile(r"^\[package\.", re.MULTILINE)
_EXTRA_KEY = re.compile(r'^("?)([A-Za-z0-9_.-]+)\1 = ')


class _LockEdit:
    def __init__(
        self,
        kept: AbstractSet[NormalizedName],
        groups: AbstractSet[NormalizedName],
        selection: Selection,
        content_hash: str,
        non_editable: bool,
    ) -> None:
        self.kept, self.groups, self.content_hash, self.non_editable = kept, groups, content_hash, non_editable
        self.extras = None if selection.all_extras else _names(selection.extras)

    def text(self, text: str) -> str:
        headers = list(_TOP_LEVEL_HEADER.finditer(text))
        if not headers or headers[-1].group(0).strip() != "[metadata]":
            raise _UnusualLayout
        pieces = [text[: headers[0].start()]]
        packages = kept = 0
        for index, header in enumerate(headers):
            end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
            section, title = text[header.start() : end], header.group(0).strip()
            if title == "[[package]]":
                match = _PACKAGE_NAME.match(section)
                if match is None:
                    raise _UnusualLayout
                packages += 1
                if canonicalize_name(match.group(1)) not in self.kept:
                    continue
                kept += 1
                section = self._package_text(section)
            elif title == "[extras]" and self.extras is not None:
                section = self._extras_text(section, self.extras)
            elif title == "[metadata]":
                section, count = re.subn(
                    r'(?m)^content-hash = "[0-9a-f]*"', f'content-hash = "{self.content_hash}"', section
                )
                if count != 1:
                    raise _UnusualLayout
            pieces.append(section)
        if packages and not kept:
            raise _UnusualLayout  # no package left: tomlkit writes `package = []`, as Poetry does
        return "".join(pieces)

    def _package_text(self, section: str) -> str:
        # The package's own keys come before its first subtable ([package.dependencies], ...).
        subtable = _SUBTABLE.search(section)
        head, tail = (section[: subtable.start()], section[subtable.start() :]) if subtable else (section, "")
        groups_line = re.search(r"(?m)^groups = (.*)$", head)
        if groups_line:
            markers_line = re.search(r"(?m)^markers = (.*)$", head)
            markers = _toml_value(markers_line.group(1)) if markers_line else None
            change = pruned_groups_and_markers(_toml_value(groups_line.group(1)), markers, self.groups)
            if change is not None:
                new_groups, new_markers = change
                head = head.replace(groups_line.group(0), f"groups = {_render(new_groups)}", 1)
                if markers_line and new_markers is None:
                    head = head.replace(markers_line.group(0) + "\n", "", 1)
                elif markers_line and new_markers is not None:
                    head = head.replace(markers_line.group(0), f"markers = {_render(new_markers)}", 1)
        if self.non_editable:
            head = re.sub(r"(?m)^develop = true$", "develop = false", head)
        return head + tail

    def _extras_text(self, section: str, extras: AbstractSet[NormalizedName]) -> str:
        header, _, body = section.partition("\n")
        lines = body.splitlines(keepends=True)
        kept = []
        for line in lines:
            key = _EXTRA_KEY.match(line)
            if key is None and line.strip():
                raise _UnusualLayout  # a multi-line array or a comment
            if key is None or canonicalize_name(key.group(2)) in extras:
                kept.append(line)
        if not any(line.strip() for line in kept):
            return ""  # no extra left: no [extras] table, as Poetry writes it
        return header + "\n" + "".join(kept)

    def tomlkit(self, text: str) -> str:
        document = tomlkit.parse(text)
        packages = document.get("package")
        if packages is not None:
            for index in reversed(range(len(packages))):
                package = packages[index]
                if canonicalize_name(package["name"]) not in self.kept:
                    del packages[index]
                    continue
                if "groups" in package:
                    markers = package.get("markers")
                    change = pruned_groups_and_markers(
                        [str(group) for group in package["groups"]],
                        None if markers is None else markers.unwrap() if hasattr(markers, "unwrap") else markers,
                        self.groups,
                    )
                    if change is not None:
                        package["groups"], new_markers = change
                        if new_markers is None and "markers" in package:
                            del package["markers"]
                        elif new_markers is not None:
                            package["markers"] = _inline(new_markers)
                if self.non_editable and package.get("develop") is True:
                    package["develop"] = False
        extras = document.get("extras")
        if extras is not None and self.extras is not None:
            for name in [name for name in extras if canonicalize_name(name) not in self.extras]:
                del extras[name]
            if not extras:
                del document["extras"]
        document["metadata"]["content-hash"] = self.content_hash
        return tomlkit.dumps(document)


def pruned_groups_and_markers(
    old_groups: list[str], markers: str | dict[str, str] | None, groups: AbstractSet[NormalizedName]
) -> tuple[list[str], str | dict[str, str] | None] | None:
    """A lock-2.1 package's groups and markers cut down to the kept groups; None if unchanged.

    The markers come back as Poetry writes them: one string when every kept group
    has the same marker, none when that marker is "any", else a table by group.
    """
    new_groups = [group for group in old_groups if canonicalize_name(group) in groups]
    if not new_groups or new_groups == old_groups:
        return None
    if markers is None or isinstance(markers, str):
        return new_groups, markers  # the same marker (or none) for every group
    per_group = {group: str(markers.get(group, "*")) for group in new_groups}
    distinct = set(per_group.values())
    if distinct == {"*"}:
        return new_groups, None
    if len(distinct) == 1:
        return new_groups, distinct.pop()
    return new_groups, {group: marker for group, marker in per_group.items() if marker != "*"}


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        raise _UnusualLayout from None


def _render(value: str | list[str] | dict[str, str]) -> str:
    """A TOML value as Poetry (tomlkit) writes it on one line."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    return "{" + ", ".join(f"{key} = {_render(item)}" for key, item in value.items()) + "}"


def _inline(value: str | dict[str, str]) -> Any:
    if isinstance(value, str):
        return value
    table = tomlkit.inline_table()
    table.update(value)
    return table
