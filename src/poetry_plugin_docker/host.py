"""What the plugin takes from the machine it runs on: Poetry's and the plugin's versions, the Python
running them, and the versions of the distributions installed next to them. `Host.current()` reads
them once; the plan gets them passed in, so that it depends on its inputs alone."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Callable

from poetry_plugin_docker import __version__


def installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def poetry_version() -> str:
    return version("poetry")


def is_poetry_1() -> bool:
    return poetry_version().startswith("1.")


@dataclass(frozen=True)
class Host:
    poetry: str  # the running Poetry's version: the builder installs the same
    plugin: str  # this plugin's version: --stub-stage installs the same in the builder
    python: str  # X.Y of the Python running Poetry: the default image's, when the project allows it
    # A distribution's version next to Poetry (builder plugins named without a version are pinned to it).
    installed: Callable[[str], str | None] = installed_version

    @classmethod
    def current(cls) -> Host:
        return cls(poetry=poetry_version(), plugin=__version__, python="{}.{}".format(*sys.version_info[:2]))

    @property
    def is_poetry_1(self) -> bool:
        return self.poetry.startswith("1.")
