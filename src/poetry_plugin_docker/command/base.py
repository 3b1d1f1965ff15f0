"""What both commands share: loading the project, and turning errors into one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from cleo.formatters.formatter import Formatter
from poetry.console.commands.command import Command

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.project import Project, explain_load_failure
from poetry_plugin_docker.result import Result


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
        try:
            poetry = self.poetry
        except Exception as error:  # Poetry's own errors loading pyproject.toml
            raise explain_load_failure(error, self._start_directory()) from None
        return Project.load(poetry)

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
