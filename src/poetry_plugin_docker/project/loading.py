"""What the plugin needs to know about a Poetry project, read once.

Poetry's own objects answer the questions Poetry owns (is the lock fresh,
which groups and extras exist, which Python versions are allowed); the parsed
pyproject.toml answers the rest, identically on every Poetry version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poetry.config.config import Config
from poetry.core.constraints.version import Version, parse_constraint
from poetry.core.factory import Factory
from poetry.packages.locker import Locker

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.host import is_poetry_1, poetry_version
from poetry_plugin_docker.project.sources import (
    has_credentials,
    refuse_credentials_in_source_urls,
    sources,
)
from poetry_plugin_docker.settings import read_table
from poetry_plugin_docker.toml import tomllib

if TYPE_CHECKING:
    from poetry.core.poetry import Poetry as CorePoetry


UNSUPPORTED_SOURCE_TYPES = {"file": "local file"}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            data: dict[str, Any] = tomllib.load(stream)  # tomli, untyped for mypy, on Python < 3.11
            return data
    except FileNotFoundError:
        raise UserError(f"{path} does not exist. Run the command in a Poetry project.") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path} is not valid TOML ({error}). Fix the file and retry.") from None


def explain_load_failure(error: Exception, pyproject: Path) -> UserError:
    """A one-line explanation of why poetry-core could not load the project."""
    reason = " ".join(str(error).split()) or type(error).__name__
    return UserError(f"Poetry cannot load {pyproject}: {reason}. Fix pyproject.toml and retry.")


def _find_pyproject(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    return None


def _check_requires_poetry(pyproject: dict[str, Any], path: Path) -> None:
    """Poetry's own check of [tool.poetry] requires-poetry (its Factory does it; poetry-core's does not)."""
    required = pyproject.get("tool", {}).get("poetry", {}).get("requires-poetry")
    if not required:
        return
    running = poetry_version()
    if not parse_constraint(required).allows(Version.parse(running)):
        raise UserError(
            f"{path} requires Poetry {required} (requires-poetry), but this is Poetry {running}; "
            "the Dockerfile pins the Poetry that generates it. Run it with a matching Poetry."
        )


def _needs_poetry_2(pyproject: Path) -> str:
    return (
        f"{pyproject} uses the PEP 621 [project] table, which needs Poetry 2.0 or newer "
        f"(this is Poetry {poetry_version()}). Upgrade Poetry: poetry self update."
    )


def is_ssh_url(url: str) -> bool:
    """git@host:org/repo.git (scp-like) or ssh://..."""
    return url.startswith("ssh://") or bool(re.match(r"^[\w.-]+@[\w.-]+:", url))


def git_urls(lock_data: dict[str, Any]) -> list[str]:
    """URLs of the git dependencies in a (pruned) lock."""
    return [
        str(package["source"].get("url", ""))
        for package in lock_data.get("package", [])
        if (package.get("source") or {}).get("type") == "git"
    ]


def _locker(lock: Path, pyproject_data: dict[str, Any]) -> Locker:
    """Poetry's own Locker for this lock file and pyproject content, on every Poetry version."""
    if is_poetry_1():
        return Locker(lock, pyproject_data.get("tool", {}).get("poetry", {}))
    return Locker(lock, pyproject_data)


def poetry_content_hash(pyproject_data: dict[str, Any]) -> str:
    """The lock content-hash the running Poetry computes for this pyproject content."""
    return _locker(Path("poetry.lock"), pyproject_data)._get_content_hash()


@dataclass
class Project:
    """A loaded Poetry project whose lock file Poetry accepts."""

    poetry: CorePoetry  # poetry-core's view: the package and its pyproject.toml
    root: Path
    pyproject: dict[str, Any]
    lock: bytes = field(repr=False)

    @classmethod
    def open(cls, directory: Path) -> Project:
        """The project of this directory (or its nearest parent with a pyproject.toml).

        poetry-core's Factory reads the package, and Poetry's Locker checks the lock,
        exactly as Poetry does; Poetry's repositories are not needed and not built,
        which keeps build-context's start-up close to `poetry --version`'s.
        """
        pyproject_path = _find_pyproject(directory)
        if pyproject_path is None:
            raise UserError(
                f"No pyproject.toml in {directory} or its parents. "
                "Run the command inside a Poetry project."
            )
        pyproject = read_toml(pyproject_path)
        if "project" in pyproject and is_poetry_1():
            raise UserError(_needs_poetry_2(pyproject_path))
        _check_requires_poetry(pyproject, pyproject_path)
        try:
            poetry = Factory().create_poetry(pyproject_path.parent)
        except Exception as error:  # poetry-core's validation of pyproject.toml
            raise explain_load_failure(error, pyproject_path) from None
        refuse_credentials_in_source_urls(pyproject)
        lock_path = pyproject_path.parent / "poetry.lock"
        if not lock_path.is_file():
            raise UserError(
                f"No poetry.lock next to {pyproject_path}. Run `poetry lock` and retry."
            )
        if not _locker(lock_path, pyproject).is_fresh():
            raise UserError(
                "poetry.lock is out of date with pyproject.toml. Run `poetry lock` and retry."
            )
        project = cls(poetry, pyproject_path.parent, pyproject, lock_path.read_bytes())
        project.refuse_unsupported_sources()
        project.config  # noqa: B018 - a bad [tool.poetry-plugin-docker] table fails early
        return project

    def poetry_setting(self, key: str) -> Any:
        """A value of Poetry's configuration here: its config and auth files, then poetry.toml."""
        try:
            return self._poetry_config.get(key)
        except Exception:  # an older Poetry without that key
            return None

    @cached_property
    def _poetry_config(self) -> Any:
        config = Config.create()
        local = self.root / "poetry.toml"
        if local.is_file():
            config.merge(read_toml(local))
        return config

    @cached_property
    def config(self) -> dict[str, Any]:
        return read_table(self.pyproject)

    @property
    def required_plugins(self) -> list[str]:
        """[tool.poetry.requires-plugins] as pip requirements (name, then constraint)."""
        plugins = self.pyproject.get("tool", {}).get("poetry", {}).get("requires-plugins", {})
        requirements = []
        for name, constraint in plugins.items():
            dependency = Factory.create_dependency(name, constraint)
            requirements.append(dependency.to_pep_508().replace(" (", "").replace(")", "", 1))
        return requirements

    @cached_property
    def lock_data(self) -> dict[str, Any]:
        data: dict[str, Any] = tomllib.loads(self.lock.decode("utf-8"))
        return data

    def refuse_unsupported_sources(self) -> None:
        for package in self.lock_data.get("package", []):
            source = package.get("source") or {}
            kind = UNSUPPORTED_SOURCE_TYPES.get(source.get("type", ""))
            if kind:
                raise UserError(
                    f"{package['name']} is a {kind} dependency ({source.get('url')}); "
                    "local-file dependencies are not supported yet by poetry-plugin-docker. "
                    "Publish it to an index, or use a path dependency on its source directory."
                )
            if source.get("type") == "git" and has_credentials(str(source.get("url", ""))):
                raise UserError(
                    f"The git URL of {package['name']} in poetry.lock holds credentials; use an SSH "
                    "URL (built with `docker build --ssh default`) and run `poetry lock` again."
                )

    @property
    def sources(self) -> list[dict[str, Any]]:
        return sources(self.pyproject)

    @property
    def name(self) -> str:
        return str(self.poetry.package.name)

    @property
    def version(self) -> str:
        return self.poetry.package.version.text

    @property
    def description(self) -> str:
        return self.poetry.package.description or ""

    @property
    def license(self) -> str | None:
        """The license as an SPDX identifier or short name; None for a license file or long text,
        which poetry-core reads in whole (a label holds a name, not the license's text)."""
        declared = self.pyproject.get("project", {}).get("license")
        if isinstance(declared, dict) and "file" in declared:
            return None
        license_ = self.poetry.package.license
        identifier = str(license_.id).strip() if license_ else ""
        if not identifier or "\n" in identifier or len(identifier) > 100:
            return None
        return identifier

    @property
    def source_url(self) -> str | None:
        package = self.poetry.package
        return package.repository_url or package.homepage

    @property
    def is_package_mode(self) -> bool:
        return bool(getattr(self.poetry, "is_package_mode", True))

    @property
    def group_names(self) -> set[str]:
        # As declared: poetry-core 1.x does not canonicalize group names ("runtime_extra").
        names: set[str] = set(self.poetry.package.dependency_group_names(include_optional=True))
        names.add("main")
        return names

    @property
    def has_main_group(self) -> bool:
        """Whether the project declares runtime dependencies (Poetry has no main group without)."""
        return "main" in self.poetry.package.dependency_group_names(include_optional=True)

    @property
    def extra_names(self) -> list[str]:
        return sorted(str(name) for name in self.poetry.package.extras)

    @property
    def python_constraint(self) -> Any:
        return self.poetry.package.python_constraint

    @property
    def scripts(self) -> list[str]:
        """Names of the console scripts the project installs, in declaration order."""
        project_scripts = self.pyproject.get("project", {}).get("scripts", {})
        poetry_scripts = self.pyproject.get("tool", {}).get("poetry", {}).get("scripts", {})
        return list(dict.fromkeys([*project_scripts, *poetry_scripts]))

    @property
    def readme_files(self) -> list[str]:
        project_readme = self.pyproject.get("project", {}).get("readme")
        poetry_readme = self.pyproject.get("tool", {}).get("poetry", {}).get("readme")
        readmes: list[str] = []
        for readme in (project_readme, poetry_readme):
            if isinstance(readme, str):
                readmes.append(readme)
            elif isinstance(readme, list):
                readmes.extend(readme)
            elif isinstance(readme, dict) and "file" in readme:
                readmes.append(readme["file"])
        return list(dict.fromkeys(readmes))
