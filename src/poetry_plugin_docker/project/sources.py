"""The package sources of pyproject.toml, and the rule that their URLs hold no credentials (they
would end up in the stub, the Dockerfile and the image's history)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from poetry_plugin_docker.errors import UserError


def credential_variable(source: str, part: str) -> str:
    """Poetry's environment variable for a source's username or password (Poetry's own rule)."""
    return f"POETRY_HTTP_BASIC_{source.upper().replace('-', '_')}_{part}"


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

