from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option

from poetry_plugin_docker.commands.base import SELECTION_OPTIONS, DockerCommand
from poetry_plugin_docker.dockerfile.plan import DEFAULT_OUTPUT, DEFAULT_SYNTAX, DockerfileOptions
from poetry_plugin_docker.dockerfile.service import ServiceOptions
from poetry_plugin_docker.dockerfile.write import write_dockerfile
from poetry_plugin_docker.files import stub_directory
from poetry_plugin_docker.stub.pyproject import DEFAULT_STUB_DIR
from poetry_plugin_docker.values import DEFAULT_INSTALLER

if TYPE_CHECKING:
    from cleo.io.inputs.option import Option

    from poetry_plugin_docker.project.loading import Project
    from poetry_plugin_docker.result import Result


def _value(name: str, description: str) -> Option:
    # No cleo default: an option not given falls back to [tool.poetry-plugin-docker].
    return option(name, None, description, flag=False)


def _repeatable(name: str, description: str, shortcut: str | None = None) -> Option:
    return option(name, shortcut, description, flag=False, multiple=True)


class DockerfileCommand(DockerCommand):
    name = "docker dockerfile"
    description = (
        "Write a multi-stage Dockerfile whose dependency layer stays cached across releases."
    )
    options: ClassVar[list[Option]] = [
        _value("output", f"File to write, relative to the project root [default: {DEFAULT_OUTPUT}]."),
        _value(
            "stub-dir",
            f"Where the dependency stub lives, relative to the project root [default: {DEFAULT_STUB_DIR}].",
        ),
        *SELECTION_OPTIONS,
        _value("python", "Python version X.Y of the base images (default: chosen from the project)."),
        _value("base-image", "Builder base image (default: python:X.Y)."),
        _value("runtime-image", "Runtime base image (default: python:X.Y-slim)."),
        _value("entrypoint", "The script to run (default: the project's first script)."),
        _value(
            "syntax",
            f"Dockerfile frontend for the `# syntax=` line; `none` omits the line [default: {DEFAULT_SYNTAX}].",
        ),
        _repeatable(
            "builder-plugin",
            "A Poetry plugin to install next to Poetry in the builder "
            "(pinned to the installed version when given by name only).",
        ),
        _repeatable(
            "build-arg",
            "Declare ARG NAME in the builder before the dependency install "
            "(e.g. POETRY_PYPI_MIRROR_URL).",
        ),
        _repeatable(
            "secret-source",
            "A package source whose credentials the build gets as the BuildKit secret "
            "<source>-credentials (sources with credentials configured here are included).",
        ),
        option(
            "compile",
            None,
            "Compile bytecode in the builder: dependencies and project (a bigger image that starts faster).",
        ),
        option(
            "stub-stage",
            None,
            "Derive the dependency stub in the Dockerfile itself, so that `docker build .` is the only step "
            "(not for projects with path dependencies).",
        ),
        _value(
            "stop-signal",
            "The signal `docker stop` sends (STOPSIGNAL) [default: SIGINT, or SIGTERM when gunicorn is installed].",
        ),
        _repeatable(
            "builder-package",
            "A Debian package to install in the builder, for dependencies built from source "
            "(e.g. libpq-dev); their shared libraries' packages go to the runtime image by themselves.",
        ),
        _repeatable("runtime-package", "A Debian package to install in the runtime image (e.g. postgresql-client)."),
        _repeatable("port", "A port the application listens on (EXPOSE), e.g. 8000 or 53/udp."),
        _repeatable(
            "include",
            "SRC[:DEST]: a file or directory of the project the application reads at run time "
            "(migrations, alembic.ini), copied to DEST [default: /app/SRC].",
        ),
        _value(
            "entrypoint-script",
            "An executable script of the project run as ENTRYPOINT, with the application as CMD; "
            'it must end with `exec "$@"`.',
        ),
        _repeatable(
            "data-dir", "A directory the application writes, owned by its user (relative to /app, or absolute)."
        ),
        _value("healthcheck", "The command of a HEALTHCHECK (slim images have no curl: use python -c)."),
        _value(
            "installer",
            "What installs the dependencies in the builder: poetry, or uv from the stub's hashed "
            "requirements.txt, in 15 layers (no Poetry in the builder) [default: poetry].",
        ),
        _repeatable(
            "check-ignore",
            "A distribution whose compiled extensions' shared libraries the image's self-check does not "
            "check: for a library it loads at run time from a path of its own (printed in every build log).",
        ),
        option("check", None, "Write nothing; exit 1 if the file is not up to date."),
        option("force", None, "Overwrite the file even if it was written or edited by hand."),
    ]

    def handle(self) -> int:
        def work(project: Project) -> Result:
            def setting(option: str, key: str | None = None, default: object = None) -> Any:
                return self.setting(project, option, key or option, default)

            stub_dir = stub_directory(
                project.root,
                setting("stub-dir", default=DEFAULT_STUB_DIR),
                self.setting_origin(project, "stub-dir", "stub-dir"),
            )
            options = DockerfileOptions(
                stub_dir=stub_dir,
                selection=self.selection(project),
                python=setting("python"),
                base_image=setting("base-image"),
                runtime_image=setting("runtime-image"),
                entrypoint=setting("entrypoint"),
                syntax=setting("syntax", default=DEFAULT_SYNTAX),
                builder_plugins=tuple(setting("builder-plugin", "builder-plugins", [])),
                build_args=tuple(setting("build-arg", "build-args", [])),
                secret_sources=tuple(setting("secret-source", "secret-sources", [])),
                compile=bool(setting("compile", default=False)),
                stub_stage=bool(setting("stub-stage", default=False)),
                stop_signal=setting("stop-signal"),
                installer=setting("installer", default=DEFAULT_INSTALLER),
                service=ServiceOptions(
                    builder_packages=tuple(setting("builder-package", "builder-packages", [])),
                    runtime_packages=tuple(setting("runtime-package", "runtime-packages", [])),
                    ports=tuple(setting("port", "ports", [])),
                    includes=tuple(setting("include", "include", [])),
                    entrypoint_script=setting("entrypoint-script"),
                    data_dirs=tuple(setting("data-dir", "data-dirs", [])),
                    healthcheck=setting("healthcheck"),
                ),
                check_ignore=tuple(setting("check-ignore", default=[])),
                regenerate_command=self._regenerate_command(),
            )
            return write_dockerfile(
                project,
                options,
                setting("output", "dockerfile", DEFAULT_OUTPUT),
                check=self.option("check"),
                force=self.option("force"),
                output_option=self.setting_origin(project, "output", "dockerfile"),
            )

        return self.run_with_project(work)

    def _regenerate_command(self) -> str:
        """This command line with its options (but not --check/--force), for the file header."""
        words = ["poetry", "docker", "dockerfile"]
        for definition in self.options:
            name = definition.name
            if name in ("check", "force"):
                continue
            value = self.option(name)
            if definition.is_flag():
                if value:
                    words.append(f"--{name}")
            elif definition.is_list():
                words.extend(f"--{name}={item}" for item in value)
            elif value is not None and value != definition.default:
                words.append(f"--{name}={value}")
        return shlex.join(words)
