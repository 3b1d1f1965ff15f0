"""Install the project's wheel under a staging root, as pip installs it into the image's virtualenv.

`poetry docker build-context` writes this file next to the dependency stub as `install-wheel.py`.
The Dockerfile's wheel stage runs it on the wheel it has just built:

    python install-wheel.py [--compile] WHEEL VIRTUALENV ROOT

and the runtime stage copies ROOT/VIRTUALENV/ to VIRTUALENV/. `poetry docker publish` imports
the same function to lay out the same layer without Docker, so the two agree by construction.

What it writes is what `pip install --no-deps --no-compile --root ROOT WHEEL` writes with
VIRTUALENV's Python (PEP 427 and pip's conventions): the archive root in site-packages, each
`.data/<scheme>/` in its scheme, a `#!python` shebang in `.data/scripts/` pointed at the
virtualenv's Python, a console script per entry point in pip's form, INSTALLER (`pip`), REQUESTED,
direct_url.json (`file:///dist/<wheel>`) and a RECORD of sorted rows ending in CRLF. With
--compile, each installed module's bytecode too, hash-based (unchecked), as the dependencies'.
It starts in milliseconds, where pip takes a quarter of a second to import itself.

Standard library only, and Python 3.8 compatible: it runs on whatever Python the image has.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import io
import json
import os
import posixpath
import py_compile
import re
import stat
import sys
import zipfile

PREFIX = "install-wheel:"
SCHEMES = ("purelib", "platlib", "headers", "scripts", "data")
# pip's console script (distlib's template), after the shebang line.
SCRIPT = (
    "# -*- coding: utf-8 -*-\n"
    "import re\n"
    "import sys\n"
    "from {module} import {import_name}\n"
    "if __name__ == '__main__':\n"
    "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
    "    sys.exit({func}())\n"
)
ENTRY_POINT = re.compile(r"(?P<module>[\w.]+)\s*:\s*(?P<attrs>[\w.]+)\s*(?:\[.*\])?\s*$")


class WheelError(Exception):
    """A wheel this script cannot install, said in one line."""


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode("ascii").rstrip("=")
    return "sha256=" + digest


def dist_info_dir(names: list[str]) -> str:
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    found = [top for top in tops if top.endswith(".dist-info")]
    if len(found) != 1:
        raise WheelError(f"the wheel has {len(found)} .dist-info directories, not one")
    return found[0]


def scheme_paths(venv: str, python_dir: str, name: str) -> dict[str, str]:
    """Where each scheme of the wheel goes in the virtualenv (pip's venv scheme)."""
    site_packages = posixpath.join(venv, "lib", python_dir, "site-packages")
    return {
        "purelib": site_packages,
        "platlib": site_packages,
        "scripts": posixpath.join(venv, "bin"),
        "data": venv,
        "headers": posixpath.join(venv, "include", "site", python_dir, name),
    }


def entry_point_scripts(text: str) -> list[tuple[str, str, str]]:
    """(name, module, attribute) of each console and GUI script of entry_points.txt."""
    parser = configparser.ConfigParser(delimiters="=", interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names keep their case
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise WheelError(f"its entry_points.txt cannot be read ({error})".replace("\n", " ")) from None
    scripts = []
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for name, value in parser.items(section):
            match = ENTRY_POINT.match(value)
            if not match:
                raise WheelError(f"entry point {name} = {value} is not module:attribute")
            scripts.append((name, match.group("module"), match.group("attrs")))
    return scripts


def is_entry_point_wrapper(name: str, scripts: set[str]) -> bool:
    """A .data/scripts file that only wraps an entry point (setuptools' `foo.exe`, `foo-script.py`):
    pip writes the entry point's own script instead."""
    lowered = name.lower()
    for suffix in (".exe", "-script.py", ".pya"):
        if lowered.endswith(suffix):
            return name[: -len(suffix)] in scripts
    return name in scripts


class Staging:
    """Writes files under ROOT as if at their paths in the image, and records them for RECORD."""

    def __init__(self, root: str, record_dir: str) -> None:
        self.root = root
        self.record_dir = record_dir  # RECORD's paths are relative to the directory holding the .dist-info
        self.rows: list[tuple[str, str, str]] = []

    def write(self, path: str, data: bytes, executable: bool = False) -> None:
        target = self.root + path
        if os.path.lexists(target):
            raise WheelError(f"the wheel installs {path} twice")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as stream:
            stream.write(data)
        if executable:
            mode = os.stat(target).st_mode
            os.chmod(target, mode | (mode & 0o444) >> 2)
        self.rows.append((self.relative(path), record_hash(data), str(len(data))))

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.record_dir)


def install(wheel: str, venv: str, root: str, python_dir: str, compile_bytecode: bool = False) -> None:
    """Install `wheel` under `root` as if into the virtualenv `venv` of Python `python_dir` ("python3.12")."""
    # The distribution's name as pip takes it from the file name, for the headers' directory.
    name = os.path.basename(wheel).split("-")[0].replace("_", "-")
    with zipfile.ZipFile(wheel) as archive:
        infos = [info for info in archive.infolist() if not info.filename.endswith("/")]
        info_dir = dist_info_dir([info.filename for info in infos])
        names = {info.filename for info in infos}
        if info_dir + "/WHEEL" not in names:
            raise WheelError(f"it has no {info_dir}/WHEEL")
        metadata = archive.read(info_dir + "/WHEEL").decode("utf-8")
        if not re.search(r"(?m)^Wheel-Version:\s*1\.", metadata):
            raise WheelError("it is not a version 1 wheel")
        root_is_purelib = re.search(r"(?mi)^Root-Is-Purelib:\s*true\s*$", metadata) is not None
        schemes = scheme_paths(venv, python_dir, name)
        root_dir = schemes["purelib" if root_is_purelib else "platlib"]
        staging = Staging(root.rstrip("/"), root_dir)
        interpreter = posixpath.join(venv, "bin", "python")
        scripts: set[str] = set()
        if info_dir + "/entry_points.txt" in names:
            text = archive.read(info_dir + "/entry_points.txt").decode("utf-8")
            for script, module, attrs in entry_point_scripts(text):
                body = SCRIPT.format(module=module, import_name=attrs.split(".")[0], func=attrs)
                staging.write(posixpath.join(schemes["scripts"], script), f"#!{interpreter}\n{body}".encode(), True)
                scripts.add(script)
        modules = []
        for info in infos:
            path = info.filename
            parts = path.split("/")
            if path.startswith("/") or ".." in parts:
                raise WheelError(f"{path} points outside the installation")
            if path == info_dir + "/RECORD" or "__pycache__" in parts[:-1]:
                continue  # RECORD is written last; bytecode of another build is never installed (as `installer`)
            data = archive.read(info)
            mode = info.external_attr >> 16
            executable = bool(stat.S_ISREG(mode) and mode & 0o111)
            if parts[0].endswith(".data"):  # any top-level .data directory, as pip takes it
                scheme, inner = parts[1] if len(parts) > 2 else "", "/".join(parts[2:])
                if scheme not in SCHEMES:
                    raise WheelError(f"{path} is not in a .data directory of a known scheme")
                if scheme == "scripts" and is_entry_point_wrapper(inner, scripts):
                    continue
                if scheme == "scripts" and data.startswith(b"#!python"):
                    data = f"#!{interpreter}\n".encode() + data.partition(b"\n")[2]
                target = posixpath.join(schemes[scheme], inner)
            else:
                target = posixpath.join(root_dir, path)
            staging.write(target, data, executable)
            if target.endswith(".py") and target.startswith(schemes["purelib"] + "/"):
                modules.append(target)
        # A direct URL install, as pip records one, without the archive's hash (pip 23.1+ adds it;
        # PEP 610 makes it optional): the layer must not depend on the wheel archive's bytes.
        direct_url = json.dumps({"archive_info": {}, "url": "file:///dist/" + os.path.basename(wheel)})
        for extra, content in (("INSTALLER", b"pip\n"), ("REQUESTED", b""), ("direct_url.json", direct_url.encode())):
            staging.write(posixpath.join(root_dir, info_dir, extra), content)
    if compile_bytecode:
        for module in modules:
            compile_module(staging, module)
    rows = sorted([*staging.rows, (info_dir + "/RECORD", "", "")])
    record = io.StringIO()
    csv.writer(record).writerows(rows)  # pip's csv: each row ends in CRLF
    with open(staging.root + posixpath.join(root_dir, info_dir, "RECORD"), "wb") as stream:
        stream.write(record.getvalue().encode("utf-8"))


def compile_module(staging: Staging, module: str) -> None:
    """The module's bytecode, hash-based and unchecked like the dependencies', with its path in the
    image; a module that does not compile (a template shipped as .py) is left without, as pip does."""
    try:
        compiled = py_compile.compile(
            staging.root + module,
            dfile=module,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        return
    assert compiled is not None  # doraise: an error raises instead
    with open(compiled, "rb") as stream:
        bytecode = stream.read()
    staging.rows.append((staging.relative(compiled[len(staging.root) :]), record_hash(bytecode), str(len(bytecode))))


def main(argv: list[str]) -> int:
    compile_bytecode = "--compile" in argv
    arguments = [argument for argument in argv if argument != "--compile"]
    if len(arguments) != 3:
        print("usage: install-wheel.py [--compile] WHEEL VIRTUALENV ROOT", file=sys.stderr)
        return 2
    wheel, venv, root = arguments
    python_dir = "python{}.{}".format(*sys.version_info[:2])
    try:
        install(wheel, venv, root, python_dir, compile_bytecode)
    except (WheelError, zipfile.BadZipFile, OSError, UnicodeDecodeError) as error:
        print(f"{PREFIX} cannot install {os.path.basename(wheel)}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
