"""Package-index credentials: found where Poetry finds them, given to the build as BuildKit secrets.

They never reach the stub, the Dockerfile or an image layer: a source URL or git URL
that embeds them is refused, and the Dockerfile maps a secret file to Poetry's
variables for the dependency install only.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from poetry_plugin_docker.errors import UserError

if TYPE_CHECKING:
    from poetry_plugin_docker.project.loading import Project


def credential_variable(source: str, part: str) -> str:
    """Poetry's environment variable for a source's username or password (Poetry's own rule)."""
    return f"POETRY_HTTP_BASIC_{source.upper().replace('-', '_')}_{part}"


def secret_id(source: str) -> str:
    """The BuildKit secret that holds `username:password` for a package source."""
    return re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-") + "-credentials"


def has_credentials(url: str) -> bool:
    parts = urlsplit(url)
    # ssh://git@host/... names a user, not a secret; a password or token is one.
    return bool(parts.password or (parts.username and parts.scheme in ("http", "https")))


def sources(pyproject: dict[str, Any]) -> list[dict[str, Any]]:
    """The [[tool.poetry.source]] tables."""
    found = pyproject.get("tool", {}).get("poetry", {}).get("source", [])
    return [source for source in found if isinstance(source, dict)]


def refuse_credentials_in_source_urls(pyproject: dict[str, Any]) -> None:
    for source in sources(pyproject):
        if has_credentials(str(source.get("url", ""))):
            name = str(source.get("name", "?"))
            raise UserError(
                f"The URL of source '{name}' in pyproject.toml holds credentials; remove them "
                f"and give them to Poetry as {credential_variable(name, 'USERNAME')} and "
                f"{credential_variable(name, 'PASSWORD')} (they would end up in the stub)."
            )


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
