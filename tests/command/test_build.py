"""`poetry docker build`: what it does before Docker runs (the builds themselves are in tests/e2e).

Here $DOCKER is `true`, which accepts any arguments and builds nothing."""

from __future__ import annotations

import shutil

import pytest
from helpers import assert_one_line_error

from poetry_plugin_docker.stub import DEFAULT_STUB_DIR


@pytest.mark.parametrize(("options", "writes_stub"), [("", True), ("--stub-stage", False)])
def test_writes_the_stub_unless_the_dockerfile_derives_it(project, poetry_cli, monkeypatch, options, writes_stub) -> None:
    root = project("classic")
    assert poetry_cli(root, f"docker dockerfile {options}").status == 0
    monkeypatch.setenv("DOCKER", shutil.which("true"))
    run = poetry_cli(root, "docker build")
    assert run.status == 0, run.error
    assert (root / DEFAULT_STUB_DIR).exists() is writes_stub
    assert ("derives the dependency stub itself" in run.output) is not writes_stub
    assert "Built classic-app:0.3.0 and classic-app:latest." in run.output


def test_without_a_dockerfile(project, poetry_cli) -> None:
    root = project("classic")
    assert_one_line_error(poetry_cli(root, "docker build"), "No Dockerfile", "poetry docker dockerfile")


def test_ssh_git_dependency_without_an_agent(project, poetry_cli, monkeypatch) -> None:
    root = project("classic")
    lock = (root / "poetry.lock").read_text()
    (root / "poetry.lock").write_text(
        lock.replace('name = "six"', 'name = "six"\n[package.source]\ntype = "git"\nurl = "git@example.com:org/six.git"', 1)
    )
    assert poetry_cli(root, "docker dockerfile").status == 0
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    assert_one_line_error(poetry_cli(root, "docker build"), "over SSH", "ssh-agent")


def test_private_source_without_credentials(project, poetry_cli, monkeypatch) -> None:
    root = project("explicit-source")
    assert poetry_cli(root, "docker dockerfile --secret-source internal").status == 0
    monkeypatch.delenv("POETRY_HTTP_BASIC_INTERNAL_USERNAME", raising=False)
    monkeypatch.delenv("POETRY_HTTP_BASIC_INTERNAL_PASSWORD", raising=False)
    assert_one_line_error(
        poetry_cli(root, "docker build"), "Source 'internal' needs credentials", "POETRY_HTTP_BASIC_INTERNAL_PASSWORD"
    )
