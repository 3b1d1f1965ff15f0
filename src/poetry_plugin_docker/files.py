"""Where the plugin may write, writing output files atomically, and comparing them for --check."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from poetry_plugin_docker import values
from poetry_plugin_docker.errors import UserError

# The file that marks a directory as the plugin's own stub: it rewrites (and prunes) what is in it.
STUB_MARKER = ".poetry-plugin-docker"
STUB_MARKER_TEXT = b"Written by poetry-plugin-docker (poetry docker build-context), which rewrites this directory.\n"
# A stub written before the marker existed: its script, or nothing but the two stub files.
_EARLIER_STUB_FILES = ("check-venv.py",)
_MINIMAL_STUB = {"pyproject.toml", "poetry.lock"}


def project_path(root: Path, value: str, option: str) -> str:
    """`value` as a relative path inside the project (`root`), never the root itself, checked to be
    writable into a Dockerfile; else one line naming the option, the path and the rule."""
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or str(path) in ("", "."):
        raise UserError(
            f"{option} {values.shown(value)} is not inside the project: the plugin writes only below the project "
            "root, never the root itself; use a relative path without '..' (such as .docker-deps)."
        )
    relative = values.path(option, str(path))
    real_root = root.resolve()
    real = (root / relative).resolve()
    if real == real_root or real_root not in real.parents:
        raise UserError(
            f"{option} {values.shown(value)} leads outside the project through a symbolic link "
            f"(to {real}); use a directory inside the project."
        )
    return relative


def stub_directory(root: Path, value: str, option: str) -> str:
    """The stub directory `value` (relative to the project `root`) if the plugin may own it: inside the
    project, and new, empty, or a stub it wrote; else one line naming the option, the path and the rule.
    Every command decides the stub directory's validity here."""
    relative = project_path(root, value, option)
    directory = root / relative
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{option} {values.shown(value)} is a file; the stub needs a directory of its own.")
    names = set(os.listdir(directory)) if directory.is_dir() else set()
    if names and not (STUB_MARKER in names or names & set(_EARLIER_STUB_FILES) or names == _MINIMAL_STUB):
        shown_names = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise UserError(
            f"{option} {values.shown(value)} holds files poetry-plugin-docker did not write ({shown_names}), and "
            "the stub directory is the plugin's own; use a new directory such as .docker-deps."
        )
    return relative


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
