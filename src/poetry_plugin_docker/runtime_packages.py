"""Print the Debian packages that the runtime image needs for the virtualenv's compiled extensions.

`poetry docker build-context` writes this file next to the dependency stub, and the
generated Dockerfile runs it in the deps stage, after the dependency install, with the
runtime base image mounted read-only:

    python runtime-packages.py /app/.venv /mnt > /deps/runtime-packages

For every ELF file in the virtualenv it asks `ldd` (here, in the builder, where the
extensions were built) which shared libraries it links. A library that is inside the
virtualenv (a wheel's vendored `.libs`) or that the runtime image already has is left
alone; each of the others is mapped to the Debian package that holds it (`dpkg -S`).
So `-dev` packages stay in the builder and only their shared libraries ship: libpq-dev
in the builder gives libpq5 in the runtime image.

A library no package holds (built by hand in the builder, say) is reported on stderr and
not printed; the runtime image's self-check (check-venv.py) then fails the build naming it.

Standard library only, and Python 3.8 compatible: it runs on the builder's Python.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

PREFIX = "runtime-packages:"
LDD_BATCH = 100
ELF_MAGIC = b"\x7fELF"


def inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


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


def linked_libraries(paths: list[str]) -> dict[str, set[str]]:
    """Resolved library path -> the files (of `paths`) that link it, as `ldd` sees them here."""
    linked: dict[str, set[str]] = {}
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
                name = line.split("=>", 1)[0].strip()
                print(PREFIX, f"{name} (for {current}) is not found in the builder either", file=sys.stderr)
            elif "=>" in line:
                target = line.split("=>", 1)[1].strip().split(" (", 1)[0].strip()
                if target.startswith("/"):
                    linked.setdefault(target, set()).add(current)
    return linked


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


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: runtime-packages.py VIRTUALENV RUNTIME_ROOT", file=sys.stderr)
        return 2
    venv, runtime_root = (os.path.realpath(arg) for arg in argv)
    files = elf_files(venv)
    if not files:
        return 0
    if shutil.which("ldd") is None or shutil.which("dpkg") is None:
        print(PREFIX, "no ldd or dpkg in the builder: runtime libraries not looked up", file=sys.stderr)
        return 0
    directories = library_directories(runtime_root)
    packages: dict[str, list[str]] = {}
    for library, users in sorted(linked_libraries(files).items()):
        if inside(os.path.realpath(library), venv) or in_runtime(library, runtime_root, directories):
            continue
        package = owning_package(library)
        used_by = ", ".join(sorted(os.path.relpath(path, venv) for path in users)[:2])
        if package is None:
            print(PREFIX, f"{library} (for {used_by}) belongs to no Debian package", file=sys.stderr)
            continue
        packages.setdefault(package, []).append(os.path.basename(library))
    for package, libraries in sorted(packages.items()):
        print(PREFIX, f"{package} for {', '.join(libraries)}", file=sys.stderr)
        print(package)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
