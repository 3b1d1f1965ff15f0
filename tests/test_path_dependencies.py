from __future__ import annotations

from pathlib import Path

import pytest

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.path_dependencies import (
    PathDependency,
    needed_path_dependencies,
    project_dir_in_stub,
    without_develop,
)


def test_develop_is_dropped_from_every_dependency_table() -> None:
    table = {
        "dependencies": {"core": {"path": "../core", "develop": True}, "six": "*"},
        "group": {"dev": {"dependencies": {"kit": [{"path": "../kit", "develop": True, "python": "<4"}]}}},
    }
    assert without_develop(table) is True
    assert table == {
        "dependencies": {"core": {"path": "../core"}, "six": "*"},
        "group": {"dev": {"dependencies": {"kit": [{"path": "../kit", "python": "<4"}]}}},
    }
    assert without_develop(table) is False


def _lock(url: str, groups: list[str] | None) -> dict:
    package = {"name": "core", "source": {"type": "directory", "url": url}}
    if groups is not None:
        package["groups"] = groups
    return {"package": [package, {"name": "six"}]}


def test_only_the_selected_groups_path_dependencies_are_needed(tmp_path: Path) -> None:
    project, core = tmp_path / "services" / "api", tmp_path / "libs" / "core"
    project.mkdir(parents=True)
    core.mkdir(parents=True)
    (core / "pyproject.toml").write_text("")
    assert needed_path_dependencies(_lock("../../libs/core", ["dev"]), project, ["main"]) == []
    found = needed_path_dependencies(_lock("../../libs/core", ["dev"]), project, ["main", "dev"])
    assert found == [PathDependency("core", "../../libs/core", core.resolve())]
    # A lock without groups (lock-version 2.0): every path dependency, to be safe.
    assert len(needed_path_dependencies(_lock("../../libs/core", None), project, ["main"])) == 1
    assert project_dir_in_stub(project, found) == "services/api"
    assert project_dir_in_stub(project, []) == "."


def test_a_missing_path_dependency_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"Path dependency core \(../nowhere\) is not a project directory"):
        needed_path_dependencies(_lock("../nowhere", ["main"]), tmp_path, ["main"])


def test_a_path_dependency_sharing_no_directory_is_refused(tmp_path: Path) -> None:
    elsewhere = PathDependency("lib", "/opt/elsewhere/lib", Path("/opt/elsewhere/lib"))
    with pytest.raises(UserError, match="share no directory but the file system root"):
        project_dir_in_stub(tmp_path, [elsewhere])
