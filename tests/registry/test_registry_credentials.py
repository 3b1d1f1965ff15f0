"""Docker's credentials: config.json's auths, credHelpers and credsStore, docker-credential-* helpers."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
from registry_servers import auth_entry

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.registry.credentials import (
    DOCKER_HUB_KEY,
    Credentials,
    config_path,
    load_credentials,
    login_command,
    server_key,
)

if TYPE_CHECKING:
    from pathlib import Path

    from registry_servers import DockerConfig


def test_no_config_is_anonymous(docker_config: DockerConfig) -> None:
    assert load_credentials("ghcr.io", docker_config.environ) is None


def test_config_location(tmp_path: Path) -> None:
    assert config_path({"DOCKER_CONFIG": str(tmp_path)}) == tmp_path / "config.json"
    assert config_path({"HOME": str(tmp_path)}) == tmp_path / ".docker" / "config.json"


def test_home_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"auths": {"ghcr.io": {"username": "u", "password": "p"}}}')
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    credentials = load_credentials("ghcr.io")
    assert credentials is not None
    assert (credentials.username, credentials.password) == ("u", "p")


def test_auths_entries(docker_config: DockerConfig) -> None:
    docker_config.write({"auths": {
        "ghcr.io": auth_entry("alice", "s3cret:with:colons"),
        "https://registry.example.com/v1/": {"username": "bob", "password": "hunter2"},
        "quay.io": {"auth": base64.b64encode(b"<token>:").decode(), "identitytoken": "refresh-me"},
        DOCKER_HUB_KEY: auth_entry("hubuser", "hubpass"),
        "localhost:5000": {},
    }})
    environ = docker_config.environ
    ghcr = load_credentials("ghcr.io", environ)
    assert ghcr == Credentials("alice", "s3cret:with:colons", source=str(docker_config.directory / "config.json"))
    other = load_credentials("registry.example.com", environ)
    assert other is not None and (other.username, other.password) == ("bob", "hunter2")
    quay = load_credentials("quay.io", environ)
    assert quay is not None and quay.identity_token == "refresh-me"
    hub = load_credentials("docker.io", environ)
    assert hub is not None and (hub.username, hub.password) == ("hubuser", "hubpass")
    assert load_credentials("localhost:5000", environ) is None
    assert load_credentials("ghcr.io:443", environ) is None
    # The secrets stay out of the repr (a log line, an assertion message).
    assert "s3cret" not in repr(ghcr) and "refresh-me" not in repr(quay)


def test_helpers(docker_config: DockerConfig) -> None:
    docker_config.write({
        "auths": {"ghcr.io": auth_entry("from-auths", "x"), "quay.io": auth_entry("from-auths", "x")},
        "credHelpers": {"ghcr.io": "test"},
        "credsStore": "test",
    })
    docker_config.helper_answers({
        "ghcr.io": {"Username": "helped", "Secret": "helper-secret"},
        DOCKER_HUB_KEY: {"Username": "<token>", "Secret": "an-identity-token"},
    })
    environ = docker_config.environ
    ghcr = load_credentials("ghcr.io", environ)
    assert ghcr is not None
    assert (ghcr.username, ghcr.password, ghcr.source) == ("helped", "helper-secret", "docker-credential-test")
    hub = load_credentials("docker.io", environ)
    assert hub is not None and (hub.identity_token, hub.password) == ("an-identity-token", "")
    # The store has nothing for quay.io: anonymous, as Docker (auths is not consulted when a store is set).
    assert load_credentials("quay.io", environ) is None
    assert docker_config.helper_calls() == ["ghcr.io", DOCKER_HUB_KEY, "quay.io"]


def test_missing_helper_is_one_line(docker_config: DockerConfig) -> None:
    docker_config.write({"credHelpers": {"ghcr.io": "nonexistent"}})
    with pytest.raises(UserError) as raised:
        load_credentials("ghcr.io", docker_config.environ)
    message = str(raised.value)
    assert "docker-credential-nonexistent" in message and "not on PATH" in message and "\n" not in message


def test_failing_helper_is_one_line(docker_config: DockerConfig) -> None:
    failing = docker_config.bin / "docker-credential-broken"
    failing.write_text("#!/bin/sh\necho 'keychain locked' >&2\nexit 3\n")
    failing.chmod(0o755)
    docker_config.write({"credsStore": "broken"})
    with pytest.raises(UserError) as raised:
        load_credentials("ghcr.io", docker_config.environ)
    assert str(raised.value) == "the credential helper docker-credential-broken failed for ghcr.io (exit status 3): " \
                                "keychain locked"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{not json", "is not valid JSON"), ("[]", "is not a JSON object"),
     ('{"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}}', "auths.ghcr.io.auth is not base64 of USER:PASSWORD")],
)
def test_bad_config_is_one_line(docker_config: DockerConfig, text: str, expected: str) -> None:
    (docker_config.directory / "config.json").write_text(text)
    with pytest.raises(UserError) as raised:
        load_credentials("ghcr.io", docker_config.environ)
    message = str(raised.value)
    assert expected in message and "\n" not in message and "bm9jb2xvbg" not in message


def test_keys_and_login_commands() -> None:
    assert server_key("docker.io") == DOCKER_HUB_KEY
    assert server_key("localhost:5000") == "localhost:5000"
    assert login_command("docker.io") == "docker login"
    assert login_command("127.0.0.1:5000") == "docker login 127.0.0.1:5000"
