"""What the commands share: their options from the settings table, loading the project, reading
the settings once, and turning errors into one line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from cleo.formatters.formatter import Formatter
from cleo.helpers import argument, option
from poetry.console.commands.command import Command

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.project.loading import Project
from poetry_plugin_docker.settings import SETTINGS, Settings, read_settings

if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option

    from poetry_plugin_docker.result import Result


def setting_options(command: str) -> list[Option]:
    """The cleo options of `command`, from the settings table: a boolean gets --X and --no-X (which
    says false over the table's true); no cleo defaults, so that an option not given falls back to
    [tool.poetry-plugin-docker]."""
    options = []
    for setting in SETTINGS:
        flag = setting.flags.get(command)
        if flag is None:
            continue
        shown_default = setting.default not in (None, [], False)
        described = f"{setting.help} [default: {setting.default}]" if shown_default else setting.help
        if setting.kind is bool:
            options.append(option(flag, setting.shortcuts.get(command), described))
            options.append(option(f"no-{flag}", None, f"Not --{flag}, whatever [tool.poetry-plugin-docker] says."))
        else:
            multiple = setting.kind is list
            shortcut = setting.shortcuts.get(command)
            options.append(option(flag, shortcut, described, flag=False, multiple=multiple))
    return options


def docker_args_argument(when: str) -> Argument:
    """The arguments after `--` that go to `docker build` (`when`: in which case it runs)."""
    return argument(
        "docker-args", f"More arguments for docker build{when} (after --), e.g. -- --network=host",
        optional=True, multiple=True,
    )  # fmt: skip


class DockerCommand(Command):
    # The settings table's name for this command (settings.BUILD_CONTEXT, ...).
    settings_command = ""

    def run_with_project(self, work: Callable[[Project], Result]) -> int:
        try:
            result = work(self._load_project())
        except UserError as error:
            self.line_error(f"<error>{Formatter.escape(str(error))}</error>")
            return 1
        if result.ok:
            self.line(Formatter.escape(result.message))
            return 0
        self.line_error(f"<error>{Formatter.escape(result.message)}</error>")
        return 1

    def _load_project(self) -> Project:
        return Project.open(self._start_directory())

    def _start_directory(self) -> Path:
        directory = getattr(self.application, "project_directory", None)
        if directory is None and self.io.input.has_option("directory"):
            directory = self.io.input.option("directory")
        return Path(directory or Path.cwd()).resolve()

    def settings(self, project: Project) -> Settings:
        """This run's settings: the command line over [tool.poetry-plugin-docker] over the defaults."""
        given: dict[str, Any] = {}
        for setting in SETTINGS:
            flag = setting.flags.get(self.settings_command)
            if flag is None:
                continue
            if setting.kind is bool:
                given[flag] = True if self.option(flag) else (False if self.option(f"no-{flag}") else None)
            else:
                given[flag] = self.option(flag)
        return read_settings(project.root, project.config, self.settings_command, given)
