"""`poetry docker build`: the refusals that come before Docker runs (the builds themselves are
in tests/e2e)."""

from __future__ import annotations

from helpers import assert_one_line_error


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
