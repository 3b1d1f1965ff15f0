"""The real `poetry` CLI, in fresh virtualenvs, across the supported Poetry versions.

The content-hash rules differ between versions (2.0 hashes [project], 2.3 hashes
[dependency-groups]); each version locks the fixture itself when it does not
accept the committed lock, and the stub must satisfy that same version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from helpers import FIXTURES, REPO, copy_project, mirror_url

pytestmark = pytest.mark.poetry_versions

NEWEST = "2.5.1"
VERSIONS = ["1.8.5", "2.0.1", "2.2.1", NEWEST]
# fixture -> (oldest Poetry that supports it, locked main-group packages)
FIXTURES_UNDER_TEST = {
    "classic": ("1.8", {"six"}),
    "extras-poetry": ("1.8", {"six"}),
    "explicit-source": ("1.8", {"six"}),
    "non-package": ("1.8", {"six"}),
    "pep621-src": ("2.0", {"idna"}),
    "dependency-groups": ("2.2", {"six"}),
    "lock-2.0": ("1.8", {"six", "packaging"}),  # locked by Poetry 1.8: no per-package groups
    "monorepo/services/api": ("1.8", {"core", "idna", "six"}),
    "monorepo/services/worker": ("1.8", {"six"}),
}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@pytest.fixture(scope="session")
def plugin_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [str(Path(sys.executable).parent / "poetry"), "build", "--format", "wheel", "--output", str(dist)],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    return next(dist.glob("*.whl"))


@pytest.fixture(scope="session", params=VERSIONS)
def poetry_cli(request: pytest.FixtureRequest, plugin_wheel: Path):
    """A function running the `poetry` of one version, with this plugin installed next to it."""
    version = request.param
    home = REPO / ".cache" / "poetry-versions" / version
    python = home / "bin" / "python"
    if not (home / "bin" / "poetry").exists():
        shutil.rmtree(home, ignore_errors=True)
        venv.create(home, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"poetry=={version}", "poetry-plugin-pypi-mirror"],
            check=True,
        )
    # The plugin's own dependency besides Poetry (Poetry 1.8 ships it, 2.x does not), next to the pinned Poetry.
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"poetry=={version}", "poetry-plugin-export>=1.8.0,<2.0.0"],
        check=True,
    )
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(plugin_wheel)],
        check=True,
    )
    env = {
        **os.environ,
        "POETRY_PYPI_MIRROR_URL": mirror_url(),
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
        "POETRY_CACHE_DIR": str(REPO / ".cache" / "pypoetry"),
    }
    env.pop("VIRTUAL_ENV", None)

    def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(home / "bin" / "poetry"), *args], cwd=cwd, env=env, capture_output=True, text=True
        )

    run.version = version  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("fixture", sorted(FIXTURES_UNDER_TEST))
def test_stub_is_self_sufficient(poetry_cli, tmp_path: Path, fixture: str) -> None:
    oldest, main_packages = FIXTURES_UNDER_TEST[fixture]
    version = poetry_cli.version
    root = copy_project(FIXTURES / fixture, tmp_path / fixture.replace("/", "-"))
    if _version_tuple(version)[:2] < _version_tuple(oldest):
        if oldest == "2.0":
            run = poetry_cli(root, "docker", "build-context")
            assert run.returncode == 1
            lines = run.stderr.strip().splitlines()
            assert len(lines) == 1 and "needs Poetry 2.0 or newer" in lines[0], run.stderr + run.stdout
            assert not (root / ".docker-deps").exists()
        return

    if poetry_cli(root, "check", "--lock").returncode != 0:
        lock = ["lock", "--no-update"] if version.startswith("1.") else ["lock"]
        relocked = poetry_cli(root, *lock)
        assert relocked.returncode == 0, relocked.stderr
    assert poetry_cli(root, "check", "--lock").returncode == 0

    run = poetry_cli(root, "docker", "build-context")
    assert run.returncode == 0, run.stderr
    run = poetry_cli(root, "docker", "dockerfile", "--installer", "poetry")
    assert run.returncode == 0, run.stderr
    assert f"'poetry=={version}'" in (root / "Dockerfile").read_text()

    # The stub alone, in a directory of its own, is a project Poetry accepts and installs.
    stub = root / ".docker-deps"
    project_in_stub = next(lock.parent for lock in stub.rglob("poetry.lock")).relative_to(stub)
    shutil.copytree(stub, tmp_path / "stub-alone")
    alone = tmp_path / "stub-alone" / project_in_stub
    checked = poetry_cli(alone, "check", "--lock")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    installed = poetry_cli(alone, "install", "--no-root", "--only", "main")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listing = subprocess.run(
        [str(alone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    names = {entry["name"].lower() for entry in json.loads(listing)}
    assert names - {"pip", "setuptools", "wheel"} == main_packages
