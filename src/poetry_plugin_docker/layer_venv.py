"""Split an installed virtualenv into the image's dependency layers, with `--installer uv`.

`poetry docker build-context --installer uv` writes this file next to the dependency stub as
`layer-venv.py`. The deps stage runs it right after `uv pip install`, in the same RUN (so the
files move within one layer, a rename), as `layer-venv.py VIRTUALENV OUTPUT`: each installed
distribution's files, as its RECORD names them (and the bytecode of its sources), move to
OUTPUT/NN/<their path>, NN its layer; every file time is set to 0. The runtime image copies
each OUTPUT/NN/ to /, one COPY per layer. What no RECORD names (the virtualenv itself:
pyvenv.cfg, bin/python) goes to the first layer.

A distribution's layer depends on its own name and kind alone, never on the others, so
adding or bumping one package moves no other. Compiled distributions (a wheel that is not
purelib: they are the heavy ones, and change rarely) hash into the first HEAVY_LAYERS
layers, so that two of them rarely share one; pure-Python ones, the long tail, into the
last TAIL_LAYERS. On Docker 20.10 (no `COPY --link`) a changed layer is copied again with
every layer after it: those come out byte-identical (the same digests, which a registry
has already), so the rarely changed heavy layers go first.

Standard library only, and Python 3.8 compatible: it runs on whatever Python the image has.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import zlib

HEAVY_LAYERS = 12
TAIL_LAYERS = 3
LAYER_NAMES = tuple(f"{index:02d}" for index in range(1, HEAVY_LAYERS + TAIL_LAYERS + 1))
PREFIX = "layer-venv:"


def canonical_name(name: str) -> str:
    """PEP 503's normalised name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def layer_of(name: str, compiled: bool) -> str:
    """The layer a distribution goes to: from its canonical name and kind alone."""
    digest = zlib.crc32(canonical_name(name).encode("utf-8"))
    if compiled:
        return LAYER_NAMES[digest % HEAVY_LAYERS]
    return LAYER_NAMES[HEAVY_LAYERS + digest % TAIL_LAYERS]


def header_value(path: str, key: str) -> str | None:
    """A `Key: value` header of METADATA or WHEEL (the headers end at the first blank line)."""
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if not line.strip():
                break
            if line.lower().startswith(key.lower() + ":"):
                return line.split(":", 1)[1].strip()
    return None


def distribution_layers(site: str) -> dict[str, str]:
    """Each installed file's real path -> its distribution's layer (site: the site-packages)."""
    layers: dict[str, str] = {}
    for entry in sorted(os.listdir(site)):
        info = os.path.join(site, entry)
        if not entry.endswith(".dist-info") or not os.path.isfile(os.path.join(info, "RECORD")):
            continue
        name = header_value(os.path.join(info, "METADATA"), "Name") or entry.split("-", 1)[0]
        wheel = os.path.join(info, "WHEEL")
        purelib = header_value(wheel, "Root-Is-Purelib") if os.path.isfile(wheel) else "true"
        layer = layer_of(name, compiled=(purelib or "true").lower() != "true")
        with open(os.path.join(info, "RECORD"), encoding="utf-8", newline="") as stream:
            for row in csv.reader(stream):
                if row:
                    layers[os.path.realpath(os.path.join(site, row[0]))] = layer
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


def zero_times(root: str) -> None:
    """Every file time 0, directories last: the same files give the same layer, byte for byte."""
    for directory, names, files in os.walk(root, topdown=False):
        for name in files + names:
            os.utime(os.path.join(directory, name), (0, 0), follow_symlinks=False)
    os.utime(root, (0, 0))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: layer-venv.py VIRTUALENV OUTPUT", file=sys.stderr)
        return 2
    venv, output = (os.path.realpath(arg) for arg in argv)
    sites = sorted({os.path.dirname(os.path.dirname(path)) for path in _records(venv)})
    layers: dict[str, str] = {}
    for site in sites:
        layers.update(distribution_layers(site))
    counts = dict.fromkeys(LAYER_NAMES, 0)
    lock = os.path.join(venv, ".lock")
    if os.path.isfile(lock):
        os.remove(lock)  # uv's lock of the virtualenv while it installs, world-writable: not for the image
    for directory, _, files in os.walk(venv):
        for name in files:
            path = os.path.join(directory, name)
            real = os.path.join(os.path.realpath(directory), name)
            source = source_of_bytecode(real)
            layer = layers.get(real) or (layers.get(source) if source else None) or LAYER_NAMES[0]
            move(path, output, layer)
            counts[layer] += 1
    for directory, names, _ in os.walk(venv, topdown=False):  # what is left: the virtualenv's own
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path):  # lib64 -> lib
                move(path, output, LAYER_NAMES[0])
            elif not os.listdir(path):  # include/
                os.makedirs(os.path.join(output, LAYER_NAMES[0], os.path.relpath(path, "/")), exist_ok=True)
                os.rmdir(path)
    for layer in LAYER_NAMES:
        os.makedirs(os.path.join(output, layer), exist_ok=True)  # every layer's COPY needs its directory
        zero_times(os.path.join(output, layer))
    used = ", ".join(f"{layer} {count}" for layer, count in counts.items() if count)
    print(PREFIX, "files per layer:", used)
    return 0


def _records(venv: str) -> list[str]:
    found = []
    for directory, names, files in os.walk(venv):
        if directory.endswith(".dist-info") and "RECORD" in files:
            found.append(os.path.join(directory, "RECORD"))
            names[:] = []
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
