"""layer-venv.py: an install stage's virtualenv, split into the dependency layers of its requirements files."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from poetry_plugin_docker.stub.pyproject import LAYER_SCRIPT_SOURCE

if TYPE_CHECKING:
    from pathlib import Path

SITE = "lib/python3.12/site-packages"


def _distribution(venv: Path, name: str, version: str, files: dict[str, str]) -> None:
    """A distribution as an installer leaves it: its files, METADATA and a RECORD naming them all."""
    site = venv / SITE
    info = f"{name.lower().replace('-', '_')}-{version}.dist-info"
    files = {**files, f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nSome: text\n"}
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
    numpy = {"numpy/__init__.py": "", "numpy/core.so": "\x7fELF", "../../../bin/f2py": "#!/app/.venv/bin/python\n"}
    # setuptools-style vendoring: a package's own copy of another distribution, with its dist-info.
    numpy["numpy/_vendor/six-1.16.0.dist-info/RECORD"] = "six.py,,\n"
    _distribution(venv, "NumPy", "2.0.0", numpy)
    _distribution(venv, "typing_extensions", "4.12.2", {"typing_extensions.py": ""})
    (venv / SITE / "__pycache__").mkdir()
    (venv / SITE / "__pycache__" / "typing_extensions.cpython-312.pyc").write_bytes(b"pyc")
    return venv


def _requirements(tmp_path: Path) -> list[Path]:
    files = {
        "04.txt": "# layer 04\n--extra-index-url https://index.example/simple\n",
        "05.txt": '# layer 05\nnumpy==2.0.0 ; python_version >= "3.9" \\\n    --hash=sha256:aaa\n',
        "06.txt": "# layer 06\ntyping-extensions==4.12.2 \\\n    --hash=sha256:bbb\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return [tmp_path / name for name in files]


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(LAYER_SCRIPT_SOURCE), *map(str, args)], capture_output=True, text=True)


def _files(layer: Path) -> list[str]:
    return sorted(str(path.relative_to(layer)) for path in layer.rglob("*") if not path.is_dir() or path.is_symlink())


def test_each_distribution_moves_to_the_layer_of_its_requirements_file_with_times_zero(tmp_path) -> None:
    venv, output = _venv(tmp_path), tmp_path / "layer"
    run = _run(venv, output, *_requirements(tmp_path))
    assert run.returncode == 0, run.stderr
    prefix = str(venv.relative_to("/"))
    assert _files(output / "05") == [
        f"{prefix}/bin/f2py",
        f"{prefix}/{SITE}/numpy-2.0.0.dist-info/METADATA",
        f"{prefix}/{SITE}/numpy-2.0.0.dist-info/RECORD",
        f"{prefix}/{SITE}/numpy/__init__.py",
        f"{prefix}/{SITE}/numpy/_vendor/six-1.16.0.dist-info/RECORD",  # numpy's own file, not a distribution
        f"{prefix}/{SITE}/numpy/core.so",
    ]
    assert _files(output / "06") == [  # typing_extensions: the canonical name of typing-extensions
        f"{prefix}/{SITE}/__pycache__/typing_extensions.cpython-312.pyc",  # the bytecode of its source
        f"{prefix}/{SITE}/typing_extensions-4.12.2.dist-info/METADATA",
        f"{prefix}/{SITE}/typing_extensions-4.12.2.dist-info/RECORD",
        f"{prefix}/{SITE}/typing_extensions.py",
    ]
    # What no RECORD names, the virtualenv's own files, goes to the first layer given; uv's .lock nowhere.
    assert _files(output / "04") == [f"{prefix}/bin/python", f"{prefix}/lib64", f"{prefix}/pyvenv.cfg"]
    assert (output / "04" / prefix / "include").is_dir()
    # Only the directories that were empty: those whose files moved are in their layers alone.
    assert not (output / "04" / prefix / SITE / "numpy-2.0.0.dist-info").exists()
    assert sorted(path.name for path in (output / "04" / prefix).iterdir()) == ["bin", "include", "lib64", "pyvenv.cfg"]
    assert os.readlink(output / "04" / prefix / "bin" / "python") == "/usr/local/bin/python3.12"
    assert not [path for path in venv.rglob("*") if not path.is_dir()]  # everything moved
    times = {os.lstat(path).st_mtime for layer in ("04", "05", "06") for path in (output / layer).rglob("*")}
    assert times == {0}
    assert run.stdout == "layer-venv: files per layer: 04 3, 05 6, 06 4\n"


def test_a_distribution_no_file_names_fails_the_step(tmp_path) -> None:
    venv, output = _venv(tmp_path), tmp_path / "layer"
    run = _run(venv, output, *_requirements(tmp_path)[:2])
    assert run.returncode == 1
    assert run.stderr.strip() == "layer-venv: typing-extensions is installed, but no requirements file given names it"


def test_a_file_two_distributions_name_goes_to_the_lower_layer(tmp_path, monkeypatch) -> None:
    # A pkgutil-style namespace package: a compiled and a pure distribution both ship zope/__init__.py.
    # The self-check runs before the pure-Python layers: the compiled one's RECORD must find its file there,
    # whichever order the distributions are found in.
    spec = importlib.util.spec_from_file_location("layer_venv", str(LAYER_SCRIPT_SOURCE))
    assert spec is not None and spec.loader is not None
    layer_venv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layer_venv)
    venv = _venv(tmp_path)
    namespace = "__import__('pkgutil').extend_path(__path__, __name__)\n"
    _distribution(venv, "zope.interface", "7.0", {"zope/__init__.py": namespace, "zope/interface/_c.so": ""})
    _distribution(venv, "zope.event", "5.0", {"zope/__init__.py": namespace, "zope/event/__init__.py": ""})
    found = list(layer_venv.metadata.distributions(path=[str(venv / SITE)]))
    layer_of_name = {"zope-interface": "03", "zope-event": "14", "numpy": "05", "typing-extensions": "06"}
    shared = os.path.normpath(str(venv / SITE / "zope" / "__init__.py"))
    for order in (found, found[::-1]):
        monkeypatch.setattr(layer_venv.metadata, "distributions", lambda path, order=order: iter(order))
        assert layer_venv.file_layers(str(venv), layer_of_name)[shared] == "03"


def test_a_file_created_while_another_thread_read_the_umask_loses_its_group_and_other_write_bits(tmp_path) -> None:
    # Poetry's installer threads race for the umask (installer.utils._current_umask sets it to 0 for a
    # moment): the same numpy wheel gave numpy/lib/_datasource.pyi 0666 in one install, 0644 in the next.
    venv, output = _venv(tmp_path), tmp_path / "layer"
    site = venv / SITE
    (site / "numpy" / "__init__.py").chmod(0o666)
    (site / "numpy" / "core.so").chmod(0o777)
    (site / "numpy").chmod(0o777)
    run = _run(venv, output, *_requirements(tmp_path))
    assert run.returncode == 0, run.stderr
    moved = output / "05" / site.relative_to("/") / "numpy"
    assert oct(os.stat(moved / "__init__.py").st_mode & 0o777) == "0o644"
    assert oct(os.stat(moved / "core.so").st_mode & 0o777) == "0o755"
    assert oct(os.stat(moved).st_mode & 0o777) == "0o755"
    assert os.readlink(output / "04" / venv.relative_to("/") / "bin" / "python") == "/usr/local/bin/python3.12"
