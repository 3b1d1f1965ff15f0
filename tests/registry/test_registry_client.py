"""The registry client against real registries (Debian's docker-registry on loopback): without
auth, with htpasswd Basic auth, and with token auth; credentials from a config.json and from a
credential helper. Every raised message is one line without a secret."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import logging
import secrets
import tarfile
from typing import TYPE_CHECKING, Any

import pytest
from registry_servers import USER, auth_entry, free_port

from poetry_plugin_docker.registry.client import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
    RegistryError,
    sha256_digest,
)
from poetry_plugin_docker.registry.credentials import Credentials

if TYPE_CHECKING:
    from pathlib import Path

    from registry_servers import DockerConfig, Registry


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Image:
    """A one-layer image: a gzipped tar layer, its config and a schema 2 manifest."""

    def __init__(self, text: str, media_type: str = DOCKER_MANIFEST) -> None:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as archive:
            data = text.encode()
            member = tarfile.TarInfo("app/version.txt")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        self.layer = gzip.compress(raw.getvalue(), mtime=0)
        self.config = json.dumps({
            "architecture": "amd64", "os": "linux", "config": {"Cmd": ["cat", "/app/version.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [sha(raw.getvalue())]},
        }).encode()
        oci = media_type == OCI_MANIFEST
        self.media_type = media_type
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": media_type,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json" if oci else DOCKER_CONFIG,
                       "size": len(self.config), "digest": sha(self.config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip" if oci else DOCKER_LAYER,
                        "size": len(self.layer), "digest": sha(self.layer)}],
        }, indent=3).encode()


def push(client: RegistryClient, repository: str, image: Image, tag: str, layer_file: Path | None = None) -> str:
    assert client.upload_blob(repository, image.config) == sha(image.config)
    if layer_file is not None:
        layer_file.write_bytes(image.layer)
        assert client.upload_blob(repository, layer_file, sha(image.layer)) == sha(image.layer)
    else:
        assert client.upload_blob(repository, image.layer) == sha(image.layer)
    return client.put_manifest(repository, tag, image.manifest, image.media_type)


def record_requests(client: RegistryClient) -> list[tuple[str, str, str]]:
    """(method, path, Authorization scheme or "") of every request the client's session sends."""
    seen: list[tuple[str, str, str]] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        header = response.request.headers.get("Authorization", "")
        seen.append((response.request.method, response.request.path_url.split("?")[0], header.split(" ")[0]))

    client._session.hooks["response"].append(hook)
    return seen


def one_clean_line(error: BaseException, *secret_values: str) -> str:
    message = str(error)
    assert message and "\n" not in message
    assert error.__cause__ is None
    for value in secret_values:
        assert value not in message
    for word in ("Traceback", "Authorization", "Bearer ", "Basic ", "_state="):
        assert word not in message
    return message


def round_trip(client: RegistryClient, tmp_path: Path, name: str) -> None:
    """Push, read back, HEAD and mount: what `poetry docker publish` does."""
    image = Image(f"{name} 1.0 {secrets.token_hex(4)}")
    digest = push(client, f"{name}/app", image, "1.0", layer_file=tmp_path / "layer.tar.gz")
    assert digest == sha(image.manifest)

    manifest = client.get_manifest(f"{name}/app", "1.0")
    assert (manifest.content, manifest.media_type, manifest.digest) == (image.manifest, DOCKER_MANIFEST, digest)
    assert not manifest.is_index
    assert client.get_manifest(f"{name}/app", digest).content == image.manifest
    assert client.get_blob(f"{name}/app", sha(image.config)) == image.config

    assert client.blob_exists(f"{name}/app", sha(image.layer))
    assert client.blob_exists(f"{name}/app", sha(image.config))
    assert not client.blob_exists(f"{name}/app", sha(b"never uploaded"))

    # The next release's repository gets the layer by a mount, not an upload.
    assert not client.blob_exists(f"{name}/other", sha(image.layer))
    assert client.mount_blob(f"{name}/other", sha(image.layer), from_repository=f"{name}/app")
    assert client.blob_exists(f"{name}/other", sha(image.layer))
    # A blob the source does not have: the registry opens an upload instead (cancelled here).
    assert not client.mount_blob(f"{name}/other", sha(b"nowhere"), from_repository=f"{name}/app")

    with pytest.raises(RegistryError) as raised:
        client.get_manifest(f"{name}/app", "2.0")
    assert str(raised.value) == f"{client.registry}/{name}/app:2.0 does not exist"
    assert raised.value.status == 404


# ---- no auth -------------------------------------------------------------------------------


def test_round_trip_without_auth(plain_registry: Registry, tmp_path: Path, docker_config: DockerConfig) -> None:
    docker_config.write({"auths": {plain_registry.address: auth_entry(USER, "never-sent")}})
    with RegistryClient(plain_registry.address, environ=docker_config.environ) as client:
        seen = record_requests(client)
        round_trip(client, tmp_path, "plain")
    # The registry never asked, so no credentials were ever sent (or even read).
    assert seen and all(scheme == "" for _, _, scheme in seen)
    # The upload session the declined mount opened was cancelled.
    [deleted] = [path for method, path, _ in seen if method == "DELETE"]
    assert deleted.startswith("/v2/plain/other/blobs/uploads/")


def test_oci_manifest_and_index(plain_registry: Registry) -> None:
    with RegistryClient(plain_registry.address) as client:
        image = Image("oci", media_type=OCI_MANIFEST)
        digest = push(client, "oci/app", image, "1")
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
            "mediaType": OCI_MANIFEST, "size": len(image.manifest), "digest": digest,
            "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
        index_digest = client.put_manifest("oci/app", "multi", index, OCI_INDEX)
        manifest = client.get_manifest("oci/app", "1")
        assert (manifest.media_type, manifest.digest) == (OCI_MANIFEST, digest)
        read = client.get_manifest("oci/app", "multi")
        assert (read.content, read.media_type, read.digest, read.is_index) == (index, OCI_INDEX, index_digest, True)


def test_manifest_with_a_missing_blob_is_refused(plain_registry: Registry) -> None:
    with RegistryClient(plain_registry.address) as client:
        image = Image("half pushed")
        client.upload_blob("half/app", image.config)
        with pytest.raises(RegistryError) as raised:
            client.put_manifest("half/app", "1", image.manifest, DOCKER_MANIFEST)
        assert raised.value.code == "MANIFEST_BLOB_UNKNOWN"
        address = plain_registry.address
        assert one_clean_line(raised.value).startswith(
            f"registry {address} could not put a manifest into {address}/half/app:1 (400 MANIFEST_BLOB_UNKNOWN: ")
        with pytest.raises(RegistryError, match="does not exist"):
            client.get_manifest("half/app", "1")


def test_wrong_digest_is_refused(plain_registry: Registry) -> None:
    with RegistryClient(plain_registry.address) as client:
        with pytest.raises(RegistryError) as raised:
            client.upload_blob("digest/app", b"some bytes", sha(b"other bytes"))
        assert raised.value.code == "DIGEST_INVALID"
        one_clean_line(raised.value)
        assert sha256_digest(b"x") == sha(b"x")
        assert not client.blob_exists("digest/app", sha(b"other bytes"))


def test_connection_refused_is_one_line() -> None:
    address = f"127.0.0.1:{free_port()}"
    with RegistryClient(address) as client, pytest.raises(RegistryError) as raised:
        client.get_manifest("app", "1")
    message = one_clean_line(raised.value)
    assert message.startswith(f"cannot reach registry {address} (http://{address}): [Errno 111] Connection refused")


# ---- htpasswd Basic auth -------------------------------------------------------------------


def secrets_of(registry: Registry, *extra: str) -> list[str]:
    values = [registry.password, base64.b64encode(f"{USER}:{registry.password}".encode()).decode(), *extra]
    if registry.tokens is not None:
        values += [registry.tokens.refresh_token, *registry.tokens.issued]
    return values


def test_basic_auth_from_config_json(basic_registry: Registry, tmp_path: Path, docker_config: DockerConfig,
                                     caplog: pytest.LogCaptureFixture) -> None:
    docker_config.write({"auths": {basic_registry.address: auth_entry(USER, basic_registry.password)}})
    caplog.set_level(logging.DEBUG)
    with RegistryClient(basic_registry.address, environ=docker_config.environ) as client:
        seen = record_requests(client)
        round_trip(client, tmp_path, "basic")
    # The first request goes without credentials; after the registry's challenge, Basic.
    assert seen[0][2] == "" and seen[1][2] == "Basic"
    assert {scheme for _, _, scheme in seen[1:]} == {"Basic"}
    for value in secrets_of(basic_registry):
        assert value not in caplog.text


def test_basic_auth_from_a_credential_helper(basic_registry: Registry, tmp_path: Path,
                                             docker_config: DockerConfig) -> None:
    docker_config.write({"auths": {basic_registry.address: auth_entry(USER, "stale")},
                         "credHelpers": {basic_registry.address: "test"}})
    docker_config.helper_answers({basic_registry.address: {"Username": USER, "Secret": basic_registry.password}})
    with RegistryClient(basic_registry.address, environ=docker_config.environ) as client:
        round_trip(client, tmp_path, "helped")
    assert docker_config.helper_calls() == [basic_registry.address]


def test_basic_auth_wrong_password(basic_registry: Registry, docker_config: DockerConfig) -> None:
    docker_config.write({"auths": {basic_registry.address: auth_entry(USER, "wrong-" + basic_registry.password)}})
    with RegistryClient(basic_registry.address, environ=docker_config.environ) as client, \
            pytest.raises(RegistryError) as raised:
        client.upload_blob("basic/app", b"config")
    message = one_clean_line(raised.value, *secrets_of(basic_registry, "wrong-" + basic_registry.password))
    config = docker_config.directory / "config.json"
    assert message == (f"registry {basic_registry.address} refused the credentials from {config} for basic/app "
                       f"(401 UNAUTHORIZED: authentication required); log in with "
                       f"`docker login {basic_registry.address}`")
    assert raised.value.status == 401


def test_basic_auth_without_credentials(basic_registry: Registry, docker_config: DockerConfig) -> None:
    with RegistryClient(basic_registry.address, environ=docker_config.environ) as client, \
            pytest.raises(RegistryError) as raised:
        client.get_manifest("basic/app", "1.0")
    assert one_clean_line(raised.value) == (
        f"registry {basic_registry.address} needs credentials for basic/app (401 UNAUTHORIZED: authentication "
        f"required); log in with `docker login {basic_registry.address}`")


def test_explicit_credentials(basic_registry: Registry) -> None:
    """Credentials handed in (CI variables such as GitLab's CI_REGISTRY_PASSWORD), not Docker's."""
    credentials = Credentials(USER, basic_registry.password, source="CI_REGISTRY_PASSWORD")
    with RegistryClient(basic_registry.address, credentials) as client:
        client.upload_blob("explicit/app", b"{}")
        assert client.blob_exists("explicit/app", sha(b"{}"))
    with RegistryClient(basic_registry.address, Credentials(USER, "nope", source="CI_REGISTRY_PASSWORD")) as client, \
            pytest.raises(RegistryError, match="refused the credentials from CI_REGISTRY_PASSWORD for explicit/app"):
        client.blob_exists("explicit/app", sha(b"{}"))


# ---- token auth ----------------------------------------------------------------------------


def test_token_auth_from_a_credential_helper(token_registry: Registry, tmp_path: Path,
                                             docker_config: DockerConfig, caplog: pytest.LogCaptureFixture) -> None:
    tokens = token_registry.tokens
    assert tokens is not None
    docker_config.write({"credsStore": "test"})
    docker_config.helper_answers({token_registry.address: {"Username": USER, "Secret": token_registry.password}})
    caplog.set_level(logging.DEBUG)
    before = len(tokens.requests)
    with RegistryClient(token_registry.address, environ=docker_config.environ) as client:
        seen = record_requests(client)
        round_trip(client, tmp_path, "token")
    asked = tokens.requests[before:]
    # Only the registry's first request goes without credentials; the token server gets Basic.
    registry_requests = [entry for entry in seen if entry[1].startswith("/v2/")]
    assert registry_requests[0][2] == "" and {s for _, _, s in registry_requests[1:]} == {"Bearer"}
    assert all(entry["method"] == "GET" and entry["basic"] and entry["service"] == ["test-registry"]
               for entry in asked)
    scope_sets = [tuple(entry["scopes"]) for entry in asked]
    assert ("repository:token/app:pull,push",) in scope_sets
    assert ("repository:token/app:pull",) in scope_sets
    assert ("repository:token/app:pull", "repository:token/other:pull,push") in scope_sets  # the mount
    # One token per scope set: cached, not fetched for every request.
    assert len(scope_sets) == len(set(scope_sets)) < len(registry_requests)
    for value in secrets_of(token_registry):
        assert value not in caplog.text


def test_token_auth_with_an_identity_token(token_registry: Registry, docker_config: DockerConfig) -> None:
    tokens = token_registry.tokens
    assert tokens is not None
    docker_config.write({"auths": {token_registry.address: {
        "auth": base64.b64encode(b"<token>:").decode(), "identitytoken": tokens.refresh_token}}})
    before = len(tokens.requests)
    with RegistryClient(token_registry.address, environ=docker_config.environ) as client:
        image = Image("identity")
        digest = push(client, "identity/app", image, "1")
        assert client.get_manifest("identity/app", "1").digest == digest
    asked = tokens.requests[before:]
    assert asked and all(entry["method"] == "POST" and entry["grant"] == ["refresh_token"] and not entry["basic"]
                         for entry in asked)


def test_token_auth_wrong_password(token_registry: Registry, docker_config: DockerConfig) -> None:
    wrong = "wrong-" + token_registry.password
    docker_config.write({"auths": {token_registry.address: auth_entry(USER, wrong)}})
    with RegistryClient(token_registry.address, environ=docker_config.environ) as client, \
            pytest.raises(RegistryError) as raised:
        client.upload_blob("token/app", b"config")
    message = one_clean_line(raised.value, *secrets_of(token_registry, wrong))
    assert message == (f"the token server of registry {token_registry.address} refused the credentials from "
                       f"{docker_config.directory / 'config.json'} (401); log in with "
                       f"`docker login {token_registry.address}`")


def test_token_auth_wrong_identity_token(token_registry: Registry, docker_config: DockerConfig) -> None:
    docker_config.write({"auths": {token_registry.address: {"identitytoken": "rt-revoked"}}})
    with RegistryClient(token_registry.address, environ=docker_config.environ) as client, \
            pytest.raises(RegistryError) as raised:
        client.get_manifest("token/app", "1.0")
    message = one_clean_line(raised.value, *secrets_of(token_registry, "rt-revoked"))
    assert message.startswith(f"the token server of registry {token_registry.address} refused the credentials")


def test_token_auth_anonymous(token_registry: Registry, docker_config: DockerConfig) -> None:
    """An anonymous token grants nothing here: the registry refuses it, and the client says to log in."""
    with RegistryClient(token_registry.address, environ=docker_config.environ) as client, \
            pytest.raises(RegistryError) as raised:
        client.get_manifest("token/app", "1.0")
    message = one_clean_line(raised.value, *secrets_of(token_registry))
    assert message.startswith(f"registry {token_registry.address} needs credentials for token/app (401 UNAUTHORIZED")
    assert message.endswith(f"log in with `docker login {token_registry.address}`")


def test_token_auth_insufficient_scope(token_registry: Registry, docker_config: DockerConfig) -> None:
    """USER may only pull readonly/*: pushing there names the access the credentials lack."""
    docker_config.write({"auths": {token_registry.address: auth_entry(USER, token_registry.password)}})
    with RegistryClient(token_registry.address, environ=docker_config.environ) as client:
        assert not client.blob_exists("readonly/app", sha(b"x"))
        with pytest.raises(RegistryError) as raised:
            client.upload_blob("readonly/app", b"x")
    message = one_clean_line(raised.value, *secrets_of(token_registry))
    assert message.startswith(
        f"registry {token_registry.address} does not grant the credentials from "
        f"{docker_config.directory / 'config.json'} the access (repository:readonly/app:")
    assert message.endswith(f"log in with `docker login {token_registry.address}`")
