"""Image references, WWW-Authenticate challenges and the scheme each registry is spoken to with."""

from __future__ import annotations

import pytest

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.registry.client import (
    Reference,
    RegistryClient,
    is_loopback,
    merge_scopes,
    parse_challenges,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
        ("library/ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("index.docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("acme/api:1.2.3", "docker.io", "acme/api", "1.2.3", None),
        ("ghcr.io/acme/api", "ghcr.io", "acme/api", "latest", None),
        ("ghcr.io/acme/team/api:v1_rc-2", "ghcr.io", "acme/team/api", "v1_rc-2", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/app:1", "localhost:5000", "app", "1", None),
        ("127.0.0.1:5000/group/app", "127.0.0.1:5000", "group/app", "latest", None),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
        ("registry:5000/app", "registry:5000", "app", "latest", None),
        ("Registry/app", "Registry", "app", "latest", None),
        ("my.registry.example.com/a/b/c", "my.registry.example.com", "a/b/c", "latest", None),
        ("ubuntu@" + DIGEST, "docker.io", "library/ubuntu", None, DIGEST),
        ("ghcr.io/acme/api:1@" + DIGEST, "ghcr.io", "acme/api", "1", DIGEST),
        ("a.b/foo__bar.baz--qux_x", "a.b", "foo__bar.baz--qux_x", "latest", None),
        ("localhost:5000", "docker.io", "library/localhost", "5000", None),  # as Docker reads it
    ],
)
def test_parse(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    reference = Reference.parse(text)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry, repository, tag, digest)
    assert reference.reference == (digest or tag)
    assert Reference.parse(str(reference)) == reference


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "is [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST]"),
        (" ubuntu", "is [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST]"),
        ("Ubuntu", "must be lowercase"),
        ("ghcr.io/Acme/api", "must be lowercase"),
        ("ghcr.io/acme//api", "in parts separated by '/'"),
        ("acme/-api", "in parts separated by '/'"),
        ("acme/api_", "in parts separated by '/'"),
        ("acme/api:", "a tag is"),
        ("acme/api:.hidden", "a tag is"),
        ("acme/api:" + "x" * 129, "a tag is"),
        ("acme/api@sha256:abc", "a digest is"),
        ("acme/api@sha256:" + "AB" * 32, "a digest is"),
        ("acme/api@" + DIGEST + "\nx", "a digest is"),
        ("reg_istry.io:5000/app", "the registry is"),
        ("-bad.io/app", "the registry is"),
        ("ghcr.io/" + "a" * 250, "at most 255"),
        (":tag", "is [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST]"),
    ],
)
def test_invalid_references_name_the_reference_and_the_rule(text: str, rule: str) -> None:
    with pytest.raises(UserError) as raised:
        Reference.parse(text)
    message = str(raised.value)
    assert "\n" not in message
    assert repr(text) in message
    assert rule in message


def test_challenges() -> None:
    [bearer] = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push",error="insufficient_scope"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                             "scope": "repository:samalba/my-app:pull,push", "error": "insufficient_scope"}
    basic, other = parse_challenges('Basic realm="a \\"quoted\\" realm", Newauth realm=apps, type=1')
    assert (basic.scheme, basic.params) == ("basic", {"realm": 'a "quoted" realm'})
    assert (other.scheme, other.params) == ("newauth", {"realm": "apps", "type": "1"})
    assert parse_challenges("") == []


def test_scopes_merge_per_repository() -> None:
    assert merge_scopes(["repository:a:push,pull", "repository:a:pull", "repository:b/c:pull",
                         "repository:a:delete", "registry:catalog:*"]) == {
        "repository:a:pull,push,delete", "repository:b/c:pull", "registry:catalog:*"}


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [("localhost", True), ("localhost:5000", True), ("127.0.0.1:5000", True), ("127.3.4.5", True),
     ("[::1]:5000", True), ("::1", True), ("10.0.0.1:5000", False), ("ghcr.io", False),
     ("localhost.example.com", False), ("docker.io", False)],
)
def test_plain_http_only_for_loopback(registry: str, loopback: bool) -> None:
    assert is_loopback(registry) is loopback
    with RegistryClient(registry) as client:
        assert client.base_url.startswith("http://" if loopback else "https://")


def test_docker_hub_is_spoken_to_at_registry_1() -> None:
    for name in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        with RegistryClient(name) as client:
            assert (client.registry, client.base_url) == ("docker.io", "https://registry-1.docker.io")
