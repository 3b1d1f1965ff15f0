"""What real services' Dockerfiles add around the application, checked: system packages, ports,
files the application reads at run time, an entrypoint script, writable directories, a health check.

`ServiceOptions` in (from the command line or [tool.poetry-plugin-docker]), `Service` out:
plain, checked values that render.py lays out.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from poetry_plugin_docker import values
from poetry_plugin_docker.errors import UserError

if TYPE_CHECKING:
    from collections.abc import Iterable

# Base images without apt (and so without Debian packages), by repository name or tag.
_NO_APT = re.compile(
    r"alpine|distroless|scratch|busybox|chainguard|wolfi|\bubi\d*\b|fedora|centos|rockylinux|almalinux"
    r"|amazonlinux|archlinux|opensuse|photon",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ServiceOptions:
    builder_packages: tuple[str, ...] = ()  # Debian packages for the builder (build tools, -dev headers)
    runtime_packages: tuple[str, ...] = ()  # Debian packages for the runtime image
    ports: tuple[str | int, ...] = ()
    includes: tuple[str, ...] = ()  # SRC[:DEST]
    entrypoint_script: str | None = None
    data_dirs: tuple[str, ...] = ()
    healthcheck: str | None = None


@dataclass(frozen=True)
class Include:
    """A file or directory of the build context, copied to `destination` in the runtime image."""

    source: str
    destination: str
    is_dir: bool


@dataclass(frozen=True)
class Service:
    builder_packages: tuple[str, ...] = ()
    runtime_packages: tuple[str, ...] = ()
    # Look up, after the dependency install, the runtime image's missing shared libraries' packages.
    find_runtime_packages: bool = False
    ports: tuple[str, ...] = ()
    includes: tuple[Include, ...] = ()
    entrypoint_script: Include | None = None
    data_dirs: tuple[str, ...] = ()
    healthcheck: tuple[str, ...] = ()  # HEALTHCHECK CMD, exec form
    warnings: tuple[str, ...] = ()

    @property
    def context_paths(self) -> list[str]:
        """The build context's paths that the Dockerfile copies for these options."""
        copied = [*self.includes, *([self.entrypoint_script] if self.entrypoint_script else [])]
        return [include.source for include in copied]


def has_apt(image: str) -> bool:
    """Whether a base image is Debian-like (apt-get), judged by its name: python:3.12-slim yes,
    python:3.12-alpine and gcr.io/distroless/python3 no. Unknown names count as Debian-like."""
    return _NO_APT.search(image.split("@", 1)[0]) is None


def plan_service(
    root: Path,
    options: ServiceOptions,
    *,
    base_image: str,
    runtime_image: str,
    installs_dependencies: bool,
    stub_dir: str,
) -> Service:
    """The checked service options for this project (its root) and these base images."""
    for option, packages, image in (
        ("--builder-package", options.builder_packages, base_image),
        ("--runtime-package", options.runtime_packages, runtime_image),
    ):
        if packages and not has_apt(image):
            raise UserError(
                f"{option} needs a Debian-based image with apt-get, and {image} has none; "
                "use a Debian-based image (python:X.Y, python:X.Y-slim) or drop the system packages."
            )
    includes = tuple(_include(root, spec, stub_dir) for spec in dict.fromkeys(options.includes))
    script = _entrypoint_script(root, options.entrypoint_script) if options.entrypoint_script else None
    warnings = []
    if script and not _execs_its_arguments(root / script.source):
        warnings.append(
            f"{script.source} has no `exec \"$@\"`: the application then does not run as PID 1, so "
            "`docker stop` does not reach it; end the script with `exec \"$@\"`."
        )
    return Service(
        builder_packages=_packages("--builder-package", options.builder_packages),
        runtime_packages=_packages("--runtime-package", options.runtime_packages),
        find_runtime_packages=installs_dependencies and has_apt(runtime_image),
        ports=tuple(dict.fromkeys(values.port("--port", port) for port in options.ports)),
        includes=includes,
        entrypoint_script=script,
        data_dirs=tuple(dict.fromkeys(values.image_path("--data-dir", path) for path in options.data_dirs)),
        healthcheck=tuple(values.command_line("--healthcheck", options.healthcheck)) if options.healthcheck else (),
        warnings=tuple(warnings),
    )


def _packages(option: str, packages: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values.debian_package(option, package) for package in packages))


def _context_path(root: Path, option: str, value: str) -> tuple[str, Path]:
    """A path inside the project, as a relative POSIX path, and where it is; one line if it is not."""
    relative = PurePosixPath(value.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or str(relative) in ("", "."):
        raise UserError(
            f"{option} {values.shown(value)} is outside the project; "
            "name a file or directory inside it, relative to pyproject.toml."
        )
    path = root / relative
    if not path.exists():
        raise UserError(f"{option} {values.shown(value)} does not exist in {root}; create it or fix the path.")
    if not path.resolve().is_relative_to(root.resolve()):
        raise UserError(
            f"{option} {values.shown(value)} leads outside the project (a symlink); "
            "copy what it points to into the project."
        )
    return values.path(option, str(relative)), path


def _unreadable(path: Path) -> Path | None:
    """The first file or directory under `path` that other users cannot read (or enter), if any."""
    candidates = [path, *sorted(path.rglob("*"))] if path.is_dir() else [path]
    for candidate in candidates:
        mode = candidate.stat().st_mode
        needed = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
        if mode & needed != needed:
            return candidate
    return None


def _include(root: Path, spec: str, stub_dir: str) -> Include:
    source, _, destination = spec.partition(":")
    relative, path = _context_path(root, "--include", source)
    if PurePosixPath(relative).parts[0] == PurePosixPath(stub_dir).parts[0]:
        raise UserError(f"--include {values.shown(spec)} is the dependency stub; include application files only.")
    unreadable = _unreadable(path)
    if unreadable is not None:
        raise UserError(
            f"--include {values.shown(source)}: {unreadable.relative_to(root)} is not readable by other users, "
            f"so not by the app user in the image; run `chmod -R a+rX {relative}`."
        )
    target = values.image_path("--include", destination or relative)
    return Include(relative, target, path.is_dir())


def _entrypoint_script(root: Path, value: str) -> Include:
    relative, path = _context_path(root, "--entrypoint-script", value)
    if not path.is_file() or not os.access(path, os.X_OK) or not path.stat().st_mode & stat.S_IXUSR:
        raise UserError(
            f"--entrypoint-script {values.shown(value)} is not an executable file; "
            f"run `chmod +x {relative}` (and start it with a #! line)."
        )
    return Include(relative, values.image_path("--entrypoint-script", relative), False)


def _execs_its_arguments(script: Path) -> bool:
    text = script.read_text(encoding="utf-8", errors="replace")
    return re.search(r"\bexec\s+(\"\$@\"|\"\$\{@\}\"|\$@|\$\*)", text) is not None
