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
ENTRY_POINT = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attrs>[\w.]+))\s*(?P<extras>\[.*\])?\s*$")


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
    parser.read_string(text)
    scripts = []
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for name, value in parser.items(section):
            match = ENTRY_POINT.match(value)
            if not match or not match.group("attrs"):
                raise WheelError(f"entry point {name} = {value} is not module:attribute")
            scripts.append((name, match.group("module"), match.group("attrs")))
    return scripts


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
    with zipfile.ZipFile(wheel) as archive:
        infos = [info for info in archive.infolist() if not info.filename.endswith("/")]
        info_dir = dist_info_dir([info.filename for info in infos])
        name = info_dir[: -len(".dist-info")].split("-")[0]
        metadata = archive.read(info_dir + "/WHEEL").decode("utf-8")
        if not re.search(r"(?m)^Wheel-Version:\s*1\.", metadata):
            raise WheelError(f"{os.path.basename(wheel)} is not a version 1 wheel")
        root_is_purelib = re.search(r"(?mi)^Root-Is-Purelib:\s*true\s*$", metadata) is not None
        schemes = scheme_paths(venv, python_dir, name)
        root_dir = schemes["purelib" if root_is_purelib else "platlib"]
        data_dir = info_dir[: -len(".dist-info")] + ".data"
        staging = Staging(root.rstrip("/"), root_dir)
        interpreter = posixpath.join(venv, "bin", "python")
        names = {info.filename for info in infos}
        if info_dir + "/entry_points.txt" in names:
            text = archive.read(info_dir + "/entry_points.txt").decode("utf-8")
            for script, module, attrs in entry_point_scripts(text):
                body = SCRIPT.format(module=module, import_name=attrs.split(".")[0], func=attrs)
                data = f"#!{interpreter}\n{body}".encode()
                staging.write(posixpath.join(schemes["scripts"], script), data, executable=True)
        modules = []
        for info in infos:
            path = info.filename
            if path == info_dir + "/RECORD" or "__pycache__" in path.split("/")[:-1]:
                continue  # RECORD is written last; bytecode from a wheel is never installed (pip, installer)
            data = archive.read(info)
            mode = info.external_attr >> 16
            executable = bool(stat.S_ISREG(mode) and mode & 0o111)
            if path.startswith(data_dir + "/"):
                scheme, _, inner = path[len(data_dir) + 1 :].partition("/")
                if scheme not in SCHEMES or not inner:
                    raise WheelError(f"{path} is not in a .data directory of a known scheme")
                if scheme == "scripts" and data.startswith(b"#!python"):
                    data = f"#!{interpreter}\n".encode() + data.partition(b"\n")[2]
                target = posixpath.join(schemes[scheme], inner)
            else:
                target = posixpath.join(root_dir, path)
            staging.write(target, data, executable)
            if target.endswith(".py") and target.startswith(schemes["purelib"] + "/"):
                modules.append(target)
        for extra, data in (
            ("INSTALLER", b"pip\n"),
            ("REQUESTED", b""),
            ("direct_url.json", json.dumps({"archive_info": {}, "url": "file:///dist/" + os.path.basename(wheel)})),
        ):
            staging.write(posixpath.join(root_dir, info_dir, extra), data if isinstance(data, bytes) else data.encode())
    if compile_bytecode:
        for module in modules:
            compiled = py_compile.compile(
                staging.root + module,
                dfile=module,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            with open(compiled, "rb") as stream:
                data = stream.read()
            staging.rows.append((staging.relative(compiled[len(staging.root) :]), record_hash(data), str(len(data))))
    rows = sorted([*staging.rows, (info_dir + "/RECORD", "", "")])
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    record = staging.root + posixpath.join(root_dir, info_dir, "RECORD")
    with open(record, "wb") as stream:
        stream.write(text.getvalue().encode("utf-8"))


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
