"""`poetry docker build`: the release job's `docker build`, with the right arguments.

It reads the generated Dockerfile's header (dockerfile/header.py) for what the build
needs (the stub, secrets, SSH, build arguments), so the command always matches the file
it builds, however the file is worded. The command module only parses options into
`BuildOptions`; `BuildHandler` does the work.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from poetry_plugin_docker.dockerfile.header import (
    STUB_DIGEST_ARG,
    DockerfileHeader,
    HeaderError,
    read_header,
    stub_digest,
)
from poetry_plugin_docker.dockerfile.versioning import dynamic_version, release_version
from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.project.credentials import secret_file_content
from poetry_plugin_docker.project.selection import configured_selection
from poetry_plugin_docker.result import Result
from poetry_plugin_docker.settings import BUILD, TABLE, read_settings
from poetry_plugin_docker.stub.model import plan_stub
from poetry_plugin_docker.stub.write import write_build_context

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from poetry_plugin_docker.project.loading import Project

RELEASE_ARGS = ("VERSION", "REVISION", STUB_DIGEST_ARG)


@dataclass(frozen=True)
class BuildOptions:
    """What `poetry docker build` was asked for."""

    tag: str | None = None  # NAME (tagged <version> and latest) or NAME:TAG; None: the project's name
    docker_args: tuple[str, ...] = ()  # more arguments for docker build, before the context


class BuildHandler:
    """Writes the stub (unless the Dockerfile derives it), then runs `docker build`.

    `write_line` prints a message. A failed build raises UserError; its exit status
    is then in `docker_status`, for the command to exit with.
    """

    def __init__(self, write_line: Callable[[str], None], environ: Mapping[str, str] | None = None) -> None:
        self.write_line = write_line
        self.environ = environ
        self.docker_status = 0

    def build(self, project: Project, options: BuildOptions) -> Result:
        # The table's settings, checked as the other commands check them, before anything is written.
        settings = read_settings(project.root, project.config, BUILD)
        environ = dict(os.environ if self.environ is None else self.environ)
        version = image_version(project, environ)  # before anything is written: it can fail
        dockerfile = project.root / settings.dockerfile
        header = read_dockerfile_header(dockerfile)
        if not header.stub_stage and header.stub_dir != settings.stub_dir:
            configured = "stub-dir" in project.config
            raise UserError(
                f"{dockerfile.name} copies the stub from {header.stub_dir}, but `poetry docker build` writes it to "
                f"{settings.stub_dir} ({settings.origin('stub-dir') if configured else 'the default'}): set "
                f"stub-dir in [tool.{TABLE}] and regenerate the Dockerfile with `poetry docker dockerfile`, so that "
                "both read it."
            )
        selection = configured_selection(project, settings.selection_settings)
        stub = plan_stub(project, selection)  # the stub the image installs, written below or derived in the build
        if header.stub_stage:
            self.write_line("The Dockerfile derives the dependency stub itself (--stub-stage).")
        else:
            written = write_build_context(
                project,
                settings.stub_dir,
                selection,
                installer=header.installer,  # the stub this Dockerfile installs (requirements/ for uv)
                option=settings.origin("stub-dir"),
                stub=stub,
            )
            self.write_line(written.message)
        with build_command(
            project,
            version,
            dockerfile,
            options.tag or project.name,
            options.docker_args,
            environ,
            docker_executable(environ),
            header=header,
            digest=stub_digest(stub.pyproject_text, stub.lock),
        ) as command:
            self.write_line(f"Running: {command.shown}")
            self.docker_status = run(command)
        if self.docker_status:
            raise UserError(f"docker build failed (exit status {self.docker_status}); see its output above.")
        return Result(True, f"Built {' and '.join(command.tags)}.")


def split_tag(reference: str) -> tuple[str, str]:
    """NAME[:TAG] as (NAME, TAG or ""): a ':' counts only in the last path component, so that a
    registry's port (127.0.0.1:5000/app) is no tag."""
    name, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag:
        return reference, ""
    return name, tag


@dataclass(frozen=True)
class BuildCommand:
    argv: list[str]
    shown: str  # the command as printed: file paths, never secret values
    tags: list[str]


def docker_executable(environ: dict[str, str]) -> list[str]:
    """$DOCKER, else docker; `buildx build --load` when buildx is there."""
    docker = environ.get("DOCKER") or shutil.which("docker") or "docker"
    try:
        buildx = subprocess.run([docker, "buildx", "version"], capture_output=True, timeout=30)
        has_buildx = buildx.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        has_buildx = False
    return [docker, "buildx", "build", "--load"] if has_buildx else [docker, "build"]


def read_dockerfile_header(dockerfile: Path) -> DockerfileHeader:
    """The generated Dockerfile's header; a UserError when there is no Dockerfile or no readable header."""
    regenerate = "Run `poetry docker dockerfile` to regenerate it."
    try:
        text = dockerfile.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise UserError(f"No Dockerfile at {dockerfile}. Run `poetry docker dockerfile` first.") from None
    try:
        header = read_header(text)
    except HeaderError as error:
        raise UserError(f"Cannot build {dockerfile}: {error}. {regenerate}") from None
    if header is None:
        raise UserError(
            f"{dockerfile} has no poetry-plugin-docker header line, so `poetry docker build` cannot tell what it "
            f"needs (not generated, or by an older version). {regenerate}"
        )
    return header


def git_revision(root: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def image_version(project: Project, environ: Mapping[str, str]) -> str:
    """The release's version: pyproject.toml's, or the git tag's when the version comes from tags."""
    dynamic = dynamic_version(project.pyproject) if project.is_package_mode else None
    return release_version(project.root, dynamic, environ) if dynamic else project.version


@contextmanager
def build_command(
    project: Project,
    version: str,
    dockerfile: Path,
    tag: str,
    extra: Sequence[str],
    environ: dict[str, str],
    docker: list[str],
    *,
    header: DockerfileHeader,
    digest: str,
) -> Iterator[BuildCommand]:
    """The `docker build` command for the Dockerfile with this header and the stub of this digest;
    secret files live only while the context is open."""
    argv = [*docker, "-f", str(dockerfile), "--build-arg", f"VERSION={version}"]
    revision = git_revision(project.root)
    if revision:
        argv += ["--build-arg", f"REVISION={revision}"]
    argv += ["--build-arg", f"{STUB_DIGEST_ARG}={digest}"]
    for name in header.build_args:
        if name in environ and name not in RELEASE_ARGS:
            argv += ["--build-arg", name]  # docker reads the value from the environment
    if header.ssh:
        if not environ.get("SSH_AUTH_SOCK"):
            raise UserError(
                "A git dependency is reached over SSH, but no SSH agent is running "
                "(SSH_AUTH_SOCK is unset): start one with `eval $(ssh-agent)` and `ssh-add`."
            )
        argv += ["--ssh", "default"]
    name, explicit_version = split_tag(tag)
    # A local version (1.2.3.post1.dev0+abc1234) has a '+', which image tags cannot hold.
    tags = [tag] if explicit_version else [f"{name}:{version.replace('+', '-')}", f"{name}:latest"]
    for each in tags:
        argv += ["-t", each]

    with tempfile.TemporaryDirectory(prefix="poetry-docker-secrets-") as secrets_dir:
        for secret_id in header.secrets:
            secret_file = Path(secrets_dir) / secret_id
            secret_file.touch(mode=0o600)
            secret_file.write_text(secret_file_content(project, secret_id, environ))
            argv += ["--secret", f"id={secret_id},src={secret_file}"]
        argv += [*extra, str(project.root)]
        yield BuildCommand(argv, shlex.join(argv), tags)


def run(command: BuildCommand) -> int:
    return subprocess.run(command.argv, env={**os.environ, "DOCKER_BUILDKIT": "1"}).returncode
