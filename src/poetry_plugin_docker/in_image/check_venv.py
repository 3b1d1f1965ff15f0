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

With `--runtime-packages VIRTUALENV RUNTIME_ROOT` it runs in the deps stage instead,
after the dependency install (VIRTUALENV may also hold virtualenvs side by side: the
dependency layers of `--installer uv`, each mounted from its stage), with the runtime
base image mounted read-only on RUNTIME_ROOT, and prints the Debian packages that the runtime image needs for the
virtualenv's compiled files: for each shared library that `ldd` (here, in the builder,
where the extensions were built) finds linked, and that is neither inside the
virtualenv (a wheel's vendored `.libs`) nor in the runtime image, the package that
holds it (`dpkg -S`). So `-dev` packages stay in the builder and only their shared
libraries ship: libpq-dev in the builder gives libpq5 in the runtime image. A library
no package holds (built by hand in the builder) is reported on stderr and not printed;
the runtime check then fails the build naming it.

Standard library only, and Python 3.8 compatible: it runs on whatever Python the
image has.
"""

from __future__ import annotations

import csv
import glob
import importlib.machinery
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Iterable

PREFIX = "check-venv:"
PACKAGES_PREFIX = "runtime-packages:"
LDD_BATCH = 25
ELF_MAGIC = b"\x7fELF"


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
        label = distribution_label(distribution)  # once: it parses METADATA (8 s for scipy's files, each time)
        for file in distribution.files or []:
            owners[os.path.realpath(str(distribution.locate_file(file)))] = label
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
    """The importable extension modules under `site`: files named MODULE + an extension suffix of
    this Python that export `PyInit_MODULE`. The other shared objects (the libraries a wheel
    vendors in `numpy.libs/`, `clidriver/lib/`) are never imported; the loader reaches them
    through the modules that need them, and through those modules' RPATH."""
    suffixes = sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True)
    found: list[str] = []
    for directory, _, names in os.walk(site):
        for name in sorted(names):
            suffix = next((suffix for suffix in suffixes if name.endswith(suffix)), None)
            if suffix is None:
                continue
            module = name[: -len(suffix)]
            path = os.path.join(directory, name)
            if module.isidentifier() and exports(path, "PyInit_" + module):
                found.append(path)
    return sorted(found)


def exports(path: str, symbol: str) -> bool:
    """Whether the ELF shared object at `path` defines `symbol` in its dynamic symbol table."""
    try:
        with open(path, "rb") as stream:
            return _defines(stream, symbol.encode("ascii"))
    except (OSError, struct.error, ValueError, IndexError):
        return False


def _defines(stream: BinaryIO, wanted: bytes) -> bool:
    ident = stream.read(16)
    if ident[:4] != ELF_MAGIC:
        return False
    wide = ident[4] == 2  # ELFCLASS64
    order = "<" if ident[5] == 1 else ">"
    stream.seek(0x28 if wide else 0x20)
    (section_offset,) = struct.unpack(order + ("Q" if wide else "I"), stream.read(8 if wide else 4))
    stream.seek(0x3A if wide else 0x2E)
    entry_size, count = struct.unpack(order + "HH", stream.read(4))
    header = order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")
    sections = []
    for index in range(count):
        stream.seek(section_offset + index * entry_size)
        sections.append(struct.unpack(header, stream.read(struct.calcsize(header))))
    # (name, type, flags, address, offset, size, link, ...): SHT_DYNSYM is 11, its strings in `link`.
    dynsym = next((section for section in sections if section[1] == 11), None)
    if dynsym is None:
        return False
    strings_section = sections[dynsym[6]]
    stream.seek(strings_section[4])
    strings = stream.read(strings_section[5])
    if b"\0" + wanted + b"\0" not in strings:  # most shared objects: no need to read their symbols
        return False
    symbol = order + ("IBBHQQ" if wide else "IIIBBH")
    size = struct.calcsize(symbol)
    stream.seek(dynsym[4])
    table = stream.read(dynsym[5])
    for start in range(0, len(table) - size + 1, size):
        fields = struct.unpack(symbol, table[start : start + size])
        name_offset, section_index = fields[0], (fields[3] if wide else fields[5])
        # SHN_UNDEF (0): a symbol it needs from elsewhere, not one it defines.
        if section_index != 0 and strings[name_offset : name_offset + len(wanted) + 1] == wanted + b"\0":
            return True
    return False


def linked_libraries(paths: list[str]) -> dict[str, list[tuple[str, str | None]]]:
    """File path -> each shared library `ldd` lists for it: (name, resolved path, or None when not found)."""
    linked: dict[str, list[tuple[str, str | None]]] = {}
    batches = [paths[start : start + LDD_BATCH] for start in range(0, len(paths), LDD_BATCH)]
    # One ldd per batch, on every core: scipy alone has hundreds of extensions.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        outputs = pool.map(_ldd, batches)
    for batch, output in zip(batches, outputs):
        current = batch[0]
        for line in output.splitlines():
            if not line.startswith(("\t", " ")) and line.endswith(":") and line[:-1] in batch:
                current = line[:-1]
            elif "=>" in line:
                name, target = (part.strip() for part in line.split("=>", 1))
                resolved = target.split(" (", 1)[0].strip()
                if resolved == "not found":
                    linked.setdefault(current, []).append((name, None))
                elif resolved.startswith("/"):
                    linked.setdefault(current, []).append((name, resolved))
    return linked


def _ldd(batch: list[str]) -> str:
    return subprocess.run(["ldd", *batch], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout


def unresolved_libraries(paths: list[str]) -> dict[str, list[str]]:
    """Extension path -> the shared libraries `ldd` cannot find for it."""
    missing: dict[str, list[str]] = {}
    for path, libraries in linked_libraries(paths).items():
        names = [name for name, resolved in libraries if resolved is None]
        if names:
            missing[path] = names
    return missing


def elf_files(venv: str) -> list[str]:
    """Every shared object in the virtualenv: extension modules and the libraries wheels vendor."""
    found = []
    for directory, _, names in os.walk(venv):
        for name in names:
            if not (name.endswith(".so") or ".so." in name):
                continue
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as stream:
                if stream.read(4) == ELF_MAGIC:
                    found.append(path)
    return sorted(found)


def library_directories(root: str) -> list[str]:
    """The directories the runtime image's dynamic linker searches, as paths under `root`."""
    directories = ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"]
    for conf in sorted(glob.glob(os.path.join(root, "etc/ld.so.conf.d/*.conf"))):
        with open(conf, encoding="utf-8", errors="replace") as stream:
            directories += [line.strip() for line in stream if line.strip().startswith("/")]
    return [os.path.join(root, directory.lstrip("/")) for directory in directories]


def path_variants(library: str) -> list[str]:
    """`library` as linked, resolved, and with or without /usr (merged /usr: /lib is /usr/lib)."""
    paths = [library, os.path.realpath(library)]
    paths += [path[len("/usr") :] if path.startswith("/usr/") else "/usr" + path for path in paths]
    return list(dict.fromkeys(paths))


def in_runtime(library: str, root: str, directories: list[str]) -> bool:
    """Whether the runtime image (its files under `root`) has this library, at its path or by name."""
    if any(os.path.lexists(os.path.join(root, path.lstrip("/"))) for path in path_variants(library)):
        return True
    name = os.path.basename(library)
    return any(os.path.lexists(os.path.join(directory, name)) for directory in directories)


def owning_package(library: str) -> str | None:
    """The Debian package whose files include `library` (tried as linked, resolved and /usr-merged)."""
    for candidate in path_variants(library):
        result = subprocess.run(
            ["dpkg", "-S", candidate], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        if result.returncode == 0 and result.stdout:
            # "libpq5:amd64: /usr/lib/x86_64-linux-gnu/libpq.so.5"; diversions print other lines first.
            for line in result.stdout.splitlines():
                if not line.startswith("diversion "):
                    return line.split(":", 1)[0].split(",", 1)[0].strip()
    return None


def runtime_packages(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: check-venv.py --runtime-packages VIRTUALENV RUNTIME_ROOT", file=sys.stderr)
        return 2
    venv, runtime_root = (os.path.realpath(arg) for arg in argv)
    files = elf_files(venv)
    if not files:
        return 0
    if shutil.which("ldd") is None or shutil.which("dpkg") is None:
        print(PACKAGES_PREFIX, "no ldd or dpkg in the builder: runtime libraries not looked up", file=sys.stderr)
        return 0
    directories = library_directories(runtime_root)
    packages: dict[str, list[str]] = {}
    extensions = set(extension_modules(venv))
    users_of: dict[str, set[str]] = {}
    # With --installer uv, VIRTUALENV holds each layer's virtualenv side by side: a library of another
    # layer's package (torch's nvidia libraries) is not found from this one, but is in the image.
    in_venv = {os.path.basename(path) for path in files}
    for path, libraries in linked_libraries(files).items():
        for name, resolved in libraries:
            if resolved is None and name in in_venv:
                continue
            if resolved is None and path in extensions:
                # (A wheel's vendored library finds its siblings through the extension's RPATH only.)
                print(PACKAGES_PREFIX, f"{name} (for {path}) is not found in the builder either", file=sys.stderr)
            elif resolved is None:
                continue
            else:
                users_of.setdefault(resolved, set()).add(path)
    for library, users in sorted(users_of.items()):
        if inside(os.path.realpath(library), venv) or in_runtime(library, runtime_root, directories):
            continue
        package = owning_package(library)
        used_by = ", ".join(sorted(os.path.relpath(path, venv) for path in users)[:2])
        if package is None:
            print(PACKAGES_PREFIX, f"{library} (for {used_by}) belongs to no Debian package", file=sys.stderr)
            continue
        packages.setdefault(package, []).append(os.path.basename(library))
    for package, names in sorted(packages.items()):
        print(PACKAGES_PREFIX, f"{package} for {', '.join(names)}", file=sys.stderr)
        print(package)
    return 0


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
        owner = owners.get(os.path.realpath(path), "a file of no distribution")
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
    if sys.argv[1:2] == ["--runtime-packages"]:
        sys.exit(runtime_packages(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
