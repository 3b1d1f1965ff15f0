"""Print the Debian packages that the runtime image needs for a virtualenv's compiled files.

    python runtime-packages.py VIRTUALENV RUNTIME_ROOT

It runs in the deps stage, after the dependency install (VIRTUALENV may also hold virtualenvs
side by side: the dependency layers, each mounted from its stage), with the
runtime base image mounted read-only on RUNTIME_ROOT. For each shared library that `ldd` (here,
in the builder, where the extensions were built) finds linked, and that is neither inside the
virtualenv (a wheel's vendored `.libs`) nor in the runtime image, it prints the package that
holds it (`dpkg -S`). So `-dev` packages stay in the builder and only their shared libraries
ship: libpq-dev in the builder gives libpq5 in the runtime image. A library no package holds
(built by hand in the builder) is reported on stderr and not printed; the runtime image's
check-venv.py then fails the build naming it.

Standard library only, and Python 3.8 compatible: it runs on whatever Python the image has.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

from shared_objects import elf_files, extension_modules, inside, linked_libraries

PREFIX = "runtime-packages:"


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


def in_virtualenv(path: str, root: str) -> str:
    """A file's path as the image will have it, inside the virtualenv (lib/python3.X/...), also when
    `root` holds the dependency layers (/layer/NN/app/.venv/lib/...)."""
    relative = os.path.relpath(path, root)
    _, venv, inside = relative.rpartition(".venv/")
    return inside if venv else relative


def runtime_packages(argv: list[str]) -> int:
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
    extensions = set(extension_modules(venv))
    users_of: dict[str, set[str]] = {}
    # VIRTUALENV holds each layer's virtualenv side by side: a library of another
    # layer's package (torch's nvidia libraries) is not found from this one, but is in the image.
    in_venv = {os.path.basename(path) for path in files}
    for path, libraries in linked_libraries(files).items():
        for name, resolved in libraries:
            if resolved is None and name in in_venv:
                continue
            if resolved is None and path in extensions:
                # (A wheel's vendored library finds its siblings through the extension's RPATH only.)
                print(PREFIX, f"{name} (for {path}) is not found in the builder either", file=sys.stderr)
            elif resolved is None:
                continue
            else:
                users_of.setdefault(resolved, set()).add(path)
    for library, users in sorted(users_of.items()):
        if inside(os.path.realpath(library), venv) or in_runtime(library, runtime_root, directories):
            continue
        package = owning_package(library)
        used_by = ", ".join(sorted(in_virtualenv(path, venv) for path in users)[:2])
        if package is None:
            print(PREFIX, f"{library} (for {used_by}) belongs to no Debian package", file=sys.stderr)
            continue
        packages.setdefault(package, []).append(os.path.basename(library))
    for package, names in sorted(packages.items()):
        print(PREFIX, f"{package} for {', '.join(names)}", file=sys.stderr)
        print(package)
    return 0



if __name__ == "__main__":
    sys.exit(runtime_packages(sys.argv[1:]))
