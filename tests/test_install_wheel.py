"""install-wheel.py: the project's wheel, installed under a staging root as pip installs it into /app/.venv.

The same function lays out `poetry docker publish`'s layer; tests/e2e/test_install_wheel_against_pip.py
compares it with pip itself, in an image, on real wheels.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import marshal
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest

from poetry_plugin_docker.in_image.install_wheel import WheelError, install
from poetry_plugin_docker.stub.pyproject import WHEEL_SCRIPT_SOURCE

if TYPE_CHECKING:
    from pathlib import Path

VENV = "/app/.venv"
SITE = "app/.venv/lib/python3.12/site-packages"
INFO = "tool_kit-2.0.dist-info"


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path, files: dict[str, bytes], executable: tuple[str, ...] = (), purelib: bool = True,
               name: str = "tool_kit-2.0-py3-none-any.whl") -> Path:  # fmt: skip
    files = {
        f"{INFO}/METADATA": b"Metadata-Version: 2.1\nName: tool-kit\nVersion: 2.0\n",
        f"{INFO}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: {str(purelib).lower()}\nTag: py3-none-any\n".encode(),
        **files,
    }
    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data in files.items())
    wheel = directory / name
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in {**files, f"{INFO}/RECORD": record.encode()}.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (0o100755 if path in executable else 0o100644) << 16
            archive.writestr(info, data)
    return wheel


def tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


FULL = {
    "tool_kit/__init__.py": b"def main():\n    return 0\n",
    "tool_kit/run.sh": b"#!/bin/sh\necho run\n",
    "tool_kit/__pycache__/__init__.cpython-312.pyc": b"stale bytecode",
    f"{INFO}/entry_points.txt": b"[console_scripts]\ntool-kit = tool_kit:main\n\n[gui_scripts]\n"
    b"tool-kit-gui = tool_kit.gui:App.start\n\n[tool_kit.plugins]\nignored = tool_kit:main\n",
    "tool_kit-2.0.data/scripts/legacy": b"#!python\nprint('legacy')\n",
    "tool_kit-2.0.data/scripts/shell": b"#!/bin/sh\necho shell\n",
    "tool_kit-2.0.data/data/share/tool-kit/config.ini": b"[tool]\n",
    "tool_kit-2.0.data/headers/tool.h": b"int tool(void);\n",
    "tool_kit-2.0.data/purelib/tool_kit_extra.py": b"EXTRA = 1\n",
}


def test_every_scheme_goes_where_pip_puts_it(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, FULL, executable=("tool_kit/run.sh", "tool_kit-2.0.data/scripts/shell"))
    install(str(wheel), VENV, str(tmp_path / "staging"), "python3.12")
    files = tree(tmp_path / "staging")
    assert sorted(files) == sorted([
        "app/.venv/bin/legacy",
        "app/.venv/bin/shell",
        "app/.venv/bin/tool-kit",
        "app/.venv/bin/tool-kit-gui",
        "app/.venv/include/site/python3.12/tool-kit/tool.h",  # the file name's, as pip names it
        "app/.venv/share/tool-kit/config.ini",
        *(f"{SITE}/{INFO}/{name}" for name in
          ("INSTALLER", "METADATA", "RECORD", "REQUESTED", "WHEEL", "direct_url.json", "entry_points.txt")),
        f"{SITE}/tool_kit/__init__.py",
        f"{SITE}/tool_kit/run.sh",
        f"{SITE}/tool_kit_extra.py",
    ])  # fmt: skip
    assert files["app/.venv/bin/legacy"] == b"#!/app/.venv/bin/python\nprint('legacy')\n"
    assert files["app/.venv/bin/shell"] == b"#!/bin/sh\necho shell\n", "only a #!python shebang is rewritten"
    assert files["app/.venv/bin/tool-kit-gui"] == (
        b"#!/app/.venv/bin/python\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom tool_kit.gui import App\n"
        b"if __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        b"    sys.exit(App.start())\n"
    )
    assert files[f"{SITE}/{INFO}/INSTALLER"] == b"pip\n"
    assert files[f"{SITE}/{INFO}/direct_url.json"] == (
        b'{"archive_info": {}, "url": "file:///dist/tool_kit-2.0-py3-none-any.whl"}'
    )
    modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "staging").rglob("*") if path.is_file()}
    # Entry-point scripts are executable; other files keep the archive's mode, as pip leaves them.
    assert {name: mode for name, mode in modes.items() if mode != 0o644} == {
        "shell": 0o755, "tool-kit": 0o755, "tool-kit-gui": 0o755, "run.sh": 0o755,
    }  # fmt: skip


def test_the_record_names_every_file_with_its_hash_relative_to_site_packages(tmp_path: Path) -> None:
    install(str(make_wheel(tmp_path, FULL)), VENV, str(tmp_path / "staging"), "python3.12")
    files = tree(tmp_path / "staging")
    record = files[f"{SITE}/{INFO}/RECORD"].decode()
    assert record.endswith("\r\n")
    rows = [row.split(",") for row in record.split("\r\n")[:-1]]
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    named = {row[0]: row for row in rows}
    assert named[f"{INFO}/RECORD"] == [f"{INFO}/RECORD", "", ""]
    installed = {path: data for path, data in files.items() if not path.endswith("/RECORD")}
    site = SITE.count("/") + 1
    expected = {"/".join([".."] * (site - 2) + path.split("/")[2:]) if not path.startswith(SITE)
                else path[len(SITE) + 1 :]: data for path, data in installed.items()}  # fmt: skip
    assert {path: row[1:] for path, row in named.items() if path != f"{INFO}/RECORD"} == {
        path: [record_hash(data), str(len(data))] for path, data in expected.items()
    }
    assert "../../../bin/tool-kit" in named and "tool_kit/__pycache__/__init__.cpython-312.pyc" not in named


def test_compile_writes_hash_based_bytecode_with_the_installed_paths(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"tool_kit/__init__.py": b"X = 1\n"})
    python_dir = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    install(str(wheel), VENV, str(tmp_path / "staging"), python_dir, compile_bytecode=True)
    site = f"app/.venv/lib/{python_dir}/site-packages"
    cached = importlib.util.cache_from_source("tool_kit/__init__.py")
    pyc = (tmp_path / "staging" / site / cached).read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 0b01, "hash-based, unchecked: no file time in it"
    assert marshal.loads(pyc[16:]).co_filename == f"/{site}/tool_kit/__init__.py"
    record = (tmp_path / "staging" / site / INFO / "RECORD").read_text()
    assert f"{cached},{record_hash(pyc)},{len(pyc)}" in record.splitlines()


def test_a_platlib_wheel_goes_to_site_packages_too(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"tool_kit/_speed.so": b"\x7fELF"}, purelib=False)
    install(str(wheel), VENV, str(tmp_path / "staging"), "python3.12")
    assert f"{SITE}/tool_kit/_speed.so" in tree(tmp_path / "staging")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"other-1.0.dist-info/METADATA": b""}, "the wheel has 2 .dist-info directories, not one"),
        ({"tool_kit-2.0.data/lib/x.py": b""}, "tool_kit-2.0.data/lib/x.py is not in a .data directory of a known"),
        ({f"{INFO}/entry_points.txt": b"[console_scripts]\nbad = tool_kit\n"}, "entry point bad = tool_kit is not"),
        ({f"{INFO}/entry_points.txt": b"[a]\nx = y:z\n[a]\n"}, "its entry_points.txt cannot be read"),
        ({"../outside.py": b""}, "../outside.py points outside the installation"),
    ],
)
def test_a_wheel_it_cannot_install_is_one_line_and_exit_1(tmp_path: Path, files: dict[str, bytes],
                                                          message: str) -> None:  # fmt: skip
    wheel = make_wheel(tmp_path, files)
    with pytest.raises(WheelError, match=message):
        install(str(wheel), VENV, str(tmp_path / "staging"), "python3.12")
    run = subprocess.run(
        [sys.executable, str(WHEEL_SCRIPT_SOURCE), str(wheel), VENV, str(tmp_path / "again")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.startswith(f"install-wheel: cannot install {wheel.name}: ") and run.stderr.count("\n") == 1


def test_the_script_installs_for_the_python_that_runs_it(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"tool_kit/__init__.py": b""})
    run = subprocess.run(
        [sys.executable, str(WHEEL_SCRIPT_SOURCE), str(wheel), VENV, str(tmp_path / "staging")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    python_dir = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert (tmp_path / "staging" / f"app/.venv/lib/{python_dir}/site-packages/tool_kit/__init__.py").is_file()
    usage = subprocess.run([sys.executable, str(WHEEL_SCRIPT_SOURCE)], capture_output=True, text=True, check=False)
    assert (usage.returncode, usage.stderr) == (2, "usage: install-wheel.py [--compile] WHEEL VIRTUALENV ROOT\n")


def test_a_wheel_without_its_wheel_file_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {})
    stripped = tmp_path / "stripped" / wheel.name
    stripped.parent.mkdir()
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(stripped, "w") as target:
        for info in source.infolist():
            if not info.filename.endswith("/WHEEL"):
                target.writestr(info, source.read(info))
    with pytest.raises(WheelError, match=f"it has no {INFO}/WHEEL"):
        install(str(stripped), VENV, str(tmp_path / "staging"), "python3.12")


def test_any_data_directory_counts_and_entry_point_wrappers_are_left_out(tmp_path: Path) -> None:
    # pip takes any top-level .data directory, whatever its name's spelling, and writes an entry point's
    # own script instead of the wrapper setuptools put in .data/scripts for it.
    files = {
        f"{INFO}/entry_points.txt": b"[console_scripts]\ntool-kit = tool_kit:main\n",
        "Tool.Kit-2.0.data/scripts/tool-kit": b"#!python\nwrapper\n",
        "Tool.Kit-2.0.data/scripts/tool-kit-script.py": b"wrapper\n",
        "Tool.Kit-2.0.data/data/share/kit.txt": b"kit\n",
    }
    install(str(make_wheel(tmp_path, files)), VENV, str(tmp_path / "staging"), "python3.12")
    installed = tree(tmp_path / "staging")
    assert installed["app/.venv/share/kit.txt"] == b"kit\n"
    assert installed["app/.venv/bin/tool-kit"].startswith(b"#!/app/.venv/bin/python\n# -*- coding: utf-8 -*-")
    assert "app/.venv/bin/tool-kit-script.py" not in installed


def test_a_module_that_does_not_compile_is_left_without_bytecode(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"tool_kit/__init__.py": b"X = 1\n", "tool_kit/template.py": b"{{ name }} = 1\n"})
    python_dir = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    install(str(wheel), VENV, str(tmp_path / "staging"), python_dir, compile_bytecode=True)
    site = tmp_path / "staging" / f"app/.venv/lib/{python_dir}/site-packages"
    assert (site / importlib.util.cache_from_source("tool_kit/__init__.py")).is_file()
    assert not (site / importlib.util.cache_from_source("tool_kit/template.py")).exists()
    assert (site / "tool_kit" / "template.py").read_bytes() == b"{{ name }} = 1\n"
