"""What the Dockerfile says, decided once: `DockerfileOptions` in, `DockerfilePlan` out.

Every value a Dockerfile line is made of is checked here (values.py), so the
renderer only lays out plain, safe values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from poetry.core.constraints.version import parse_constraint

from poetry_plugin_docker import values
from poetry_plugin_docker.dockerfile.service import Service, ServiceOptions, plan_service
from poetry_plugin_docker.dockerfile.versioning import PDV, DynamicVersion, dynamic_version
from poetry_plugin_docker.dockerfile.wheel import (
    build_requirements,
    builds_with_poetry_core,
    needs_isolated_build,
    wheel_inputs,
)
from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.files import stub_directory
from poetry_plugin_docker.host import Host
from poetry_plugin_docker.project.credentials import secret_id, sources_with_local_credentials
from poetry_plugin_docker.project.loading import git_urls, is_ssh_url
from poetry_plugin_docker.project.selection import Selection, installed_selection
from poetry_plugin_docker.project.sources import credential_variable
from poetry_plugin_docker.settings import Settings
from poetry_plugin_docker.stub.path_dependencies import project_dir_in_stub
from poetry_plugin_docker.stub.requirements import uv_obstacle, uv_refusal

if TYPE_CHECKING:
    from poetry_plugin_docker.project.loading import Project
    from poetry_plugin_docker.stub.model import Stub

# The uv of the builder: it installs the dependencies, or Poetry (a single static binary in a wheel).
UV_VERSION = "0.13.9"
PLUGIN_DISTRIBUTION = "poetry-plugin-docker"
# Python minor versions that have official python:3.X images, newest last.
PYTHON_IMAGE_VERSIONS = tuple(f"3.{minor}" for minor in range(8, 16))

# Top-level entries that are not part of a package-mode = false application.
_NOT_APPLICATION_FILES = re.compile(
    r"^(\..*|Dockerfile.*|pyproject\.toml|poetry\.lock|tests?|docs?|dist|build|__pycache__"
    r"|node_modules|venv|env|.*\.egg-info|(README|CHANGELOG|LICENSE|LICENCE|COPYING|NOTICE)(\..*)?)$",
    re.IGNORECASE,
)
_BARE_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# Why `docker stop` sends what it sends: the option asked for it, gunicorn's graceful shutdown is
# SIGTERM, or Python's KeyboardInterrupt (SIGINT) for everything else.
StopSignalReason = Literal["option", "gunicorn", "python"]


@dataclass(frozen=True)
class DockerfileOptions:
    """What `poetry docker dockerfile` was asked for: the settings, the groups and extras they
    select, and the command line that regenerates the file (for its header)."""

    settings: Settings = field(default_factory=Settings)
    selection: Selection = field(default_factory=Selection)
    regenerate_command: str = "poetry docker dockerfile"


@dataclass(frozen=True)
class Secret:
    """A package source's credentials, as the BuildKit secret file `username:password`."""

    id: str
    username_variable: str
    password_variable: str
    host: str = ""  # the source URL's host: the netrc `machine` uv reads the credentials by


@dataclass(frozen=True)
class Images:
    """The base images and the Dockerfile frontend."""

    python: str  # X.Y
    base_image: str  # the builder's
    runtime_image: str
    syntax: str | None  # the `# syntax=` frontend; None omits the line


@dataclass(frozen=True)
class Builder:
    """What the builder stages install and how they reach the package indexes."""

    poetry_requirements: tuple[str, ...]  # Poetry, pinned, and the plugins installed next to it
    build_args: tuple[str, ...]  # ARGs declared before the dependency install
    secrets: tuple[Secret, ...]
    git_over_ssh: bool  # some git dependency is reached over SSH: forward the build's SSH agent
    system_git_variable: str  # Poetry's setting for using the git command (which honours GIT_SSH_COMMAND)
    installer: values.Installer = "uv"  # uv: the stub's hashed requirements, no Poetry
    installer_reason: str = ""  # why Poetry installs the dependencies, when `auto` did not pick uv
    uv_requirement: str = ""  # uv==X.Y.Z, installed in the builder with --installer uv
    compile: bool = False  # compile bytecode in the builder (dependencies and project)


@dataclass(frozen=True)
class Dependencies:
    """Where the stub is and what of it the deps stage installs."""

    stub_dir: str
    install_options: str  # the selection, as `poetry docker build-context` takes it
    # The selection as `poetry install` takes it; None when it selects no dependency at all
    # (a project without runtime dependencies has no main group).
    poetry_install_options: str | None
    stub_project_dir: str  # where the project sits inside the stub ("." without path dependencies)
    stub_stage: bool = False  # derive the stub in a `stub` stage instead of copying it from the context
    # Path dependencies go to the pure-Python tail layers, yet may have compiled extensions of their own.
    has_path_dependencies: bool = False


@dataclass(frozen=True)
class ProjectBuild:
    """The project: its metadata for the labels, and how its wheel (or its files) are built."""

    name: str
    description: str
    license: str | None
    source_url: str | None
    package_mode: bool
    isolated_build: bool  # `poetry build` would build in an isolated environment (build script, ...)
    dynamic_version: DynamicVersion | None  # the version comes from git tags: VERSION goes to this tool
    copied_files: tuple[str, ...]  # top-level files the wheel or the application needs
    copied_dirs: tuple[str, ...]  # top-level directories the wheel or the application needs
    # [build-system] requires, installed before the project's files with --installer uv (empty: isolated build)
    build_requirements: tuple[str, ...] = ()
    poetry_core_backend: bool = False  # build-backend is poetry-core's: the Dockerfile calls its hook itself


@dataclass(frozen=True)
class Runtime:
    """The image that ships: how it starts and stops, the service options, the self-check."""

    entrypoint: tuple[str, ...]
    stop_signal: str  # what `docker stop` sends (STOPSIGNAL)
    stop_signal_reason: StopSignalReason
    service: Service = field(default_factory=Service)
    check_ignore: tuple[str, ...] = ()  # locked distributions whose shared libraries the self-check skips


@dataclass(frozen=True)
class DockerfilePlan:
    """Everything the Dockerfile says, as plain, checked values, in the parts a reader takes in turn."""

    images: Images
    builder: Builder
    dependencies: Dependencies
    project: ProjectBuild
    runtime: Runtime
    regenerate_command: str


def plan_dockerfile(
    project: Project, options: DockerfileOptions, stub: Stub, host: Host | None = None
) -> DockerfilePlan:
    """The Dockerfile for this project, options and stub (`plan_stub` of the same selection), made
    on `host` (by default, this machine: the Poetry and Python running the plugin)."""
    host = host or Host.current()
    settings = options.settings
    stub_dir = stub_directory(project.root, settings.stub_dir, "--stub-dir")
    if settings.python and not values.PYTHON.fullmatch(settings.python):
        raise UserError(f"--python {values.shown(settings.python)} is not a Python version like 3.12.")
    python = settings.python or choose_python(project.python_constraint, host.python)

    if project.is_package_mode:
        inputs = wheel_inputs(project)
        entrypoint = _wheel_entrypoint(project.scripts, settings.entrypoint)
    else:
        inputs = _application_files(project.root, stub_dir)
        entrypoint = [values.path("--entrypoint", settings.entrypoint)] if settings.entrypoint else ["python"]
    missing = [path for path in inputs if not (project.root / path).exists()]
    if missing:
        raise UserError(
            f"{', '.join(missing)} named in pyproject.toml does not exist. "
            "Create it or fix pyproject.toml."
        )
    for path in inputs:
        values.path(f"The file {path} of the project (rename it)", path)

    if settings.stub_stage and stub.dependencies:
        carried = ", ".join(f"{dep.name} ({dep.url})" for dep in stub.dependencies)
        raise UserError(
            f"--stub-stage cannot derive the stub in the build: it carries the path dependencies "
            f"{carried}, which live outside the build context. Drop --stub-stage and run "
            "`poetry docker build-context` before `docker build`."
        )
    stop_signal, stop_signal_reason = _stop_signal(settings.stop_signal, stub)
    selection = _checked_selection(options.selection)
    installed = installed_selection(selection, project.has_main_group)
    base_image = values.image_reference("--base-image", settings.base_image or f"python:{python}")
    runtime_image = values.image_reference("--runtime-image", settings.runtime_image or f"python:{python}-slim")
    service = plan_service(
        project.root,
        ServiceOptions(
            builder_packages=settings.builder_packages,
            runtime_packages=settings.runtime_packages,
            ports=settings.ports,
            includes=settings.include,
            entrypoint_script=settings.entrypoint_script,
            data_dirs=settings.data_dirs,
            healthcheck=settings.healthcheck,
        ),
        base_image=base_image,
        runtime_image=runtime_image,
        installs_dependencies=installed is not None,
        stub_dir=stub_dir,
    )
    dynamic = dynamic_version(project.pyproject) if project.is_package_mode else None
    installer, installer_reason = _installer(settings, stub, dynamic)
    plugin = (f"{PLUGIN_DISTRIBUTION}=={host.plugin}",) if settings.stub_stage else ()
    plugins = [
        *(
            values.requirement("[tool.poetry.requires-plugins]", _pinned(spec, host))
            for spec in project.required_plugins
        ),
        *(values.requirement("--builder-plugin", _pinned(spec, host)) for spec in settings.builder_plugins),
    ]
    has_pdv = any(canonicalize_name(Requirement(spec).name) == PDV for spec in plugins)
    if dynamic and dynamic.poetry_plugin and not has_pdv:
        # `poetry build` takes the version from the plugin: without it in the builder, the wheel is 0.0.0.
        pdv_version = host.installed(PDV)
        plugins.append(f"{PDV}[plugin]=={pdv_version}" if pdv_version else f"{PDV}[plugin]")
    return DockerfilePlan(
        images=Images(
            python=python,
            base_image=base_image,
            runtime_image=runtime_image,
            syntax=None if settings.syntax.lower() == "none" else values.image_reference("--syntax", settings.syntax),
        ),
        builder=Builder(
            poetry_requirements=(f"poetry=={host.poetry}", *dict.fromkeys([*plugins, *plugin])),
            build_args=tuple(dict.fromkeys(values.variable("--build-arg", arg) for arg in settings.build_args)),
            secrets=_secrets(project, settings.secret_sources),
            git_over_ssh=any(is_ssh_url(url) for url in git_urls(stub.lock_data)),
            system_git_variable=(
                "POETRY_EXPERIMENTAL_SYSTEM_GIT_CLIENT" if host.is_poetry_1 else "POETRY_SYSTEM_GIT_CLIENT"
            ),
            installer=installer,
            installer_reason=installer_reason,
            uv_requirement=f"uv=={UV_VERSION}",
            compile=settings.compile,
        ),
        dependencies=Dependencies(
            stub_dir=stub_dir,
            install_options=selection.install_options(),
            poetry_install_options=installed.install_options() if installed else None,
            stub_project_dir=values.path(
                "The project's directory in the stub", project_dir_in_stub(project.root, stub.dependencies)
            ),
            stub_stage=settings.stub_stage,
            has_path_dependencies=bool(stub.dependencies),
        ),
        project=ProjectBuild(
            name=values.name("The project name", project.name),
            description=project.description,
            license=project.license,
            source_url=project.source_url,
            package_mode=project.is_package_mode,
            isolated_build=project.is_package_mode and needs_isolated_build(project, host.installed("poetry-core")),
            dynamic_version=dynamic,
            copied_files=tuple(p for p in inputs if (project.root / p).is_file()),
            copied_dirs=tuple(p for p in inputs if (project.root / p).is_dir()),
            build_requirements=build_requirements(project) if installer == "uv" and project.is_package_mode else (),
            poetry_core_backend=project.is_package_mode and builds_with_poetry_core(project),
        ),
        runtime=Runtime(
            entrypoint=tuple(entrypoint),
            stop_signal=stop_signal,
            stop_signal_reason=stop_signal_reason,
            service=service,
            check_ignore=_check_ignore(settings.check_ignore, stub),
        ),
        regenerate_command=values.comment(options.regenerate_command),
    )


def _check_ignore(names: tuple[str, ...], stub: Stub) -> tuple[str, ...]:
    """The distributions named by --check-ignore, each one the image installs."""
    locked = {canonicalize_name(package["name"]) for package in stub.lock_data.get("package", [])}
    for name in names:
        values.name("--check-ignore", name)
        if canonicalize_name(name) not in locked:
            raise UserError(
                f"--check-ignore {values.shown(name)} is not a distribution the image installs (not in the "
                "stub's lock); name one of its locked packages, as in poetry.lock."
            )
    return tuple(dict.fromkeys(canonicalize_name(name) for name in names))


def _installer(settings: Settings, stub: Stub, dynamic: DynamicVersion | None) -> tuple[values.Installer, str]:
    """What installs the dependencies, and why Poetry when `auto` did not pick uv ("" otherwise).
    `--installer uv` refuses, with its way out, what only Poetry can do."""
    choice = values.installer("--installer", settings.installer)
    if choice == "poetry":
        return "poetry", ""
    if settings.stub_stage:
        obstacle: str | None = "--stub-stage runs Poetry in the build"
    elif dynamic and dynamic.poetry_plugin:
        obstacle = "poetry-dynamic-versioning as a Poetry plugin needs Poetry to build the wheel"
    else:
        lock_obstacle = uv_obstacle(stub.lock_data)
        if lock_obstacle and choice == "uv":
            raise uv_refusal(lock_obstacle)  # the lock's own obstacle, in its own words
        obstacle = lock_obstacle and f"{lock_obstacle}, which uv cannot install from hashed requirements"
    if choice == "auto":
        return ("poetry", obstacle) if obstacle else ("uv", "")
    if obstacle:
        raise UserError(
            f"--installer uv cannot build this project: {obstacle}. "
            "Drop --installer uv: the default (auto) uses Poetry for it, in the same layers."
        )
    return "uv", ""


def _stop_signal(requested: str | None, stub: Stub) -> tuple[str, StopSignalReason]:
    """What `docker stop` sends. Python as PID 1 ignores SIGTERM unless it has a handler, so the
    default is SIGINT, which Python turns into KeyboardInterrupt (`finally` blocks run) and which
    uvicorn and most servers handle like SIGTERM; gunicorn shuts down gracefully on SIGTERM only."""
    if requested:
        return values.stop_signal("--stop-signal", requested), "option"
    locked = {canonicalize_name(package["name"]) for package in stub.lock_data.get("package", [])}
    if "gunicorn" in locked:
        return "SIGTERM", "gunicorn"
    return "SIGINT", "python"


def _checked_selection(selection: Selection) -> Selection:
    for group in selection.groups:
        values.name("The dependency group", group)
    for extra in selection.extras:
        values.name("The extra", extra)
    return selection


def _secrets(project: Project, requested: tuple[str, ...]) -> tuple[Secret, ...]:
    names = {str(source.get("name")) for source in project.sources}
    for name in requested:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise UserError(
                f"--secret-source {values.shown(name)} is not a source in pyproject.toml (sources: {known})."
            )
    chosen = dict.fromkeys([*sources_with_local_credentials(project), *requested])
    urls = {str(source.get("name")): str(source.get("url", "")) for source in project.sources}
    return tuple(
        Secret(
            secret_id(values.name("The package source", name)),
            credential_variable(name, "USERNAME"),
            credential_variable(name, "PASSWORD"),
            _netrc_host(name, urls.get(name, "")),
        )
        for name in chosen
    )


def _netrc_host(source: str, url: str) -> str:
    host = urlsplit(url).hostname
    return values.host(f"The URL of source {source}", host) if host else ""


def choose_python(constraint: Any, running: str) -> str:
    """`running` (the interpreter running Poetry, X.Y) if the project allows it, else the newest allowed 3.X."""

    def allowed(version: str) -> bool:
        major, minor = version.split(".")
        return bool(constraint.allows_any(parse_constraint(f">={version},<{major}.{int(minor) + 1}")))

    if running in PYTHON_IMAGE_VERSIONS and allowed(running):
        return running
    for version in reversed(PYTHON_IMAGE_VERSIONS):
        if allowed(version):
            return version
    raise UserError(
        f"No python:3.X image satisfies the project's Python constraint ({constraint}). "
        "Widen it in pyproject.toml, or pass --python X.Y and --base-image/--runtime-image."
    )


def _wheel_entrypoint(scripts: list[str], requested: str | None) -> list[str]:
    if requested:
        if requested not in scripts:
            known = ", ".join(scripts) or "none"
            raise UserError(
                f"--entrypoint {values.shown(requested)} is not one of the project's scripts ({known})."
            )
        return [values.path("--entrypoint", requested)]
    return [values.path("The project's first script", scripts[0])] if scripts else ["python"]


def _application_files(root: Path, stub_dir: str) -> list[str]:
    stub_top = PurePosixPath(stub_dir).parts[0]
    entries = sorted(
        entry.name
        for entry in root.iterdir()
        if entry.name != stub_top and not _NOT_APPLICATION_FILES.match(entry.name)
    )
    if not entries:
        raise UserError(
            f"{root} has no application files to ship (package-mode = false). "
            "Add your application's modules next to pyproject.toml."
        )
    return entries


def _pinned(spec: str, host: Host) -> str:
    """Pin a bare plugin name to the version installed next to this Poetry, if any."""
    if _BARE_REQUIREMENT.match(spec):
        installed = host.installed(spec)
        if installed:
            return f"{spec}=={installed}"
    return spec
