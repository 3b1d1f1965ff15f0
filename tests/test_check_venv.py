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


def _runtime_packages(root: Path, runtime_root: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_SCRIPT_SOURCE), "--runtime-packages", str(root), str(runtime_root)],
        capture_output=True, text=True,
    )  # fmt: skip


def test_runtime_packages_names_the_debian_packages_a_runtime_image_lacks(virtualenv, tmp_path) -> None:
    # A real compiled extension (this Python's _ssl, which links libssl and libcrypto) in the virtualenv.
    import _ssl
    import shutil

    root, site = virtualenv
    shutil.copy(_ssl.__file__, site / "_ssl_copy.so")
    if shutil.which("dpkg") is None:
        pytest.skip("no dpkg on this machine: the lookup needs Debian's package database")
    owner = subprocess.run(["dpkg", "-S", "libssl.so.3"], capture_output=True, text=True).stdout.split(":")[0]

    # A runtime image with nothing in it lacks them all; this machine's own root has them all.
    empty = tmp_path / "empty-runtime"
    empty.mkdir()
    lacking = _runtime_packages(root, empty)
    assert lacking.returncode == 0, lacking.stderr
    assert owner and owner in lacking.stdout.split(), lacking.stdout + lacking.stderr
    assert f"runtime-packages: {owner} for " in lacking.stderr
    complete = _runtime_packages(root, "/")
    assert complete.returncode == 0 and complete.stdout == "", complete.stdout + complete.stderr

    # Nothing compiled: nothing to look up.
    (site / "_ssl_copy.so").unlink()
    assert _runtime_packages(root, empty).stdout == ""
