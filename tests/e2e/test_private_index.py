"""A private index with basic auth (pypiserver on loopback): credentials reach the dependency
install only as a BuildKit secret, and appear in no layer, history or log."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from helpers import FIXTURES, free_port, poetry_executable, wait_for_port
from imagebuild import Project

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.docker
USERNAME = "ci"


@pytest.fixture
def private_index(tmp_path: Path):
    """A pypiserver holding `private-greeting`, requiring basic auth for everything."""
    from passlib.apache import HtpasswdFile

    password = secrets.token_hex(16)
    packages = tmp_path / "packages"
    packages.mkdir()
    subprocess.run(
        [poetry_executable(), "build", "--format", "wheel", "--output", str(packages)],
        cwd=FIXTURES / "private-index" / "private-greeting", check=True, capture_output=True,
    )  # fmt: skip
    htpasswd = HtpasswdFile(str(tmp_path / "htpasswd"), new=True)
    htpasswd.set_password(USERNAME, password)
    htpasswd.save()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1", "--port", str(port),
         "--passwords", str(tmp_path / "htpasswd"), "--authenticate", "download,list,update",
         str(packages)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/simple/"
    wait_for_port(port)
    try:
        yield url, password
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize("installer", ["poetry", "uv"])
def test_credentials_reach_the_install_only_as_a_secret(tmp_path, docker, private_index, installer) -> None:
    url, password = private_index
    root = tmp_path / "app"
    (root / "app").mkdir(parents=True)
    source = FIXTURES / "private-index" / "app"
    (root / "app" / "__init__.py").write_bytes((source / "app" / "__init__.py").read_bytes())
    pyproject = (source / "pyproject.toml.template").read_text().replace("INDEX_URL", url)
    # With uv, the secret reaches uv as a netrc file (in a tmpfs), by the source URL's host.
    table = f'\n[tool.poetry-plugin-docker]\ninstaller = "{installer}"\n'
    (root / "pyproject.toml").write_text(pyproject + table)

    app = Project(root, docker, f"private-index-{installer}")
    app.env.update({"POETRY_HTTP_BASIC_INTERNAL_USERNAME": USERNAME, "POETRY_HTTP_BASIC_INTERNAL_PASSWORD": password})
    app.poetry("lock")
    secret_file = tmp_path / "internal-credentials"
    secret_file.write_text(f"{USERNAME}:{password}")
    try:
        # Without the secret the build fails, naming it (first, so no cached step hides it).
        failed = subprocess.run(
            [*app.build_command("no-secret")], cwd=root, env=app.env, capture_output=True, text=True
        )
        assert failed.returncode != 0
        assert "internal-credentials" in failed.stderr

        build = app.build(extra=["--secret", f"id=internal-credentials,src={secret_file}"])
        assert app.dependency_layers(build.tag) == 15
        assert app.python(build.tag, "import private_greeting as p; print(p.GREETING)") == (
            "hello from the private index"
        )
        stub = root / ".docker-deps"
        for generated in (stub / "pyproject.toml", stub / "poetry.lock", root / "Dockerfile"):
            assert password not in generated.read_text()
        dockerfile = (root / "Dockerfile").read_text()
        assert "--mount=type=secret,id=internal-credentials" in dockerfile
        assert ("uv pip install --python /app/.venv/bin/python --require-hashes" in dockerfile) == (installer == "uv")
        assert password not in build.log
        history = subprocess.run(
            [docker, "history", "--no-trunc", build.tag], capture_output=True, text=True, check=True
        ).stdout
        assert password not in history
        saved = subprocess.run([docker, "save", build.tag], capture_output=True, check=True).stdout
        assert len(saved) > 1_000_000 and password.encode() not in saved

        # `poetry docker build` hands the credentials over as a secret file, and prints no password.
        tag = f"ppd-e2e-private-build:{os.getpid()}"
        released = subprocess.run(
            [poetry_executable(), "docker", "build", "--tag", tag, "--", "--network=host",
             "--build-arg", f"POETRY_PYPI_MIRROR_URL={app.env['POETRY_PYPI_MIRROR_URL']}"],
            cwd=root, env=app.env, capture_output=True, text=True,
        )  # fmt: skip
        assert released.returncode == 0, released.stdout[-3000:] + released.stderr[-3000:]
        assert "--secret id=internal-credentials,src=" in released.stdout
        assert password not in released.stdout + released.stderr
        subprocess.run([docker, "rmi", tag], capture_output=True)

        # Without credentials in the environment it refuses with one line, before building.
        bare = {k: v for k, v in app.env.items() if not k.startswith("POETRY_HTTP_BASIC_")}
        refused = subprocess.run(
            [poetry_executable(), "docker", "build", "--tag", tag], cwd=root, env=bare, capture_output=True, text=True
        )
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            "Source 'internal' needs credentials for the build: set "
            "POETRY_HTTP_BASIC_INTERNAL_USERNAME and POETRY_HTTP_BASIC_INTERNAL_PASSWORD."
        ]
    finally:
        app.remove_images()
