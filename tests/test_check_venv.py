"""check-venv.py, run with a real virtualenv's Python on real files (the e2e tests run it in images)."""

from __future__ import annotations

import subprocess
import sys
import venv
from typing import TYPE_CHECKING

import pytest

from poetry_plugin_docker.stub import CHECK_SCRIPT_SOURCE

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def virtualenv(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "venv"
    venv.create(root, with_pip=False)
    site = root / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert site.is_dir()
    return root, site


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(root / "bin" / "python"), str(CHECK_SCRIPT_SOURCE)], capture_output=True, text=True)


def _distribution(site: Path, name: str, files: dict[str, str], record_extra: tuple[str, ...] = ()) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for path, content in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(content)
    record = [*files, *record_extra, f"{info.name}/METADATA", f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{path},,\n" for path in record))


def test_a_clean_virtualenv_passes(virtualenv) -> None:
    root, site = virtualenv
    _distribution(site, "good", {"good/__init__.py": ""}, ("good/__pycache__/__init__.cpython-311.pyc",))
    result = _check(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("check-venv: 1 distributions, 0 compiled extensions: ok")


def test_missing_files_editable_installs_and_outside_paths_fail(virtualenv, tmp_path) -> None:
    root, site = virtualenv
    _distribution(site, "broken", {"broken/__init__.py": ""}, ("broken/data.json",))
    _distribution(site, "editable", {"editable.pth": f"{tmp_path / 'src'}\n"})
    (site / "editable-1.0.dist-info" / "direct_url.json").write_text(
        '{"url": "file:///src/editable", "dir_info": {"editable": true}}'
    )
    (site / "inside.pth").write_text("broken\nimport os\n# a comment\n")
    result = _check(root)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "check-venv: broken 1.0: RECORD names 1 missing file: broken/data.json",
        "check-venv: editable 1.0: is installed editable from file:///src/editable, which is not in the image",
        f"check-venv: editable 1.0: editable.pth adds {tmp_path / 'src'} to sys.path, outside the virtualenv",
        f"check-venv: 3 problems in {root.resolve()}: this image would fail at run time, so the build stops here.",
    ]
