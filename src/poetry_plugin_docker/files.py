"""Writing output files atomically, and comparing them for --check."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from poetry_plugin_docker.errors import UserError


def write_files_atomically(directory: Path, files: dict[str, bytes], option: str) -> None:
    """Write every file or none: each goes to a temporary file first, then all are renamed."""
    temporaries: list[tuple[str, Path]] = []
    try:
        for name, content in files.items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
            temporaries.append((temporary, target))
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            _copy_mode(target, Path(temporary))
        for temporary, target in temporaries:
            os.replace(temporary, target)
    except OSError as error:
        for temporary, _ in temporaries:
            Path(temporary).unlink(missing_ok=True)
        reason = error.strerror or str(error)
        raise UserError(
            f"Cannot write to {directory}: {reason}. Choose a writable location with {option}."
        ) from None


def _copy_mode(existing: Path, temporary: Path) -> None:
    # mkstemp creates files readable by the owner only; keep the mode of the file
    # being replaced, or use the usual mode for new files.
    try:
        mode = existing.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temporary, mode)


def differing_files(directory: Path, files: dict[str, bytes]) -> list[str]:
    """Names of the files in `directory` that are missing or differ from `files`."""
    differing = []
    for name, content in files.items():
        try:
            if (directory / name).read_bytes() != content:
                differing.append(f"{name} differs")
        except FileNotFoundError:
            differing.append(f"{name} is missing")
        except OSError as error:
            differing.append(f"{name} is unreadable ({error.strerror})")
    return differing


def shown(path: Path, root: Path) -> str:
    """A path as the user thinks of it: relative to the project root when inside it."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
