"""Helpers shared by the test modules."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

TESTS = Path(__file__).parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
EXAMPLE = REPO / "examples" / "fastapi-service"
# The heavy benchmark project (numpy, pandas, scipy), for the tests that compare installers on it.
SCIENCE = REPO / "benchmarks" / "projects" / "science-service"
# Every project shape the commands are tested on ("example" is the bundled example).
FIXTURE_SHAPES = [
    "classic",
    "pep621-src",
    "extras-pep621",
    "extras-poetry",
    "non-package",
    "explicit-source",
    "dependency-groups",
    "lock-2.0",
    "example",
    "monorepo/services/api",
    "monorepo/services/worker",
    "monorepo/services/gateway",  # an index dependency that the dev group overrides with an editable checkout
]


def copy_project(source: Path, destination: Path) -> Path:
    """Copy a fixture; for a service of a fixture monorepo ("monorepo/services/api"),
    copy the whole repository beside `destination` and return the service's path in it."""
    relative = source.relative_to(FIXTURES) if source.is_relative_to(FIXTURES) else None
    if relative is not None and len(relative.parts) > 1:
        repository = destination.parent / relative.parts[0]
        _copy_tree(FIXTURES / relative.parts[0], repository)
        return repository.joinpath(*relative.parts[1:])
    _copy_tree(source, destination)
    return destination


def _copy_tree(source: Path, destination: Path) -> None:
    generated = (".venv", "__pycache__", ".docker-deps", "Dockerfile", ".dockerignore", "dist")
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*generated))


def set_in_pyproject(root: Path, old: str, new: str) -> None:
    path = root / "pyproject.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def assert_one_line_error(run, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert run.status != 0
    lines = run.error.strip().splitlines()
    assert len(lines) == 1, run.error
    assert "Traceback" not in run.error + run.output
    for fragment in fragments:
        assert fragment in lines[0]


def relock(root: Path) -> None:
    """Rewrite the lock's content-hash as `poetry lock` would when the locked packages still fit.

    Only for edits that cannot change the resolution (such as narrowing Python).
    """
    from poetry.factory import Factory

    lock = root / "poetry.lock"
    content_hash = Factory().create_poetry(root).locker._get_content_hash()
    lock.write_text(
        re.sub(r'content-hash = "[0-9a-f]+"', f'content-hash = "{content_hash}"', lock.read_text())
    )
    assert Factory().create_poetry(root).locker.is_fresh()


def mirror_url() -> str:
    """The package index this machine reaches, for poetry-plugin-pypi-mirror (never hard-coded)."""
    import os

    url = os.environ.get("PYPI_MIRROR_URL") or os.environ.get("POETRY_PYPI_MIRROR_URL")
    if url:
        return url
    from pip._internal.models.index import PyPI

    return PyPI.simple_url


def poetry_executable() -> str:
    return str(Path(sys.executable).parent / "poetry")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


NOBODY = 65534


@contextmanager
def project_as_nobody(fixture: str) -> Iterator[tuple[Path, list[str], dict[str, str]]]:
    """A copy of a fixture that uid `nobody` owns, outside pytest's tmp_path (which only its
    owner may enter), with a read-only `ro/` and an empty `open/` in it; and the command prefix
    and environment that run Poetry as nobody. Root may write anywhere, and CI runs as root:
    only a real user other than root can show a refused write."""
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if os.geteuid() == 0 else []
    # Other users must be able to run this interpreter: on this machine the default Python (the main
    # suite's) they can, the pyenv builds of the test-pythons matrix (libpython under /root) they cannot.
    probe = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True, text=True) if setpriv else None
    if probe is None or probe.returncode != 0:
        reason = "no setpriv" if probe is None else probe.stderr.strip().splitlines()[-1]
        message = f"cannot run Poetry as uid {NOBODY}: {reason}"
        if in_ci() and sys.version_info[:2] == (3, 11):
            raise AssertionError(message)
        import pytest

        pytest.skip(message)
    shared = Path(tempfile.mkdtemp(prefix="ppd-nobody-"))
    try:
        shared.chmod(0o755)
        root = copy_project(FIXTURES / fixture, shared / fixture)
        home = shared / "home"
        for made in (home, root / "open", root / "ro"):
            made.mkdir()
        if os.geteuid() == 0:  # nobody owns it all; `ro/` it may not write (mode 555)
            for directory, _, names in os.walk(shared):
                for path in [directory, *(os.path.join(directory, name) for name in names)]:
                    os.chown(path, NOBODY, NOBODY)
        (root / "ro").chmod(0o555)
        env = {
            **os.environ,
            "HOME": str(home),
            "POETRY_CONFIG_DIR": str(home / "config"),
            "POETRY_CACHE_DIR": str(home / "cache"),
            "POETRY_DATA_DIR": str(home / "data"),
        }
        yield root, [*prefix, poetry_executable()], env
    finally:
        shutil.rmtree(shared)


def run_poetry(command: list[str], root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def hadolint(path: Path):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    executable = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    return subprocess.run([executable, str(path)], capture_output=True, text=True)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 10) -> None:
    """Wait until a server listens on the loopback port."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")
