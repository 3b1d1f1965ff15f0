"""Fail the image build, naming the distribution, when the virtualenv would fail at run time.

`poetry docker build-context` writes this file next to the dependency stub, and the
generated Dockerfile runs it in the runtime image, with the runtime's Python, from a
bind mount (it leaves nothing in the image). It needs no network and no application
settings, since it imports nothing of the application. It checks that

- nothing is installed editable, and no `.pth` path entry points outside the
  virtualenv (the builder's source tree is not in the image);
- every file that a distribution's RECORD names exists (bytecode aside: Python
  compiles the source when a `.pyc` is missing);
- every compiled extension's shared libraries resolve in this image (`ldd`).

Standard library only, and Python 3.8 compatible: it runs on whatever Python the
runtime image has.
"""

from __future__ import annotations

import csv
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

PREFIX = "check-venv:"
LDD_BATCH = 100


def site_directories() -> list[str]:
    return sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})


def inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def distribution_label(distribution: metadata.Distribution) -> str:
    return "{} {}".format(distribution.metadata["Name"], distribution.version)


def owned_files(distributions: Iterable[metadata.Distribution]) -> dict[str, str]:
    """Each installed file's real path -> the label of the distribution whose RECORD names it."""
    owners: dict[str, str] = {}
    for distribution in distributions:
        for file in distribution.files or []:
            owners[os.path.realpath(str(distribution.locate_file(file)))] = distribution_label(distribution)
    return owners


def editable_problems(distribution: metadata.Distribution) -> list[str]:
    try:
        direct_url = json.loads(distribution.read_text("direct_url.json") or "{}")
    except ValueError:
        return []
    if (direct_url.get("dir_info") or {}).get("editable"):
        return ["is installed editable from {}, which is not in the image".format(direct_url.get("url", "?"))]
    return []


def is_bytecode(file: metadata.PackagePath) -> bool:
    # `.pyc` files and `__pycache__` directories (virtualenv's seeded pip lists those too).
    return file.suffix == ".pyc" or "__pycache__" in file.parts


def recorded_files(distribution: metadata.Distribution) -> list[metadata.PackagePath]:
    # RECORD itself, not `distribution.files`: from Python 3.12 on, that leaves out the missing files.
    record = distribution.read_text("RECORD")
    if record is None:
        return distribution.files or []
    return [metadata.PackagePath(row[0]) for row in csv.reader(record.splitlines()) if row]


def missing_files(distribution: metadata.Distribution) -> list[str]:
    # Bytecode is a cache: without it Python compiles the source, so only other files count.
    missing = [
        str(file)
        for file in recorded_files(distribution)
        if not is_bytecode(file) and not os.path.lexists(str(distribution.locate_file(file)))
    ]
    if not missing:
        return []
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return ["RECORD names {} missing file{}: {}".format(len(missing), "s" if len(missing) > 1 else "", shown)]


def pth_problems(site: str, venv: str, owners: dict[str, str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for name in sorted(os.listdir(site)):
        if not name.endswith(".pth"):
            continue
        path = os.path.join(site, name)
        owner = owners.get(os.path.realpath(path), name)
        with open(path, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                entry = line.strip()
                if not entry or entry.startswith("#") or entry.startswith(("import ", "import\t")):
                    continue
                target = os.path.realpath(os.path.join(site, entry))
                if not inside(target, venv):
                    problems.append((owner, f"{name} adds {entry} to sys.path, outside the virtualenv"))
    return problems


def extension_modules(site: str) -> list[str]:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found: list[str] = []
    for directory, _, names in os.walk(site):
        found.extend(os.path.join(directory, name) for name in sorted(names) if name.endswith(suffixes))
    return sorted(found)


def unresolved_libraries(paths: list[str]) -> dict[str, list[str]]:
    """Extension path -> the shared libraries `ldd` cannot find for it."""
    missing: dict[str, list[str]] = {}
    for start in range(0, len(paths), LDD_BATCH):
        batch = paths[start : start + LDD_BATCH]
        output = subprocess.run(
            ["ldd", *batch], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ).stdout
        current = batch[0]
        for line in output.splitlines():
            if not line.startswith(("\t", " ")) and line.endswith(":") and line[:-1] in batch:
                current = line[:-1]
            elif "=> not found" in line:
                missing.setdefault(current, []).append(line.split("=>")[0].strip())
    return missing


def main() -> int:
    venv = os.path.realpath(sys.prefix)
    distributions = list(metadata.distributions(path=site_directories()))
    owners = owned_files(distributions)
    problems: list[tuple[str, str]] = []
    for distribution in sorted(distributions, key=distribution_label):
        for problem in editable_problems(distribution) + missing_files(distribution):
            problems.append((distribution_label(distribution), problem))
    extensions: list[str] = []
    for site in site_directories():
        if os.path.isdir(site):
            problems.extend(pth_problems(site, venv, owners))
            extensions.extend(extension_modules(site))
    if extensions and shutil.which("ldd") is None:
        print(PREFIX, "no ldd in this image: the shared libraries of compiled extensions were not checked")
    elif extensions:
        for path, libraries in sorted(unresolved_libraries(extensions).items()):
            owner = owners.get(os.path.realpath(path), "a file of no distribution")
            problems.append(
                (
                    owner,
                    "{} needs {}, not found in the runtime image: install the Debian package that "
                    "provides {} with --runtime-package".format(
                        os.path.relpath(path, venv), ", ".join(libraries), "it" if len(libraries) == 1 else "them"
                    ),
                )
            )
    for owner, problem in problems:
        print(PREFIX, f"{owner}: {problem}", file=sys.stderr)
    if problems:
        print(
            PREFIX,
            "{} problem{} in {}: this image would fail at run time, so the build stops here.".format(
                len(problems), "s" if len(problems) > 1 else "", venv
            ),
            file=sys.stderr,
        )
        return 1
    print(PREFIX, f"{len(distributions)} distributions, {len(extensions)} compiled extensions: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
