"""Fail the image build, naming the distribution, when the virtualenv would fail at run time.

`poetry docker build-context` writes this file next to the dependency stub, and the
generated Dockerfile runs it in the runtime image, with the runtime's Python, from a
bind mount (it leaves nothing in the image). It needs no network and no application
settings, since it imports nothing of the application. It checks that

- nothing is installed editable, and no `.pth` path entry points outside the
  virtualenv (the builder's source tree is not in the image);
- every file that a distribution's RECORD names exists (bytecode aside: Python
  compiles the source when a `.pyc` is missing);
- every importable extension module (a file named MODULE + an extension suffix that
  exports `PyInit_MODULE`) finds its shared libraries here, as the dynamic loader finds
  them when Python imports it: `ldd` on the module is the runtime image's own loader in
  its trace mode, so it follows the module's RPATH/RUNPATH into the libraries its wheel
  vendors (`numpy.libs/`), the libraries those load, and the image's library paths and
  cache. Vendored libraries are not judged on their own: their dependencies are found
  through the module that loads them. `--ignore DISTRIBUTION` (`--check-ignore`) skips
  this part for a distribution that loads libraries of its own at run time.

Standard library only, and Python 3.8 compatible: it runs on whatever Python the
image has.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import shutil
import sys
import sysconfig
from importlib import metadata
from typing import TYPE_CHECKING

from shared_objects import elf_files, extension_modules, inside, unresolved_libraries

if TYPE_CHECKING:
    from collections.abc import Iterable

PREFIX = "check-venv:"


def site_directories() -> list[str]:
    return sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})


def distribution_label(distribution: metadata.Distribution) -> str:
    return "{} {}".format(distribution.metadata["Name"], distribution.version)


def owned_files(distributions: Iterable[metadata.Distribution]) -> dict[str, str]:
    """Each installed file's real path -> the label of the distribution whose RECORD names it."""
    owners: dict[str, str] = {}
    for distribution in distributions:
        label = distribution_label(distribution)  # once: it parses METADATA (8 s for scipy's files, each time)
        for file in distribution.files or []:
            owners[real_path(str(distribution.locate_file(file)))] = label
    return owners


def real_path(path: str) -> str:
    """`path` with its directory's symbolic links resolved (lib64 is lib in a virtualenv): wheels
    install no links themselves, and one realpath per directory, not per file, saves a tenth of a
    second on scipy's 4,700 files."""
    directory, name = os.path.split(path)
    return os.path.join(_real_directory(directory), name)


@functools.lru_cache(maxsize=None)  # noqa: UP033 (functools.cache is Python 3.9+)
def _real_directory(directory: str) -> str:
    return os.path.realpath(directory)


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
        owner = owners.get(real_path(path), name)
        with open(path, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                entry = line.strip()
                if not entry or entry.startswith("#") or entry.startswith(("import ", "import\t")):
                    continue
                target = os.path.realpath(os.path.join(site, entry))
                if not inside(target, venv):
                    problems.append((owner, f"{name} adds {entry} to sys.path, outside the virtualenv"))
    return problems


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def library_problems(
    extensions: list[str], venv: str, owners: dict[str, str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """The extension modules whose shared libraries the loader cannot find here: (owner, problem)
    pairs, and notes on libraries that only the package itself can load."""
    carried = {os.path.basename(path) for path in elf_files(venv)}
    problems: list[tuple[str, str]] = []
    notes: list[str] = []
    for path, libraries in sorted(unresolved_libraries(extensions).items()):
        owner = owners.get(real_path(path), "a file of no distribution")
        shown = os.path.relpath(path, venv)
        # A library the virtualenv carries where the loader does not look is loaded first, by its path,
        # by the package itself (torch's CUDA libraries): it is there, so only a note.
        preloaded = [name for name in libraries if name in carried]
        if preloaded:
            notes.append(
                f"{owner}: {shown} needs {', '.join(preloaded)}, found in the virtualenv only (its package loads it)"
            )
        missing = [name for name in libraries if name not in carried]
        if missing:
            problems.append(
                (
                    owner,
                    "{} needs {}, not found in the runtime image: install the Debian package that provides {} with "
                    "--runtime-package (`apt-file search {}` names it)".format(
                        shown, ", ".join(missing), "it" if len(missing) == 1 else "them", missing[0]
                    ),
                )
            )
    return problems, notes


def main(argv: list[str]) -> int:
    ignored = {canonical_name(name) for flag, name in zip(argv[::2], argv[1::2]) if flag == "--ignore"}
    if len(argv) % 2 or any(flag != "--ignore" for flag in argv[::2]):
        print("usage: check-venv.py [--ignore DISTRIBUTION]...", file=sys.stderr)
        return 2
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
    ignored_labels = {
        distribution_label(distribution)
        for distribution in distributions
        if canonical_name(distribution.metadata["Name"]) in ignored
    }
    for label in sorted(ignored_labels):
        print(PREFIX, f"{label}: shared libraries not checked (--check-ignore)")
    if extensions and shutil.which("ldd") is None:
        print(PREFIX, "no ldd in this image: the shared libraries of compiled extensions were not checked")
    elif extensions:
        found, notes = library_problems(extensions, venv, owners)
        for note in notes:
            print(PREFIX, note)
        problems.extend((owner, problem) for owner, problem in found if owner not in ignored_labels)
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
    sys.exit(main(sys.argv[1:]))
