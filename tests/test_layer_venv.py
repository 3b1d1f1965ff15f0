"""layer-venv.py: the split of an installed virtualenv into the image's dependency layers."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from poetry_plugin_docker.layer_venv import HEAVY_LAYERS, LAYER_NAMES, layer_of
from poetry_plugin_docker.stub import LAYER_SCRIPT_SOURCE

if TYPE_CHECKING:
    from pathlib import Path

SITE = "lib/python3.12/site-packages"


def _distribution(venv: Path, name: str, version: str, files: dict[str, str], *, purelib: bool) -> None:
    """A distribution as an installer leaves it: its files, METADATA, WHEEL and a RECORD naming them all."""
    site = venv / SITE
    info = f"{name.lower().replace('-', '_')}-{version}.dist-info"
    files = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nSome: text\n",
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: {'true' if purelib else 'false'}\n",
    }
    for path, text in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text)
    (site / info / "RECORD").write_text("".join(f"{path},sha256=x,1\n" for path in files) + f"{info}/RECORD,,\n")


def _venv(tmp_path: Path) -> Path:
    venv = tmp_path / "app" / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "include").mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/local/bin\n")
    (venv / "bin" / "python").symlink_to("/usr/local/bin/python3.12")
    (venv / "lib64").symlink_to("lib")
    (venv / ".lock").write_text("")
    _distribution(
        venv,
        "NumPy",
        "2.0.0",
        {"numpy/__init__.py": "", "numpy/core.so": "\x7fELF", "../../../bin/f2py": "#!/app/.venv/bin/python\n"},
        purelib=False,
    )
    _distribution(venv, "typing_extensions", "4.12.2", {"typing_extensions.py": ""}, purelib=True)
    (venv / SITE / "__pycache__").mkdir()
    (venv / SITE / "__pycache__" / "typing_extensions.cpython-312.pyc").write_bytes(b"pyc")
    return venv


def _layer_files(output: Path) -> dict[str, list[str]]:
    return {
        layer: sorted(
            str(path.relative_to(output / layer)) for path in (output / layer).rglob("*") if not path.is_dir()
            or path.is_symlink()
        )
        for layer in LAYER_NAMES
    }


def test_each_distribution_moves_to_its_layer_with_its_bytecode_and_times_zero(tmp_path) -> None:
    venv = _venv(tmp_path)
    output = tmp_path / "layer"
    run = subprocess.run(
        [sys.executable, str(LAYER_SCRIPT_SOURCE), str(venv), str(output)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    numpy, typing = layer_of("numpy", compiled=True), layer_of("typing-extensions", compiled=False)
    assert numpy in LAYER_NAMES[:HEAVY_LAYERS] and typing in LAYER_NAMES[HEAVY_LAYERS:]
    prefix = str(venv.relative_to("/"))
    files = _layer_files(output)
    assert files[numpy] == [
        f"{prefix}/bin/f2py",
        f"{prefix}/{SITE}/numpy-2.0.0.dist-info/METADATA",
        f"{prefix}/{SITE}/numpy-2.0.0.dist-info/RECORD",
        f"{prefix}/{SITE}/numpy-2.0.0.dist-info/WHEEL",
        f"{prefix}/{SITE}/numpy/__init__.py",
        f"{prefix}/{SITE}/numpy/core.so",
    ]
    assert files[typing] == [
        f"{prefix}/{SITE}/__pycache__/typing_extensions.cpython-312.pyc",
        f"{prefix}/{SITE}/typing_extensions-4.12.2.dist-info/METADATA",
        f"{prefix}/{SITE}/typing_extensions-4.12.2.dist-info/RECORD",
        f"{prefix}/{SITE}/typing_extensions-4.12.2.dist-info/WHEEL",
        f"{prefix}/{SITE}/typing_extensions.py",
    ]
    # What no RECORD names, the virtualenv's own files, goes to the first layer; uv's .lock goes nowhere.
    first = LAYER_NAMES[0]
    assert first not in (numpy, typing)
    assert files[first] == [f"{prefix}/bin/python", f"{prefix}/lib64", f"{prefix}/pyvenv.cfg"]
    assert (output / first / prefix / "include").is_dir()
    assert os.readlink(output / first / prefix / "bin" / "python") == "/usr/local/bin/python3.12"
    assert not [path for path in venv.rglob("*") if not path.is_dir()]  # everything moved
    assert all((output / layer).is_dir() for layer in LAYER_NAMES)  # every COPY has its directory
    times = {os.lstat(path).st_mtime for layer in LAYER_NAMES for path in (output / layer).rglob("*")}
    assert times == {0}
    assert f"{numpy} 6" in run.stdout and f"{typing} 5" in run.stdout


def test_a_layer_depends_on_the_name_and_kind_alone() -> None:
    assert layer_of("NumPy", compiled=True) == layer_of("numpy", compiled=True)  # canonical names
    assert layer_of("typing_extensions", compiled=False) == layer_of("typing-extensions", compiled=False)
    assert layer_of("six", compiled=False) in LAYER_NAMES[HEAVY_LAYERS:]
    # Spread: the heavy packages of the benchmark do not share a layer.
    assert len({layer_of(name, compiled=True) for name in ("numpy", "pandas", "scipy")}) == 3
