"""Git dependencies pinned by branch, tag and rev, from a repository served on loopback."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import free_port, in_ci, poetry_executable, wait_for_port
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
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={repositories}",
         "--listen=127.0.0.1", f"--port={port}", str(repositories)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port)
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
        assert app.dependency_layers(build.tag) == 15, "git dependencies in per-package layers too (Poetry's split)"
        pins = app.python(build.tag, "import by_branch, by_tag, by_rev; print(by_branch.PIN, by_tag.PIN, by_rev.PIN)")
        assert pins == "by-branch by-tag by-rev"
        assert "--mount=type=ssh" not in (root / "Dockerfile").read_text(), "no SSH for public git"
    finally:
        app.remove_images()


@pytest.fixture
def ssh_git_server(tmp_path: Path, docker: str):
    """sshd on loopback serving a private repository, an ssh-agent holding the only key it
    accepts, and a builder base image with an SSH client (like the official python image)."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd).exists():
        message = "sshd is not installed (scripts/setup.sh installs openssh-server)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    repositories = tmp_path / "repositories"
    repositories.mkdir()
    _library(repositories, "private-lib")
    port = free_port()
    config = keys / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"StrictModes no\nUsePAM no\nPidFile {keys / 'sshd.pid'}\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    server = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    wait_for_port(port)
    agent_socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(agent_socket)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        if agent_socket.exists():
            break
        time.sleep(0.1)
    subprocess.run(["ssh-add", "-q", str(keys / "client")], env={**os.environ, "SSH_AUTH_SOCK": str(agent_socket)},
                   check=True, capture_output=True)  # fmt: skip
    base = "ppd-e2e-python-ssh:3.11"
    subprocess.run(
        [docker, "build", "--network=host", "-q", "-t", base, "-"],
        input="FROM python:3.11\nRUN apt-get update -qq"
        " && apt-get install -y -qq --no-install-recommends openssh-client"
        " >/dev/null && rm -rf /var/lib/apt/lists/*\n",
        text=True, check=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )  # fmt: skip
    user = getpass.getuser()
    try:
        yield f"ssh://{user}@127.0.0.1:{port}{repositories}/private-lib.git", str(agent_socket), base
    finally:
        server.terminate()
        agent.terminate()
        server.wait(10)
        agent.wait(10)


def test_private_git_dependency_over_ssh(tmp_path, docker, ssh_git_server) -> None:
    url, agent_socket, base = ssh_git_server
    root = tmp_path / "app"
    (root / "sshapp").mkdir(parents=True)
    (root / "sshapp" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "sshapp"\nversion = "0.1.0"\ndescription = "x"\nauthors = ["x <x@example.com>"]\n'
        'packages = [{ include = "sshapp" }]\n\n'
        f'[tool.poetry.dependencies]\npython = ">=3.9"\nprivate-lib = {{ git = "{url}", branch = "main" }}\n\n'
        "[tool.poetry-plugin-docker]\n"
        f'base-image = "{base}"\nsyntax = "none"\nbuilder-plugins = ["poetry-plugin-pypi-mirror"]\n'
        'build-args = ["POETRY_PYPI_MIRROR_URL"]\n\n'
        '[build-system]\nrequires = ["poetry-core>=1.9.0"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    app = Project(root, docker, "ssh-git")
    app.env.update(
        {
            "SSH_AUTH_SOCK": agent_socket,
            "GIT_SSH_COMMAND": "ssh -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/dev/null",
            "POETRY_SYSTEM_GIT_CLIENT": "true",
        }
    )
    app.poetry("lock")
    tag = f"ppd-e2e-ssh-git:{os.getpid()}"
    app.poetry("docker", "dockerfile")
    try:
        output = app.poetry("docker", "build", "--tag", tag, "--", "--network=host")
        assert "--ssh default" in output
        assert app.dependency_layers(tag) == 15
        assert "--mount=type=ssh" in (root / "Dockerfile").read_text()
        result = subprocess.run(
            [docker, "run", "--rm", "--network=none", "--entrypoint", "python", tag, "-c",
             "import private_lib; print(private_lib.PIN)"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert result.stdout.strip() == "private-lib"

        # Without the agent, `poetry docker build` refuses before Docker starts.
        bare = {k: v for k, v in app.env.items() if k != "SSH_AUTH_SOCK"}
        refused = subprocess.run(
            [poetry_executable(), "docker", "build", "--tag", tag], cwd=root, env=bare, capture_output=True, text=True
        )
        assert refused.returncode == 1 and "no SSH agent is running" in refused.stderr
    finally:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True)
