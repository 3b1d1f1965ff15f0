from __future__ import annotations

import pytest
from helpers import FIXTURES, REPO

from poetry_plugin_docker.project.selection import Selection
from poetry_plugin_docker.stub.lock import (
    kept_groups,
    pruned_lock,
    pruned_pyproject,
    reachable_packages,
)
from poetry_plugin_docker.toml import tomllib


def test_kept_groups_follow_includes_of_both_group_styles() -> None:
    data = {
        "tool": {"poetry": {"group": {"Web": {"include-groups": ["base"]}, "base": {}, "lint": {}}}},
        "dependency-groups": {"docs": [{"include-group": "Sphinx_Bits"}], "sphinx-bits": ["x"], "other": []},
    }
    assert kept_groups(data, ["main", "web"]) == {"main", "web", "base"}
    assert kept_groups(data, ["main", "docs"]) == {"main", "docs", "sphinx-bits"}


def test_pyproject_keeps_only_selected_groups_and_extras() -> None:
    data = {
        "project": {
            "name": "app",
            "dependencies": ["six"],
            "optional-dependencies": {"idn": ["idna>=3"], "ini": ["iniconfig"]},
        },
        "dependency-groups": {"test": ["pytest"]},
        "tool": {
            "poetry": {
                "dependencies": {"idna": {"optional": True, "source": "x"}, "iniconfig": {"optional": True}},
                "dev-dependencies": {"ruff": "*"},
                "group": {"web": {"dependencies": {"gunicorn": "*"}}, "lint": {"dependencies": {"ruff": "*"}}},
                "package-mode": False,
            }
        },
    }
    selection = Selection(groups=("main", "web"), extras=("idn",))
    pruned = pruned_pyproject(data, kept_groups(data, selection.groups), selection)
    assert pruned == {
        "project": {"name": "app", "dependencies": ["six"], "optional-dependencies": {"idn": ["idna>=3"]}},
        "tool": {
            "poetry": {
                "dependencies": {"idna": {"optional": True, "source": "x"}},
                "group": {"web": {"dependencies": {"gunicorn": "*"}}},
                "package-mode": False,
            }
        },
    }
    assert "dev-dependencies" in data["tool"]["poetry"]  # the input is not modified
    selection = Selection(groups=("main", "dev", "test", "web", "lint"), all_extras=True)
    everything = pruned_pyproject(data, kept_groups(data, selection.groups), selection)
    assert everything == data


def test_poetry_extras_drop_their_optional_dependencies() -> None:
    data = {
        "tool": {
            "poetry": {
                "dependencies": {"six": "*", "idna": {"version": ">=3", "optional": True}},
                "extras": {"idn": ["idna"]},
            }
        }
    }
    assert pruned_pyproject(data, {"main"}, Selection())["tool"]["poetry"] == {"dependencies": {"six": "*"}}
    assert pruned_pyproject(data, {"main"}, Selection(extras=("idn",))) == data


def _package(name: str, **fields) -> dict:
    return {"name": name, "version": "1", **fields}


def test_reachability_follows_extras_only_when_requested() -> None:
    lock = {
        "package": [
            _package("Requests", dependencies={"idna": ">=2", "PySocks": {"version": ">=1", "optional": True}},
                     extras={"socks": ["PySocks (>=1.5.6,!=1.5.7)"]}),
            _package("idna"),
            _package("pysocks", dependencies={"win-only": {"version": "*", "markers": "sys_platform == 'win32'"}}),
            _package("win-only", version="1"),
            _package("win-only", version="2"),
            _package("pytest", dependencies={"iniconfig": "*", "requests": {"version": "*", "extras": ["socks"]}}),
            _package("iniconfig"),
        ]
    }  # fmt: skip
    assert reachable_packages(lock, [("requests", frozenset())]) == {"requests", "idna"}
    assert reachable_packages(lock, [("requests", frozenset({"socks"}))]) == {
        "requests", "idna", "pysocks", "win-only",
    }  # fmt: skip
    # An extra asked for later, through another path, is still followed.
    assert reachable_packages(lock, [("requests", frozenset()), ("pytest", frozenset())]) == {
        "requests", "idna", "pysocks", "win-only", "pytest", "iniconfig",
    }  # fmt: skip
    assert reachable_packages(lock, [("not-locked", frozenset())]) == set()


def test_extras_named_in_an_extra_are_followed_whatever_the_spacing() -> None:
    lock = {
        "package": [
            _package(
                "app-lib",
                dependencies={"kit": {"version": "*", "optional": True}},
                extras={"full": ["kit[ fast , Small ] (>=1)"]},
            ),
            _package(
                "kit",
                dependencies={
                    "speedups": {"version": "*", "optional": True},
                    "tiny": {"version": "*", "optional": True},
                },
                extras={"fast": ["speedups"], "small": ["tiny"]},
            ),
            _package("speedups"),
            _package("tiny"),
        ]
    }  # fmt: skip
    assert reachable_packages(lock, [("app-lib", frozenset({"full"}))]) == {"app-lib", "kit", "speedups", "tiny"}


LOCK_2_1 = b'''# This file is automatically @generated by Poetry 2.5.1 and should not be changed by hand.

[[package]]
name = "colorama"
version = "0.4.6"
description = ""
optional = false
python-versions = "*"
groups = ["main", "dev"]
markers = {main = "sys_platform == \\"win32\\"", dev = "sys_platform == \\"win32\\" or platform_system == \\"Windows\\""}
files = []

[[package]]
name = "core"
version = "0.1.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = []
develop = true

[package.source]
type = "directory"
url = "../core"

[[package]]
name = "pytest"
version = "8.0.0"
description = ""
optional = false
python-versions = "*"
groups = ["dev"]
files = []

[package.dependencies]
colorama = {version = "*", markers = "sys_platform == \\"win32\\""}

[[package]]
name = "six"
version = "1.16.0"
description = ""
optional = false
python-versions = "*"
groups = ["main", "dev"]
markers = {dev = "python_version < \\"3.12\\""}
files = []

[extras]
idn = ["idna"]
ini = ["iniconfig"]

[metadata]
lock-version = "2.1"
python-versions = ">=3.9"
content-hash = "abc"
'''


def test_lock_keeps_reachable_packages_and_the_kept_groups_markers_as_poetry_writes_them() -> None:
    pruned = pruned_lock(
        LOCK_2_1, {"colorama", "core", "six"}, {"main"}, Selection(extras=("idn",)), "f00", non_editable=True
    )
    text = pruned.decode()
    data = tomllib.loads(text)
    assert [p["name"] for p in data["package"]] == ["colorama", "core", "six"]
    colorama, core, six = data["package"]
    assert colorama["groups"] == ["main"] and colorama["markers"] == 'sys_platform == "win32"'
    assert core["develop"] is False
    assert six["groups"] == ["main"] and "markers" not in six  # "any" for main: no markers, as Poetry writes
    assert data["extras"] == {"idn": ["idna"]}
    assert data["metadata"]["content-hash"] == "f00"
    assert 'groups = ["main"]\nmarkers = "sys_platform == \\"win32\\""\nfiles = []' in text
    assert "\n\n\n" not in text and text.endswith('content-hash = "f00"\n')


def test_lock_with_nothing_to_prune_is_returned_byte_for_byte() -> None:
    everything = {"colorama", "core", "pytest", "six"}
    selection = Selection(groups=("main", "dev"), all_extras=True)
    assert pruned_lock(LOCK_2_1, everything, {"main", "dev"}, selection, "abc") is LOCK_2_1


@pytest.mark.parametrize("groups", [["main"], ["main", "dev"]])
def test_lock_2_0_without_groups_is_pruned_by_reachability(groups: list[str]) -> None:
    lock = LOCK_2_1.replace(b'lock-version = "2.1"', b'lock-version = "2.0"')
    lock = b"\n".join(line for line in lock.split(b"\n") if not line.startswith((b"groups", b"markers")))
    pruned = tomllib.loads(pruned_lock(lock, {"six"}, set(groups), Selection(), "f00").decode())
    assert pruned["package"] == [tomllib.loads(lock.decode())["package"][3]]
    assert pruned["metadata"] == {"lock-version": "2.0", "python-versions": ">=3.9", "content-hash": "f00"}


def _both_ways(lock: bytes, kept: set[str], groups: set[str], selection: Selection, **options) -> tuple[str, str]:
    from poetry_plugin_docker.stub.lock import _LockEdit

    edit = _LockEdit(kept, groups, selection, "f00", options.get("non_editable", False))
    return edit.text(lock.decode()), edit.tomlkit(lock.decode())


LOCKS = sorted(FIXTURES.rglob("poetry.lock")) + sorted((REPO / "examples").rglob("poetry.lock"))


@pytest.mark.parametrize("lock_path", LOCKS, ids=lambda path: str(path.relative_to(REPO)))
@pytest.mark.parametrize(
    ("keep", "groups", "selection"),
    [
        ("all", {"main", "dev"}, Selection(groups=("main", "dev"), all_extras=True)),
        ("half", {"main"}, Selection()),
        ("first", {"main"}, Selection(extras=("idn",))),
    ],
)
def test_text_edit_matches_tomlkit(lock_path, keep, groups, selection) -> None:
    """The fast path edits Poetry's text exactly as a TOML round trip through tomlkit would."""
    lock = lock_path.read_bytes()
    names = [p["name"] for p in tomllib.loads(lock.decode())["package"]]
    kept = {"all": set(names), "half": set(names[::2]), "first": set(names[:1])}[keep]
    text, via_tomlkit = _both_ways(lock, kept, groups, selection, non_editable=True)
    assert text == via_tomlkit
    assert {p["name"] for p in tomllib.loads(text)["package"]} == kept


def test_text_edit_of_markers_and_extras_matches_tomlkit() -> None:
    for groups in ({"main"}, {"dev"}, {"main", "dev"}):
        for selection in (Selection(), Selection(extras=("ini",)), Selection(all_extras=True)):
            text, via_tomlkit = _both_ways(LOCK_2_1, {"colorama", "core", "six", "pytest"}, groups, selection)
            assert text == via_tomlkit, (groups, selection)


def test_a_lock_laid_out_otherwise_goes_through_tomlkit() -> None:
    unusual = LOCK_2_1.replace(b'[[package]]\nname = "six"', b'[[package]]\nversion = "1.16.0"\nname = "six"', 1)
    unusual = unusual.replace(b'version = "1.16.0"\ndescription', b"description", 1)
    pruned = tomllib.loads(pruned_lock(unusual, {"six"}, {"main"}, Selection(), "f00").decode())
    assert [p["name"] for p in pruned["package"]] == ["six"]
    assert pruned["package"][0]["groups"] == ["main"] and "markers" not in pruned["package"][0]


def test_groups_written_with_underscores_are_found_on_poetry_core_1() -> None:
    """poetry-core 1.x keeps group names as written and looks them up exactly."""
    from poetry.core.packages.dependency import Dependency

    from poetry_plugin_docker.stub.lock import root_requirements

    class Group:
        def __init__(self, dependencies):  # type: ignore[no-untyped-def]
            self.dependencies = dependencies

    class PoetryCore1Package:
        def __init__(self) -> None:
            self.groups = {
                "main": Group([Dependency("six", "*")]),
                "runtime_extra": Group([Dependency("requests", "*")]),
            }

        def dependency_group_names(self, include_optional: bool = False) -> set[str]:
            return set(self.groups)

        def dependency_group(self, name: str) -> Group:
            return self.groups[name]  # KeyError for "runtime-extra", as poetry-core 1.9 would

    requirements = root_requirements(
        PoetryCore1Package(), Selection(groups=("main", "runtime_extra")), {"main", "runtime-extra"}
    )
    assert sorted(name for name, _ in requirements) == ["requests", "six"]


def test_a_lock_with_no_package_left_says_package_empty_as_poetry_does(tmp_path) -> None:
    from poetry.packages.locker import Locker

    pruned = pruned_lock(LOCK_2_1, set(), {"main"}, Selection(), "f00")
    assert tomllib.loads(pruned.decode())["package"] == []
    (tmp_path / "poetry.lock").write_bytes(pruned)
    assert list(Locker(tmp_path / "poetry.lock", {}).locked_repository().packages) == []
