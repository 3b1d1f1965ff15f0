"""Package-index credentials: found where Poetry finds them, given to the build as BuildKit secrets.

They never reach the stub, the Dockerfile or an image layer: a source URL or git URL
that embeds them is refused, and the Dockerfile maps a secret file to Poetry's
variables for the dependency install only.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.project.sources import credential_variable, sources

if TYPE_CHECKING:
    from poetry_plugin_docker.project.loading import Project


def secret_id(source: str) -> str:
    """The BuildKit secret that holds `username:password` for a package source."""
    return re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-") + "-credentials"


def sources_with_local_credentials(project: Project) -> list[str]:
    """Sources Poetry has credentials for here (environment or Poetry's config)."""
    found = []
    for source in sources(project.pyproject):
        name = str(source.get("name", ""))
        if os.environ.get(credential_variable(name, "USERNAME")) or _configured(project, name, "username"):
            found.append(name)
    return found


def secret_file_content(project: Project, secret: str, environ: dict[str, str]) -> str:
    """`username:password` of the source whose BuildKit secret this is, from the environment or Poetry's config."""
    for source in sources(project.pyproject):
        name = str(source.get("name", ""))
        if secret_id(name) != secret:
            continue
        username = environ.get(credential_variable(name, "USERNAME")) or _configured(project, name, "username")
        password = environ.get(credential_variable(name, "PASSWORD")) or _configured(project, name, "password")
        if not (username and password):
            raise UserError(
                f"Source '{name}' needs credentials for the build: set "
                f"{credential_variable(name, 'USERNAME')} and {credential_variable(name, 'PASSWORD')}."
            )
        return f"{username}:{password}"
    raise UserError(
        f"The Dockerfile mounts the secret {secret}, which matches no source in pyproject.toml. "
        "Regenerate it with `poetry docker dockerfile`."
    )


def _configured(project: Project, source: str, part: str) -> str | None:
    """A credential from Poetry's configuration (`poetry config http-basic.<source>`)."""
    value = project.poetry_setting(f"http-basic.{source}.{part}")
    return str(value) if value else None

