"""A registry client on `requests`: image references, manifests, blobs, cross-repository mounts.

Distribution spec v1.1 (Docker Registry HTTP API v2). Credentials are sent only after the
registry asks for them (a 401 with `WWW-Authenticate`): Basic, or Bearer tokens fetched from
the challenge's realm per scope. Plain HTTP only for loopback registries, HTTPS otherwise.
Every failure is a `RegistryError` (a `UserError`): one line naming the registry and what to
do, never a token, password or header.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, NoReturn, Union
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.registry.credentials import DOCKER_HUB, Credentials, load_credentials, login_command

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

logger = logging.getLogger(__name__)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPES = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)
INDEX_MEDIA_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)

DOCKER_HUB_API = "registry-1.docker.io"
USER_AGENT = "poetry-plugin-docker"
Blob = Union[bytes, Path]
# Go's ProxyFromEnvironment never proxies loopback; nor does this client (None drops an environment proxy).
_NO_PROXIES: dict[str, Any] = {"http": None, "https": None, "all": None}

# distribution/reference's grammar (regexp.go).
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_REPOSITORY = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_MAX_NAME = 255

_RULES = {
    "empty": "an image reference is [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST]",
    "lowercase": "the repository name must be lowercase",
    "repository": "the repository name is lowercase letters and digits in parts separated by '/', "
    "each part's words joined by '.', '_', '__' or dashes",
    "registry": "the registry is a host name, an IPv4 address or a bracketed IPv6 address, with an optional :PORT",
    "tag": "a tag is at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
    "digest": "a digest is ALGORITHM:HEX, for sha256 exactly 64 lowercase hex digits",
    "long": f"the repository name (with the registry) is at most {_MAX_NAME} characters",
}


class RegistryError(UserError):
    """A registry request failed; the message is one line and carries no secret.

    `status` is the HTTP status (None for a connection error), `code` the registry's first
    error code (MANIFEST_BLOB_UNKNOWN, DENIED, ...) when it sent one."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _invalid(text: str, rule: str) -> UserError:
    return UserError(f"invalid image reference {text!r}: {_RULES[rule]}")


@dataclass(frozen=True)
class Reference:
    """`registry/repository[:tag][@digest]`, normalized as Docker does: "docker.io" for no
    registry, "library/NAME" for Docker Hub's single names, tag "latest" when neither a tag
    nor a digest is given."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        if not text or text != text.strip():
            raise _invalid(text, "empty")
        name, digest = text, None
        if "@" in text:
            name, digest = text.split("@", 1)
            if not _DIGEST.fullmatch(digest) or (digest.startswith("sha256:") and not _SHA256.fullmatch(digest)):
                raise _invalid(text, "digest")
        tag = None
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = name.rsplit(":", 1)
            if not _TAG.fullmatch(tag):
                raise _invalid(text, "tag")
        if not name:
            raise _invalid(text, "empty")
        first, slash, rest = name.partition("/")
        if slash and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
            registry, repository = first, rest
            if not _DOMAIN.fullmatch(registry):
                raise _invalid(text, "registry")
        else:
            registry, repository = DOCKER_HUB, name
        if registry == "index.docker.io":
            registry = DOCKER_HUB
        if registry == DOCKER_HUB and "/" not in repository:
            repository = f"library/{repository}"
        if not _REPOSITORY.fullmatch(repository):
            raise _invalid(text, "lowercase" if repository.lower() != repository else "repository")
        if len(name) > _MAX_NAME:
            raise _invalid(text, "long")
        return cls(registry, repository, tag if tag is not None or digest is not None else "latest", digest)

    @property
    def reference(self) -> str:
        """What goes after /manifests/: the digest if there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        return (f"{self.registry}/{self.repository}" + (f":{self.tag}" if self.tag else "")
                + (f"@{self.digest}" if self.digest else ""))


@dataclass(frozen=True)
class Manifest:
    content: bytes
    media_type: str
    digest: str

    @property
    def is_index(self) -> bool:
        """A manifest list or an OCI index (entries per platform), not an image manifest."""
        return self.media_type in INDEX_MEDIA_TYPES


def sha256_digest(data: Blob) -> str:
    hasher = hashlib.sha256()
    if isinstance(data, Path):
        with data.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
    else:
        hasher.update(data)
    return f"sha256:{hasher.hexdigest()}"


def is_loopback(registry: str) -> bool:
    """127.0.0.0/8, ::1 or localhost, with or without a port."""
    host = registry
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Challenge:
    """One challenge of a WWW-Authenticate header; parameter names lowercased."""

    scheme: str  # "basic" or "bearer"
    params: dict[str, str]


def parse_challenges(header: str) -> list[Challenge]:
    """The challenges of a WWW-Authenticate header (RFC 7235): `Bearer realm="...",scope="a,b"`."""
    challenges: list[Challenge] = []
    token = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*')
    position = 0
    while position < len(header):
        if header[position] in ", ":
            position += 1
            continue
        match = token.match(header, position)
        if not match:
            break
        name, position = match.group(1), match.end()
        if position < len(header) and header[position] == "=" and challenges:
            position += 1
            if header.startswith('"', position):
                value, position = _quoted(header, position)
            else:
                end = header.find(",", position)
                end = len(header) if end < 0 else end
                value, position = header[position:end].strip(), end
            challenges[-1].params[name.lower()] = value
        else:
            challenges.append(Challenge(name.lower(), {}))
    return challenges


def _quoted(header: str, position: int) -> tuple[str, int]:
    value, position = [], position + 1
    while position < len(header) and header[position] != '"':
        if header[position] == "\\" and position + 1 < len(header):
            position += 1
        value.append(header[position])
        position += 1
    return "".join(value), position + 1


def repository_scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


def merge_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """One scope per resource with the union of its actions: "repository:a:push,pull" and
    "repository:a:pull" -> "repository:a:pull,push" (a registry's challenge orders them freely)."""
    actions: dict[str, set[str]] = {}
    for scope in scopes:
        resource, _, names = scope.rpartition(":")
        if not resource:
            resource, names = scope, ""
        actions.setdefault(resource, set()).update(name for name in names.split(",") if name)
    order = {"pull": 0, "push": 1}
    return frozenset(f"{resource}:{','.join(sorted(names, key=lambda n: (order.get(n, 2), n)))}"
                     for resource, names in actions.items())


class _NoNetrc(requests.auth.AuthBase):
    """Set as the session's auth, so that requests never adds ~/.netrc credentials unasked."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class RegistryClient:
    """One registry (host[:port], or "docker.io"); repositories are given per call.

    `credentials`: None reads Docker's (config.json, helpers) when the registry first asks;
    `Credentials()` stays anonymous. Use as a context manager, or call close()."""

    def __init__(self, registry: str, credentials: Credentials | None = None, *,
                 environ: Mapping[str, str] | None = None, timeout: float = 300.0) -> None:
        self.registry = DOCKER_HUB if registry in ("index.docker.io", DOCKER_HUB_API) else registry
        host = DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry
        self.base_url = f"{'http' if is_loopback(host) else 'https'}://{host}"
        self._credentials = credentials
        self._credentials_loaded = credentials is not None
        self._environ = environ
        self._timeout = (30.0, timeout)
        self._challenge: Challenge | None = None
        self._tokens: dict[frozenset[str], tuple[str, float]] = {}
        self._session = requests.Session()
        self._session.auth = _NoNetrc()
        self._session.headers["User-Agent"] = USER_AGENT
        self._proxies = _NO_PROXIES if is_loopback(host) else None

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # ---- operations ---------------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest (image manifest, manifest list or OCI index) of a tag or digest."""
        response = self._request("GET", f"/v2/{repository}/manifests/{reference}", repository,
                                 [repository_scope(repository, "pull")],
                                 headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)})
        if response.status_code == 404:
            response.close()
            raise RegistryError(f"{self._name(repository, reference)} does not exist", 404, self._code(response))
        self._expect(response, (200,), "read the manifest of", repository, reference)
        content: bytes = response.content
        digest = sha256_digest(content)
        if reference.startswith("sha256:") and reference != digest:
            raise RegistryError(f"registry {self.registry} sent a manifest for {self._name(repository, reference)} "
                                f"whose digest is {digest}")
        media_type = str(response.headers.get("Content-Type", "")).split(";", 1)[0].strip()
        if media_type not in MANIFEST_MEDIA_TYPES:
            media_type = _media_type_of(content) or media_type
        return Manifest(content, media_type, digest)

    def get_blob(self, repository: str, digest: str) -> bytes:
        """A blob's bytes (an image config), checked against its digest."""
        response = self._request("GET", f"/v2/{repository}/blobs/{digest}", repository,
                                 [repository_scope(repository, "pull")])
        if response.status_code == 404:
            response.close()
            raise RegistryError(f"blob {digest} does not exist in {self._name(repository)}", 404)
        self._expect(response, (200,), "read a blob of", repository)
        content: bytes = response.content
        if digest.startswith("sha256:") and sha256_digest(content) != digest:
            raise RegistryError(f"registry {self.registry} sent a blob for {digest} with another digest")
        return content

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", repository,
                                 [repository_scope(repository, "pull")])
        response.close()
        if response.status_code == 404:
            return False
        self._expect(response, (200,), "look up a blob in", repository)
        return True

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Mount a blob of another repository of this registry: True if mounted, False if the
        registry declined (the caller then uploads it; the opened upload is cancelled)."""
        response = self._request(
            "POST", f"/v2/{repository}/blobs/uploads/?{urlencode({'mount': digest, 'from': from_repository})}",
            repository, [repository_scope(repository, "pull,push"), repository_scope(from_repository, "pull")],
        )
        response.close()
        if response.status_code == 201:
            return True
        self._expect(response, (202,), "mount a blob into", repository)
        location = response.headers.get("Location")
        if location:
            # Best effort, with the token at hand: a registry that wants a `delete` scope for it
            # (distribution does) refuses, and purges the idle session itself later.
            with contextlib.suppress(RegistryError):
                self._request("DELETE", location, repository, [repository_scope(repository, "pull,push")],
                              answer_challenge=False).close()
        return False

    def upload_blob(self, repository: str, data: Blob, digest: str | None = None) -> str:
        """Upload bytes or a file's contents (POST, then one PUT ?digest=); returns the digest."""
        digest = digest or sha256_digest(data)
        scopes = [repository_scope(repository, "pull,push")]
        response = self._request("POST", f"/v2/{repository}/blobs/uploads/", repository, scopes)
        response.close()
        self._expect(response, (202,), "start an upload to", repository)
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"registry {self.registry} started an upload to {repository} without a Location")
        size = data.stat().st_size if isinstance(data, Path) else len(data)
        response = self._request(
            "PUT", _with_query(location, digest=digest), repository, scopes,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            body=lambda: data.open("rb") if isinstance(data, Path) else data,
        )
        response.close()
        self._expect(response, (201,), "upload a blob to", repository)
        stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise RegistryError(f"registry {self.registry} stored the blob {digest} of {repository} as {stored}")
        return digest

    def put_manifest(self, repository: str, reference: str, content: bytes, media_type: str) -> str:
        """PUT a manifest under a tag (or its digest); returns its digest."""
        digest = sha256_digest(content)
        response = self._request("PUT", f"/v2/{repository}/manifests/{reference}", repository,
                                 [repository_scope(repository, "pull,push")],
                                 headers={"Content-Type": media_type}, body=lambda: content)
        response.close()
        self._expect(response, (201,), "put a manifest into", repository, reference)
        stored = response.headers.get("Docker-Content-Digest")
        if stored and stored.startswith("sha256:") and stored != digest:
            raise RegistryError(f"registry {self.registry} stored the manifest {self._name(repository, reference)} "
                                f"as {stored}, not {digest}")
        return digest

    # ---- requests and authentication ----------------------------------------------------

    def _request(self, method: str, path: str, repository: str, scopes: Iterable[str], *,
                 headers: Mapping[str, str] | None = None,
                 body: Callable[[], bytes | IO[bytes]] | None = None,
                 answer_challenge: bool = True) -> requests.Response:
        """Send a request, answering one 401 challenge; returns the response (any other status)."""
        url = urljoin(self.base_url + "/", path)
        wanted = merge_scopes(scopes)
        for attempt in (1, 2):
            request_headers = dict(headers or {})
            authorization = self._authorization(wanted)
            if authorization:
                request_headers["Authorization"] = authorization
            data = body() if body else None
            try:
                response = self._session.request(method, url, headers=request_headers, data=data,
                                                 timeout=self._timeout, allow_redirects=True, proxies=self._proxies)
            except requests.RequestException as error:
                raise RegistryError(f"cannot reach registry {self.registry} ({self.base_url}): "
                                    f"{_connection_reason(error)}") from None
            finally:
                if data is not None and not isinstance(data, bytes):
                    data.close()
            logger.debug("%s %s -> %s", method, urlsplit(url).path, response.status_code)
            if response.status_code != 401 or not answer_challenge:
                return response
            response.close()
            challenges = parse_challenges(str(response.headers.get("WWW-Authenticate", "")))
            challenge = next((c for c in challenges if c.scheme == "bearer" and "realm" in c.params),
                             next((c for c in challenges if c.scheme == "basic"), None))
            if attempt == 2 or challenge is None or (challenge.scheme == "basic" and not self._get_credentials()):
                self._refused(response, repository)
            self._challenge = challenge
            self._tokens.pop(wanted, None)
            if challenge.scheme == "bearer":
                extra = challenge.params.get("scope", "").split()
                self._tokens[wanted] = self._fetch_token(challenge, merge_scopes([*wanted, *extra]))
        raise AssertionError("unreachable")

    def _authorization(self, scopes: frozenset[str]) -> str | None:
        challenge = self._challenge
        if challenge is None:
            return None  # never unasked
        if challenge.scheme == "basic":
            credentials = self._get_credentials()
            return _basic(credentials.username, credentials.password) if credentials else None
        token = self._tokens.get(scopes)
        if token is None or token[1] <= time.monotonic():
            token = self._tokens[scopes] = self._fetch_token(challenge, scopes)
        return f"Bearer {token[0]}"

    def _get_credentials(self) -> Credentials | None:
        if not self._credentials_loaded:
            self._credentials = load_credentials(self.registry, self._environ)
            self._credentials_loaded = True
        return self._credentials or None

    def _fetch_token(self, challenge: Challenge, scopes: Iterable[str]) -> tuple[str, float]:
        realm = challenge.params["realm"]
        credentials = self._get_credentials()
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(f"registry {self.registry} names a token server that is not an HTTP(S) URL")
        host = parts.netloc.rsplit("@", 1)[-1]
        origin = f"{parts.scheme}://{host}"  # never the userinfo of a realm URL
        if credentials and parts.scheme != "https" and not is_loopback(host):
            raise RegistryError(f"registry {self.registry} asks for credentials at a plain-HTTP token server "
                                f"({origin}); refusing to send them unencrypted")
        service = challenge.params.get("service")
        scope_list = sorted(set(scopes))
        proxies = _NO_PROXIES if is_loopback(host) else None
        try:
            if credentials and credentials.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": credentials.identity_token,
                        "client_id": USER_AGENT, "scope": " ".join(scope_list)}
                if service:
                    form["service"] = service
                response = self._session.post(realm, data=form, timeout=self._timeout, proxies=proxies)
            else:
                params: list[tuple[str, str]] = [("service", service)] if service else []
                params += [("scope", scope) for scope in scope_list]
                auth = None
                if credentials:
                    params.append(("account", credentials.username))
                    auth = (credentials.username, credentials.password)
                response = self._session.get(realm, params=params, auth=auth, timeout=self._timeout, proxies=proxies)
        except requests.RequestException as error:
            raise RegistryError(f"cannot reach the token server of registry {self.registry} "
                                f"({origin}): {_connection_reason(error)}") from None
        status = response.status_code
        response.close()
        if status in (401, 403):
            raise RegistryError(
                f"the token server of registry {self.registry} refused "
                f"{_credentials_from(credentials) if credentials else 'anonymous access'} "
                f"({status}); log in with `{login_command(self.registry)}`", status)
        if status != 200:
            raise RegistryError(f"the token server of registry {self.registry} answered {status} ({origin})", status)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        token = (answer.get("token") or answer.get("access_token")) if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token server of registry {self.registry} sent no token")
        expires_in = answer.get("expires_in") if isinstance(answer, dict) else None
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 60.0
        logger.debug("token for %s from %s", " ".join(scope_list), origin)
        return token, time.monotonic() + lifetime * 0.9

    # ---- errors -------------------------------------------------------------------------

    def _name(self, repository: str, reference: str | None = None) -> str:
        if reference is None:
            return f"{self.registry}/{repository}"
        return f"{self.registry}/{repository}{'@' if ':' in reference else ':'}{reference}"

    @staticmethod
    def _code(response: requests.Response) -> str | None:
        return _registry_error(response)[0]

    def _refused(self, response: requests.Response, repository: str) -> NoReturn:
        code, message = _registry_error(response)
        detail = f"{response.status_code} {code}: {message}" if code else str(response.status_code)
        credentials = self._get_credentials()
        challenge = next(iter(parse_challenges(str(response.headers.get("WWW-Authenticate", "")))), None)
        if credentials and challenge and challenge.params.get("error") == "insufficient_scope":
            actions = sorted(scope for scope in challenge.params.get("scope", "").split() if f":{repository}:" in scope)
            wanted = f" ({', '.join(actions)})" if actions else ""
            what = f"does not grant {_credentials_from(credentials)} the access{wanted} needed for {repository}"
        elif credentials:
            what = f"refused {_credentials_from(credentials)} for {repository}"
        else:
            what = f"needs credentials for {repository}"
        raise RegistryError(f"registry {self.registry} {what} ({detail}); log in with "
                            f"`{login_command(self.registry)}`", response.status_code, code)

    def _expect(self, response: requests.Response, statuses: tuple[int, ...], action: str, repository: str,
                reference: str | None = None) -> None:
        status: int = response.status_code
        if status in statuses:
            return
        code, message = _registry_error(response)
        detail = f"{status} {code}: {message}" if code else str(status)
        target = self._name(repository, reference)
        if status == 403:
            raise RegistryError(f"registry {self.registry} denied the access needed to {action} {target} ({detail}); "
                                f"check the account's permissions there, or log in as another with "
                                f"`{login_command(self.registry)}`", status, code)
        raise RegistryError(f"registry {self.registry} could not {action} {target} ({detail})", status, code)


def _credentials_from(credentials: Credentials) -> str:
    return f"the credentials from {credentials.source}" if credentials.source else "the credentials given"


def _registry_error(response: requests.Response) -> tuple[str | None, str]:
    """The first (code, message) of a registry's error body {"errors": [...]}, or (None, "")."""
    try:
        body = response.json()
    except ValueError:  # not the error JSON
        return None, ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None, ""
    code, message = errors[0].get("code"), errors[0].get("message")
    return (str(code) if code else None), _one_line(str(message or ""))


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _connection_reason(error: Exception) -> str:
    """A short reason for a connection failure (requests' own messages repeat URLs and pools)."""
    text = str(error)
    for pattern in (r"\[Errno -?\d+\] [^'\")\]]+", r"certificate verify failed[^'\")\]]*", r"[Rr]ead timed out"):
        match = re.search(pattern, text)
        if match:
            return _one_line(match.group(0).rstrip(" ."))
    return type(error).__name__


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _media_type_of(content: bytes) -> str | None:
    try:
        document = json.loads(content)
    except ValueError:
        return None
    media_type = document.get("mediaType") if isinstance(document, dict) else None
    return media_type if isinstance(media_type, str) else None
