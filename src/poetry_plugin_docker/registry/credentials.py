"""The credentials Docker would use for a registry, read as the Docker CLI reads them.

`$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`): a credential helper named for the
registry in `credHelpers`, else the global `credsStore`, is asked with
`docker-credential-NAME get` (the server address on stdin, JSON on stdout); otherwise the
`auths` entry (base64 `auth` "user:password", or `username`/`password`, and `identitytoken`).
Docker Hub's key is `https://index.docker.io/v1/`; any other registry's is its host[:port].

No secret ever goes into a message: errors name the file, the key or the helper, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poetry_plugin_docker.errors import UserError

if TYPE_CHECKING:
    from collections.abc import Mapping

DOCKER_HUB = "docker.io"
# The key under which `docker login` (no argument) stores Docker Hub's credentials.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
# What a credential helper prints (and docker-credential-helpers' "not found" message).
_NOT_FOUND = "credentials not found"
_IDENTITY_TOKEN_USER = "<token>"


@dataclass(frozen=True)
class Credentials:
    """A username and password, or an identity token (an OAuth2 refresh token; Docker stores
    it with the username `<token>`). `source` says where they came from, for messages."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    source: str = ""

    def __bool__(self) -> bool:
        return bool(self.username or self.password or self.identity_token)


def server_key(registry: str) -> str:
    """The key Docker files the credentials of `registry` (host[:port]) under."""
    return DOCKER_HUB_KEY if registry in _DOCKER_HUB_HOSTS else registry


def login_command(registry: str) -> str:
    return "docker login" if registry in _DOCKER_HUB_HOSTS else f"docker login {registry}"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    directory = environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".docker" / "config.json"


def load_credentials(registry: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials Docker would send to `registry` (host[:port], "docker.io" for Docker Hub),
    or None (anonymous). Raises UserError for an unreadable config or a failing helper."""
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    config = _read_config(path)
    key = server_key(registry)
    helpers = config.get("credHelpers")
    helper = helpers.get(key) if isinstance(helpers, dict) else None
    if helper is None and isinstance(helpers, dict) and key == DOCKER_HUB_KEY:
        helper = next((helpers[host] for host in _DOCKER_HUB_HOSTS if host in helpers), None)
    if not helper:
        helper = config.get("credsStore")
    if helper:
        if not isinstance(helper, str):
            raise UserError(f"{path}: the credential helper for {key} is not a name")
        return _from_helper(helper, key, path, environ)
    return _from_auths(config, registry, key, path)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise UserError(f"cannot read the Docker config {path}: {error.strerror}") from None
    try:
        config = json.loads(text)
    except ValueError:
        raise UserError(f"the Docker config {path} is not valid JSON; fix it, or remove it and log in again") from None
    if not isinstance(config, dict):
        raise UserError(f"the Docker config {path} is not a JSON object")
    return config


def _hostname(key: str) -> str:
    """Docker's ConvertToHostname: "https://host:port/v1/" -> "host:port"."""
    for prefix in ("http://", "https://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return key.split("/", 1)[0]


def _from_auths(config: dict[str, Any], registry: str, key: str, path: Path) -> Credentials | None:
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return None
    entry_key = key if key in auths else None
    if entry_key is None:
        wanted = _DOCKER_HUB_HOSTS if key == DOCKER_HUB_KEY else (registry,)
        entry_key = next((candidate for candidate in auths if _hostname(candidate) in wanted), None)
    entry = auths.get(entry_key) if entry_key is not None else None
    if not isinstance(entry, dict):
        return None
    username, password = entry.get("username") or "", entry.get("password") or ""
    encoded = entry.get("auth")
    if encoded:
        try:
            decoded = base64.b64decode(str(encoded), validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" not in decoded:
            raise UserError(f"{path}: auths.{entry_key}.auth is not base64 of USER:PASSWORD; log in again with "
                            f"{login_command(registry)}")
        username, password = decoded.split(":", 1)
    identity_token = entry.get("identitytoken") or ""
    credentials = Credentials(str(username), str(password), str(identity_token), source=str(path))
    return credentials or None


def _from_helper(helper: str, key: str, path: Path, environ: Mapping[str, str]) -> Credentials | None:
    program = f"docker-credential-{helper}"
    if "/" in helper or os.sep in helper:
        raise UserError(f"{path}: the credential helper name {helper!r} for {key} contains a path separator")
    try:
        result = subprocess.run([program, "get"], input=key, capture_output=True, text=True, timeout=120,
                                env=dict(environ), check=False)
    except FileNotFoundError:
        raise UserError(f"{path} names the credential helper {program} for {key}, but it is not on PATH; "
                        "install it or remove it from the config") from None
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = "timed out" if isinstance(error, subprocess.TimeoutExpired) else error.strerror
        raise UserError(f"the credential helper {program} failed for {key}: {reason}") from None
    if result.returncode != 0:
        output = (result.stdout.strip() or result.stderr.strip())
        if _NOT_FOUND in output.lower():
            return None
        raise UserError(f"the credential helper {program} failed for {key} (exit status {result.returncode})"
                        f"{': ' + _first_line(output) if output and not _looks_like_json(output) else ''}")
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise UserError(f"the credential helper {program} did not print a JSON object for {key}")
    username, secret = str(answer.get("Username") or ""), str(answer.get("Secret") or "")
    if username == _IDENTITY_TOKEN_USER:
        return Credentials(username, identity_token=secret, source=program) if secret else None
    credentials = Credentials(username, secret, source=program)
    return credentials or None


def _looks_like_json(text: str) -> bool:
    return text.lstrip().startswith(("{", "["))


def _first_line(text: str, limit: int = 200) -> str:
    line = text.splitlines()[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
