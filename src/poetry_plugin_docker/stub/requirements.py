"""The stub lock as one requirements file per dependency layer: what uv installs, or what Poetry's install holds.

Poetry's own export rules (poetry-plugin-export's `Exporter`) write the requirements from
the stub itself (its pyproject and lock, nothing else), so they are byte-stable across
releases like the stub. Every line pins a version and carries the lock's hashes, and uv
installs them with `--require-hashes --no-deps`: exactly the locked set, no resolution in
the build. layers.py splits them into the image's dependency layers.

A lock that uv cannot install from hashes (uv_obstacle: a path or git dependency, a package
without hashes) is installed by Poetry instead, in one step; its layer files then only name
each layer's distributions, for layer-venv.py to split Poetry's virtualenv the same way.
"""

from __future__ import annotations

import hashlib
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cleo.io.buffered_io import BufferedIO
from cleo.io.null_io import NullIO
from packaging.utils import canonicalize_name

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.stub.layers import LAYER_NAMES, LAYERS_DIR, split_names, split_requirements
from poetry_plugin_docker.stub.pyproject import STUB_LOCK, STUB_PYPROJECT

if TYPE_CHECKING:
    from poetry_plugin_docker.project.selection import Selection
    from poetry_plugin_docker.stub.model import Stub

HEADER = (
    "# Dependency layer {layer}, written by `poetry docker build-context` from the stub's\n"
    "# poetry.lock (Poetry's export, with hashes); `uv pip install --require-hashes --no-deps` installs it.\n"
)
# When uv cannot install the lock (uv_obstacle), Poetry installs it, and these files only name the layers.
POETRY_HEADER = (
    "# Dependency layer {layer}, written by `poetry docker build-context` from the stub's poetry.lock:\n"
    "# Poetry installs the lock, then layer-venv.py moves the distributions named here into this layer.\n"
)
# Bumped when the layer files' content changes for the same inputs (a new plugin's rules).
FILES_FORMAT = 1
# The digest of what the layer files were written from (no .txt: not a layer's file).
INPUTS_FILE = f"{LAYERS_DIR}/inputs.sha256"
# Lock sources that a hashed requirements file cannot carry: uv refuses them with --require-hashes.
_DIRECT_SOURCES = {"git": "a git", "directory": "a path", "file": "a local file", "url": "a direct URL"}


def uv_obstacle(lock_data: dict[str, Any]) -> str | None:
    """Why uv cannot install this lock from hashed requirements, naming the first package it cannot
    ("core is a path dependency"); None when it can."""
    for package in lock_data.get("package", []):
        source_type = (package.get("source") or {}).get("type")
        if source_type in _DIRECT_SOURCES:
            return f"{package['name']} is {_DIRECT_SOURCES[source_type]} dependency"
        if not package.get("files"):
            return f"{package['name']} has no file hashes in poetry.lock"
    return None


def uv_refusal(obstacle: str) -> UserError:
    """The one line refusing `--installer uv` for the lock's `obstacle` (uv_obstacle's words)."""
    return UserError(
        f"--installer uv cannot install this lock: {obstacle}, which a hashed requirements file cannot hold. "
        "Drop --installer uv: the default (auto) installs it with Poetry, in the same layers."
    )


def check_exportable(lock_data: dict[str, Any]) -> None:
    """For `--installer uv`: one line naming the first locked package that uv cannot install, if any."""
    obstacle = uv_obstacle(lock_data)
    if obstacle:
        raise uv_refusal(obstacle)


def layer_requirements(stub: Stub, selection: Selection | None, output: Path | None = None) -> dict[str, bytes]:
    """The requirements file of each dependency layer, by path in the stub directory, for this
    stub and selection (None: nothing to install, every file empty), and INPUTS_FILE. The files
    already in `output`, when they were written from the same inputs: the export is most of a
    release job's start-up, and its inputs change only with the dependencies. (The digest is a
    file of its own: in each layer file, it would change them all, and rerun every install
    stage, when one package changes.)"""
    inputs = _inputs_line(stub, selection)
    written = _written_from(output, inputs) if output else None
    if written:
        return written
    if uv_obstacle(stub.lock_data):
        files = split_names(stub.lock_data if selection else {}, POETRY_HEADER)
    else:
        files = split_requirements(_export(stub, selection), stub.lock_data, HEADER)
    return {
        **{f"{LAYERS_DIR}/{layer}.txt": text.encode("utf-8") for layer, text in files.items()},
        INPUTS_FILE: inputs.encode("utf-8"),
    }


def _inputs_line(stub: Stub, selection: Selection | None) -> str:
    """What the layer files are derived from (the stub, the selection, the export's rules), as
    a digest, which stays the same across releases as the stub does."""
    digest = hashlib.sha256()
    for part in (
        stub.pyproject_text,
        stub.lock,
        (selection.install_options() if selection else "").encode("utf-8"),
        f"{FILES_FORMAT} poetry-plugin-export {_export_version()}".encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return f"sha256:{digest.hexdigest()}\n"


def _written_from(output: Path, inputs: str) -> dict[str, bytes] | None:
    """The layer files in `output`, if INPUTS_FILE says they were written from these inputs."""
    files = {}
    for name in (INPUTS_FILE, *(f"{LAYERS_DIR}/{layer}.txt" for layer in LAYER_NAMES)):
        try:
            files[name] = (output / name).read_bytes()
        except OSError:
            return None
    return files if files[INPUTS_FILE] == inputs.encode("utf-8") else None


def _export_version() -> str:
    try:
        return metadata.version("poetry-plugin-export")
    except metadata.PackageNotFoundError:
        return "none"


def _export(stub: Stub, selection: Selection | None) -> str:
    if selection is None:
        return ""
    # Imported here: Poetry's factory and the exporter load only when uv is the installer.
    from poetry.factory import Factory
    from poetry_plugin_export.exporter import Exporter  # type: ignore[import-untyped]  # no py.typed marker

    with tempfile.TemporaryDirectory(prefix="poetry-docker-export-") as directory:
        (Path(directory) / STUB_PYPROJECT).write_bytes(stub.pyproject_text)
        (Path(directory) / STUB_LOCK).write_bytes(stub.lock)
        poetry = Factory().create_poetry(Path(directory))
        exporter = (
            Exporter(poetry, NullIO())
            .only_groups([canonicalize_name(group) for group in selection.groups])
            .with_extras(_extras(poetry, selection))
            .with_hashes(True)
        )
        output = BufferedIO()
        exporter.export(Exporter.FORMAT_REQUIREMENTS_TXT, Path(directory), output)
    return str(output.fetch_output())


def _extras(poetry: Any, selection: Selection) -> list[Any]:
    if selection.all_extras:
        return [canonicalize_name(name) for name in poetry.package.extras]
    return [canonicalize_name(name) for name in selection.extras]
