from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
EXAMPLE = REPO / "examples" / "fastapi-service"


def copy_project(source: Path, destination: Path) -> Path:
    shutil.copytree(
        source,
        destination,
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".docker-deps", "Dockerfile", "dist"),
    )
    return destination


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture project (or "example", the bundled example) into tmp_path."""

    def make(name: str) -> Path:
        source = EXAMPLE if name == "example" else FIXTURES / name
        return copy_project(source, tmp_path / name)

    return make
