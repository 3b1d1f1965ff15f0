from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from helpers import EXAMPLE, FIXTURES, copy_project


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture project (or "example", the bundled example) into tmp_path."""

    def make(name: str) -> Path:
        source = EXAMPLE if name == "example" else FIXTURES / name
        return copy_project(source, tmp_path / name.replace("/", "-"))

    return make


# The fixture projects have tests of their own; they are data here, not tests to run.
collect_ignore = ["fixtures"]
