"""Which image layer each dependency goes to, whatever installs it: stable, heavy packages first.

A dependency update ships its own layer instead of the whole virtualenv. The Dockerfile has
a fixed set of layers, so it never changes with the lock. A package's layer depends only on
its own name and kind, never on the other packages, so adding or bumping one package moves
no other. Compiled packages (platform wheels, or no wheel Python 3 installs) are the heavy ones, and
they change rarely: they hash into the first HEAVY_LAYERS layers, so that two of them rarely
share one. Pure-Python packages, the long tail, hash into the last TAIL_LAYERS.

Three install stages share them out (STAGE_LAYERS). On Docker 20.10 (no `COPY --link`), a
layer that changes is copied again with every layer after it. Those later layers come out
byte-identical (same digests, so a registry has them already), but a deploy host pulls them
again: so the rarely changed heavy layers go first.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEAVY_LAYERS = 12
TAIL_LAYERS = 3
LAYER_NAMES = tuple(f"{index:02d}" for index in range(1, HEAVY_LAYERS + TAIL_LAYERS + 1))
LAYERS_DIR = "requirements"
# The install stages, each installing the files of its layers in one uv run (parallel downloads) and
# splitting the result into them (layer_venv.py): 3 containers on a cold build instead of 15, and a
# dependency change reinstalls its stage's packages only (from the cache mount, or downloaded again
# on a runner whose cache mounts are empty). The pure-Python tail, which most updates touch, alone.
STAGE_LAYERS = (LAYER_NAMES[:6], LAYER_NAMES[6:HEAVY_LAYERS], LAYER_NAMES[HEAVY_LAYERS:])
# The stages whose layers can hold compiled files: the lookup of the runtime image's system packages
# reads these only, so that a pure-Python update (the most frequent) never waits for it.
COMPILED_STAGE_LAYERS = STAGE_LAYERS[:2]
# A wheel for any platform and any Python ABI: pure Python. Its Python tags (`py3`, `py2.py3`).
_PURE_WHEEL = re.compile(r"-([^-]+)-none-any\.whl$")


def is_compiled(package: dict[str, Any]) -> bool:
    """Platform wheels, or no wheel that Python 3 installs (built from source): compiled, and usually
    heavy. A path dependency (a library of the same repository, which changes as often as the
    project) is not. (The runtime's self-check runs before the other layers: what they hold must
    load no shared library.)"""
    if (package.get("source") or {}).get("type") == "directory":
        return False
    names = [str(file.get("file", "")) for file in package.get("files", [])]
    wheels = [name for name in names if name.endswith(".whl")]
    pure = [match.group(1).split(".") for match in map(_PURE_WHEEL.search, wheels) if match]
    python3 = any(tag.startswith("py3") for tags in pure for tag in tags)
    return not wheels or len(pure) < len(wheels) or not python3


def layer_of(name: str, compiled: bool) -> str:
    """The layer a package goes to: from its canonical name and kind alone."""
    digest = zlib.crc32(canonicalize_name(name).encode("utf-8"))
    if compiled:
        return LAYER_NAMES[digest % HEAVY_LAYERS]
    return LAYER_NAMES[HEAVY_LAYERS + digest % TAIL_LAYERS]


def split_requirements(requirements: str, lock_data: dict[str, Any], header: str) -> dict[str, str]:
    """One requirements file per layer (every layer has one, most of them empty), from the export:
    its option lines (indexes) go to every file, each requirement (with its hashes) to its layer."""
    compiled = {canonicalize_name(p["name"]): is_compiled(p) for p in lock_data.get("package", [])}
    options: list[str] = []
    entries: dict[str, list[str]] = {name: [] for name in LAYER_NAMES}
    entry: list[str] = []
    for line in [*requirements.splitlines(), ""]:
        if line.startswith((" ", "\t")) and entry:
            entry.append(line)  # a --hash continuation
            continue
        if entry:
            name = canonicalize_name(Requirement(entry[0].rstrip(" \\")).name)
            entries[layer_of(name, compiled.get(name, False))].append("\n".join(entry))
            entry = []
        if line.startswith("-"):
            options.append(line)
        elif line and not line.startswith("#"):
            entry = [line]
    files = {}
    for layer, requirements_of_layer in entries.items():
        body = "\n".join([*options, *sorted(requirements_of_layer)])
        files[layer] = header.format(layer=layer) + (body + "\n" if body else "")
    return files


def split_names(lock_data: dict[str, Any], header: str) -> dict[str, str]:
    """One file per layer naming the locked distributions that go to it (`name==version`), for a
    lock that Poetry installs: layer-venv.py reads only the names."""
    entries: dict[str, set[str]] = {name: set() for name in LAYER_NAMES}
    for package in lock_data.get("package", []):
        name = canonicalize_name(package["name"])
        entries[layer_of(name, is_compiled(package))].add(f"{name}=={package.get('version', '')}".rstrip("="))
    return {
        layer: header.format(layer=layer) + "".join(f"{line}\n" for line in sorted(names))
        for layer, names in entries.items()
    }
