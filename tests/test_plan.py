"""The plan depends on its inputs alone: what comes from the machine (Poetry's, the plugin's and
Python's versions) is passed in as a Host."""

from __future__ import annotations

from poetry_plugin_docker.dockerfile.plan import DockerfileOptions, Images, plan_dockerfile
from poetry_plugin_docker.host import Host
from poetry_plugin_docker.project.loading import Project
from poetry_plugin_docker.project.selection import configured_selection
from poetry_plugin_docker.settings import Settings
from poetry_plugin_docker.stub.model import plan_stub


def _plan(root, host: Host, **settings):  # type: ignore[no-untyped-def]
    project = Project.open(root)
    selection = configured_selection(project)
    options = DockerfileOptions(Settings(**settings), selection)
    return plan_dockerfile(project, options, plan_stub(project, selection), host)


def test_the_hosts_versions_go_into_the_plan(project) -> None:
    root = project("classic")  # python = "^3.9"
    host = Host(poetry="1.8.5", plugin="9.9.9", python="3.10", installed={"poetry-plugin-export": "1.9.0"}.get)
    plan = _plan(root, host, builder_plugins=("poetry-plugin-export",), stub_stage=True)
    assert plan.images == Images(
        python="3.10", base_image="python:3.10", runtime_image="python:3.10-slim", syntax="docker/dockerfile:1"
    )
    assert plan.builder.poetry_requirements == (
        "poetry==1.8.5", "poetry-plugin-export==1.9.0", "poetry-plugin-docker==9.9.9",
    )  # fmt: skip
    assert plan.builder.system_git_variable == "POETRY_EXPERIMENTAL_SYSTEM_GIT_CLIENT"


def test_a_python_the_project_refuses_is_not_taken(project) -> None:
    root = project("classic")
    newer = Host(poetry="2.5.1", plugin="9.9.9", python="3.8", installed=lambda name: None)
    plan = _plan(root, newer)
    assert plan.images.python != "3.8" and plan.builder.poetry_requirements == ("poetry==2.5.1",)
    assert plan.builder.system_git_variable == "POETRY_SYSTEM_GIT_CLIENT"


def test_the_wheel_stage_calls_poetry_cores_hook_only_for_its_installed_backend(project) -> None:
    # An in-tree backend (backend-path) or another backend keeps the frontend: uv build.
    root = project("classic")
    host = Host(poetry="2.5.1", plugin="9.9.9", python="3.11", installed=lambda name: None)
    assert _plan(root, host).project.poetry_core_backend
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    assert 'build-backend = "poetry.core.masonry.api"' in text
    pyproject.write_text(text.replace(
        'build-backend = "poetry.core.masonry.api"',
        'build-backend = "poetry.core.masonry.api"\nbackend-path = ["."]',
    ))  # fmt: skip
    assert not _plan(root, host).project.poetry_core_backend
    pyproject.write_text(text.replace('build-backend = "poetry.core.masonry.api"', 'build-backend = "backend"'))
    assert not _plan(root, host).project.poetry_core_backend
