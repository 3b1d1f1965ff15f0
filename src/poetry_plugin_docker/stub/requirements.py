"""The stub lock as the hashed requirements files that `--installer uv` installs, one per layer.

Poetry's own export rules (poetry-plugin-export's `Exporter`) write the requirements from
the stub itself (its pyproject and lock, nothing else), so they are byte-stable across
releases like the stub. Every line pins a version and carries the lock's hashes, and uv
installs them with `--require-hashes --no-deps`: exactly the locked set, no resolution in
the build. layers.py splits them into the image's dependency layers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cleo.io.buffered_io import BufferedIO
from cleo.io.null_io import NullIO
from packaging.utils import canonicalize_name

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.stub.layers import LAYERS_DIR, split_requirements
from poetry_plugin_docker.stub.pyproject import STUB_LOCK, STUB_PYPROJECT

if TYPE_CHECKING:
    from poetry_plugin_docker.project.selection import Selection
    from poetry_plugin_docker.stub.model import Stub

HEADER = (
    "# Dependency layer {layer}, written by `poetry docker build-context --installer uv` from the stub's\n"
    "# poetry.lock (Poetry's export, with hashes); `uv pip install --require-hashes --no-deps` installs it.\n"
)
# Lock sources that a hashed requirements file cannot carry: uv refuses them with --require-hashes.
_DIRECT_SOURCES = {"git": "a git", "directory": "a path", "file": "a local file", "url": "a direct URL"}


def check_exportable(lock_data: dict[str, Any]) -> None:
    """One line naming the first locked package that uv cannot install from hashes, if any."""
    for package in lock_data.get("package", []):
        source_type = (package.get("source") or {}).get("type")
        if source_type in _DIRECT_SOURCES:
            why = f"is {_DIRECT_SOURCES[source_type]} dependency"
        elif not package.get("files"):
            why = "has no file hashes in poetry.lock"
        else:
            continue
        raise UserError(
            f"--installer uv cannot install {package['name']}: it {why}, which a hashed requirements file "
            "cannot hold. Use --installer poetry."
        )


def layer_requirements(stub: Stub, selection: Selection | None) -> dict[str, bytes]:
    """The requirements file of each dependency layer, by path in the stub directory, for this
    stub and selection (None: nothing to install, every file empty)."""
    files = split_requirements(_export(stub, selection), stub.lock_data, HEADER)
    return {f"{LAYERS_DIR}/{layer}.txt": text.encode("utf-8") for layer, text in files.items()}


def _export(stub: Stub, selection: Selection | None) -> str:
    check_exportable(stub.lock_data)
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
