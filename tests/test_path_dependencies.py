from __future__ import annotations

from pathlib import Path

import pytest

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.stub.lock import reachable_packages
from poetry_plugin_docker.stub.path_dependencies import (
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


def _lock(url: str) -> dict:
    core = {"name": "core", "source": {"type": "directory", "url": url}}
    return {"package": [core, {"name": "six"}, {"name": "kit", "dependencies": {"core": "*"}}]}


def test_only_the_selected_groups_path_dependencies_are_needed(tmp_path: Path) -> None:
    project, core = tmp_path / "services" / "api", tmp_path / "libs" / "core"
    project.mkdir(parents=True)
    core.mkdir(parents=True)
    (core / "pyproject.toml").write_text("")
    lock = _lock("../../libs/core")

    def pruned_for(roots: list[str]) -> dict:  # the lock as plan_stub prunes it
        kept = reachable_packages(lock, [(name, frozenset()) for name in roots])
        return {"package": [package for package in lock["package"] if package["name"] in kept]}

    assert needed_path_dependencies(pruned_for(["six"]), project) == []  # main: six; dev: kit -> core
    found = needed_path_dependencies(pruned_for(["six", "kit"]), project)
    assert found == [PathDependency("core", "../../libs/core", core.resolve())]
    assert project_dir_in_stub(project, found) == "services/api"
    assert project_dir_in_stub(project, []) == "."


def test_a_missing_path_dependency_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"Path dependency core \(../nowhere\) is not a project directory"):
        needed_path_dependencies(_lock("../nowhere"), tmp_path)


def test_a_path_dependency_sharing_no_directory_is_refused(tmp_path: Path) -> None:
    elsewhere = PathDependency("lib", "/opt/elsewhere/lib", Path("/opt/elsewhere/lib"))
    with pytest.raises(UserError, match="share no directory but the file system root"):
        project_dir_in_stub(tmp_path, [elsewhere])
