"""What both commands share: loading the project, and turning errors into one line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from cleo.formatters.formatter import Formatter
from cleo.helpers import option
from poetry.console.commands.command import Command

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.project.loading import Project
from poetry_plugin_docker.project.selection import Selection, configured_selection
from poetry_plugin_docker.settings import TABLE

if TYPE_CHECKING:
    from poetry_plugin_docker.result import Result

# The group and extras options both commands take, so that the stub and the
# Dockerfile are chosen the same way (the command line replaces the table's choice).
SELECTION_OPTIONS = [
    option("with", None, "Also install these dependency groups.", flag=False, multiple=True),
    option("without", None, "Do not install these dependency groups.", flag=False, multiple=True),
    option("only", None, "Install only these dependency groups.", flag=False, multiple=True),
    option("extras", "E", "Install these extras.", flag=False, multiple=True),
    option("all-extras", None, "Install all extras."),
]


class DockerCommand(Command):
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

    def setting(self, project: Project, option: str, key: str, default: Any = None) -> Any:
        """An option from the command line, else from [tool.poetry-plugin-docker], else the default."""
        value = self.option(option)
        if value not in (None, [], False):
            return value
        return project.config.get(key, default)

    def setting_origin(self, project: Project, option: str, key: str) -> str:
        """Where `setting` took its value from, as messages name it."""
        if self.option(option) not in (None, [], False) or key not in project.config:
            return f"--{option}"
        return f"{key} in [tool.{TABLE}]"

    def selection(self, project: Project) -> Selection:
        """Groups and extras: the command line's choice replaces the table's as a whole."""
        given = {
            definition.name: self.option(definition.name)
            for definition in SELECTION_OPTIONS
            if self.io.input.has_option(definition.name)
        }
        settings = {}
        for names in (("with", "without", "only"), ("extras", "all-extras")):
            source = given if any(given.get(name) for name in names) else project.config
            settings.update({name: source.get(name) for name in names})
        return configured_selection(project, settings)
