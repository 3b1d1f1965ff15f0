from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING, Callable

import pytest
from helpers import EXAMPLE, FIXTURES, SCIENCE, copy_project, relock

from poetry_plugin_docker.toml import tomllib

if TYPE_CHECKING:
    from pathlib import Path

# Poetry hashes [dependency-groups] into the lock's content-hash from 2.3 on. The committed
# locks are Poetry 2.5's; Poetry 2.2 (the newest on Python 3.9) locks the same packages
# under another hash, so the copies get the hash it would write.
POETRY_HASHES_DEPENDENCY_GROUPS = tuple(int(part) for part in version("poetry").split(".")[:2]) >= (2, 3)


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture project (or "example", the bundled example; "science", the heavy benchmark
    project) into tmp_path."""

    def make(name: str) -> Path:
        source = {"example": EXAMPLE, "science": SCIENCE}.get(name, FIXTURES / name)
        root = copy_project(source, tmp_path / name.replace("/", "-"))
        pyproject = tomllib.loads((root / "pyproject.toml").read_text())
        if not POETRY_HASHES_DEPENDENCY_GROUPS and "dependency-groups" in pyproject:
            relock(root)
        return root

    return make


# The fixture projects have tests of their own; they are data here, not tests to run.
collect_ignore = ["fixtures"]
