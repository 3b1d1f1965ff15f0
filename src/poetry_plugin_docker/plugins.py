"""Registers the `poetry docker` commands without importing them.

Poetry imports this module on every run, so it stays tiny: each command's
module is imported only when that command runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Callable

from poetry.plugins.application_plugin import ApplicationPlugin

if TYPE_CHECKING:
    from poetry.console.application import Application
    from poetry.console.commands.command import Command

COMMANDS = {
    "docker build-context": ("build_context_command", "BuildContextCommand"),
    "docker dockerfile": ("dockerfile_command", "DockerfileCommand"),
    "docker build": ("build_command", "BuildCommand"),
    "docker publish": ("publish_command", "PublishCommand"),
}


def _factory(module: str, class_name: str) -> Callable[[], Command]:
    def load() -> Command:
        command_module = import_module(f"poetry_plugin_docker.commands.{module}")
        command_class: type[Command] = getattr(command_module, class_name)
        return command_class()

    return load


class DockerApplicationPlugin(ApplicationPlugin):
    def activate(self, application: Application) -> None:
        for name, (module, class_name) in COMMANDS.items():
            application.command_loader.register_factory(name, _factory(module, class_name))
