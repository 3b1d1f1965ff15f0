"""The scripts that run in the image are no plugin modules: Python 3.8 syntax, the standard library
only, and nothing of the plugin imports them."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import poetry_plugin_docker
from poetry_plugin_docker.stub.pyproject import (
    CHECK_SCRIPTS,
    LAYER_SCRIPT,
    LAYER_SCRIPT_SOURCE,
    WHEEL_SCRIPT,
    WHEEL_SCRIPT_SOURCE,
)

IN_IMAGE = Path(poetry_plugin_docker.__file__).parent / "in_image"
SCRIPTS = sorted(IN_IMAGE.glob("*.py"))


def test_the_stub_carries_every_script() -> None:
    sources = [*CHECK_SCRIPTS.values(), LAYER_SCRIPT_SOURCE, WHEEL_SCRIPT_SOURCE]
    assert sorted(Path(str(source)).name for source in sources) == [path.name for path in SCRIPTS]
    assert sorted([*CHECK_SCRIPTS, LAYER_SCRIPT, WHEEL_SCRIPT]) == [
        "check-venv.py", "install-wheel.py", "layer-venv.py", "runtime-packages.py", "shared_objects.py",
    ]  # fmt: skip


@pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names is new in 3.10")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_a_script_is_python_3_8_with_the_standard_library_only(script: Path) -> None:
    tree = ast.parse(script.read_text(), feature_version=(3, 8))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        )
    }  # fmt: skip
    allowed = set(sys.stdlib_module_names) | {"__future__", "shared_objects"}
    assert imported - allowed == set()


def test_no_plugin_module_imports_them() -> None:
    plugin = Path(poetry_plugin_docker.__file__).parent
    for module in plugin.rglob("*.py"):
        if IN_IMAGE in module.parents:
            continue
        text = module.read_text()
        assert "import check_venv" not in text and "in_image import" not in text, module
