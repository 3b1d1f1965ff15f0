"""Git dependencies pinned by branch, tag and rev, from a repository served on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from imagebuild import Project

pytestmark = pytest.mark.docker


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def _library(repositories: Path, name: str) -> str:
    """A one-module Poetry library in a bare repository; returns its first commit."""
    work = repositories / f"{name}-work"
    module = name.replace("-", "_")
    (work / module).mkdir(parents=True)
    (work / "pyproject.toml").write_text(
        f'[tool.poetry]\nname = "{name}"\nversion = "1.0.0"\ndescription = "x"\nauthors = ["x <x@example.com>"]\n\n'
        '[tool.poetry.dependencies]\npython = ">=3.9"\n\n'
        '[build-system]\nrequires = ["poetry-core>=1.9.0"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    (work / module / "__init__.py").write_text(f'PIN = "{name}"\n')
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-qm", "v1", cwd=work)
    _git("tag", "v1.0.0", cwd=work)
    _git("clone", "-q", "--bare", str(work), str(repositories / f"{name}.git"), cwd=repositories)
    return _git("rev-parse", "HEAD", cwd=work)


@pytest.fixture
def git_server(tmp_path: Path):
    repositories = tmp_path / "repositories"
    repositories.mkdir()
    revision = _library(repositories, "by-rev")
    _library(repositories, "by-branch")
    _library(repositories, "by-tag")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={repositories}",
         "--listen=127.0.0.1", f"--port={port}", str(repositories)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        yield f"git://127.0.0.1:{port}", revision
    finally:
        daemon.terminate()
        daemon.wait(10)


def test_git_dependencies_install_from_branch_tag_and_rev(tmp_path, docker, git_server) -> None:
    base, revision = git_server
    root = tmp_path / "app"
    (root / "gitapp").mkdir(parents=True)
    (root / "gitapp" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "gitapp"\nversion = "0.1.0"\ndescription = "x"\nauthors = ["x <x@example.com>"]\n'
        'packages = [{ include = "gitapp" }]\n\n'
        '[tool.poetry.dependencies]\npython = ">=3.9"\n'
        f'by-branch = {{ git = "{base}/by-branch.git", branch = "main" }}\n'
        f'by-tag = {{ git = "{base}/by-tag.git", tag = "v1.0.0" }}\n'
        f'by-rev = {{ git = "{base}/by-rev.git", rev = "{revision}" }}\n\n'
        '[build-system]\nrequires = ["poetry-core>=1.9.0"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    app = Project(root, docker, "git-deps")
    app.poetry("lock")
    try:
        build = app.build()
        pins = app.python(build.tag, "import by_branch, by_tag, by_rev; print(by_branch.PIN, by_tag.PIN, by_rev.PIN)")
        assert pins == "by-branch by-tag by-rev"
        assert "--mount=type=ssh" not in (root / "Dockerfile").read_text(), "no SSH for public git"
    finally:
        app.remove_images()
