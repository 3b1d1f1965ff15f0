"""Split an installed virtualenv into the image's dependency layers, whatever installed it.

`poetry docker build-context` writes this file next to the dependency stub as `layer-venv.py`.
Each install stage of the Dockerfile installs the requirements files of a few layers at once
(one uv run, parallel downloads; or Poetry, all of them) and then runs, in the same RUN (so
that the files only move within one layer: a rename),

    python layer-venv.py VIRTUALENV OUTPUT NN.txt...

Each installed distribution's files, as its RECORD names them (and the bytecode of its
sources), move to OUTPUT/NN/<their path>, NN the requirements file that names the
distribution; every file time is set to 0, and no file is left writable by group or others,
so that the same lock gives byte-identical layers.
What no RECORD names (the virtualenv itself: pyvenv.cfg, bin/python) goes to the first
layer given, and uv's `.lock` nowhere. The runtime image copies each OUTPUT/NN/ to /.

Standard library only, and Python 3.8 compatible: it runs on whatever Python the image has.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import sys
from importlib import metadata

PREFIX = "layer-venv:"
WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


def canonical_name(name: str) -> str:
    """PEP 503's normalised name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: str) -> list[str]:
    """The canonical names a hashed requirements file pins (`name==1.0 ; markers \\`)."""
    names = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            if match:
                names.append(canonical_name(match.group(1)))
    return names


def file_layers(venv: str, layer_of_name: dict[str, str]) -> dict[str, str]:
    """Each installed file's path -> the layer of the distribution whose RECORD names it; of two
    (a pkgutil-style namespace `__init__.py` that two distributions ship), the lower layer, the
    heavier one's, so that the runtime's self-check, which runs before the pure-Python layers,
    finds every file a compiled distribution's RECORD names.

    The distributions of site-packages itself, as `importlib.metadata` finds them (check-venv.py
    reads them the same way): a package may vendor others with their .dist-info directories
    (setuptools/_vendor/jaraco.collections-5.1.0.dist-info), which are its own files."""
    sites = sorted(glob.glob(os.path.join(venv, "lib", "python*", "site-packages")))
    layers: dict[str, str] = {}
    for distribution in metadata.distributions(path=sites):
        name = canonical_name(distribution.metadata["Name"])
        if name not in layer_of_name:
            raise SystemExit(f"{PREFIX} {name} is installed, but no requirements file given names it")
        layer = layer_of_name[name]
        for file in distribution.files or []:
            path = os.path.normpath(str(distribution.locate_file(file)))
            layers[path] = min(layers.get(path, layer), layer)
    return layers


def source_of_bytecode(path: str) -> str | None:
    """pkg/__pycache__/mod.cpython-312.pyc -> pkg/mod.py (compileall's bytecode, in no RECORD)."""
    directory, name = os.path.split(path)
    if os.path.basename(directory) != "__pycache__" or not name.endswith(".pyc"):
        return None
    return os.path.join(os.path.dirname(directory), name.split(".", 1)[0] + ".py")


def move(path: str, output: str, layer: str) -> None:
    target = os.path.join(output, layer, os.path.relpath(path, "/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.rename(path, target)


def settle(root: str) -> None:
    """Every file time 0, directories last, and no file or directory writable by group or others.

    The modes, because an installer's threads race for the process umask: the `installer` library
    (Poetry's) reads it by setting it to 0 for a moment, and a file another thread creates then
    is 0666 instead of 0644 (numpy's `_datasource.pyi`, pandas' files: a layer that changed with
    no change to its package, and a file anyone in the container could write)."""
    for directory, names, files in os.walk(root, topdown=False):
        for name in files + names:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & WRITABLE_BY_OTHERS:
                os.chmod(path, stat.S_IMODE(mode) & ~WRITABLE_BY_OTHERS)
            os.utime(path, (0, 0), follow_symlinks=False)
    os.utime(root, (0, 0))


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: layer-venv.py VIRTUALENV OUTPUT NN.txt...", file=sys.stderr)
        return 2
    venv, output = (os.path.abspath(arg) for arg in argv[:2])
    layer_names = [os.path.basename(path).rsplit(".", 1)[0] for path in argv[2:]]
    layer_of_name = {
        name: layer for path, layer in zip(argv[2:], layer_names) for name in requirement_names(path)
    }
    layers = file_layers(venv, layer_of_name)
    lock = os.path.join(venv, ".lock")
    if os.path.isfile(lock):
        os.remove(lock)  # uv's lock of the virtualenv while it installs, world-writable: not for the image
    counts = dict.fromkeys(layer_names, 0)
    # Empty before anything moves (include/): the directories whose files move go with them.
    empty = [directory for directory, names, files in os.walk(venv) if not names and not files]
    for directory, _, files in os.walk(venv):
        for name in files:
            path = os.path.join(directory, name)
            source = source_of_bytecode(path)
            layer = layers.get(path) or (layers.get(source) if source else None) or layer_names[0]
            move(path, output, layer)
            counts[layer] += 1
    for directory, names, _ in os.walk(venv):  # what is left: the virtualenv's own
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path):  # lib64 -> lib
                move(path, output, layer_names[0])
                counts[layer_names[0]] += 1
    for directory in empty:
        os.makedirs(os.path.join(output, layer_names[0], os.path.relpath(directory, "/")), exist_ok=True)
    for layer in layer_names:
        os.makedirs(os.path.join(output, layer), exist_ok=True)  # every layer's COPY needs its directory
        settle(os.path.join(output, layer))
    print(PREFIX, "files per layer:", ", ".join(f"{layer} {count}" for layer, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
