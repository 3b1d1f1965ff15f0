"""End to end: `poetry docker publish` pushes a version bump to a real registry without Docker.

Release 1 of the `classic` fixture is built by `poetry docker build` and pushed by `docker push`
to Debian's docker-registry on loopback (Docker pushes to loopback registries over plain HTTP).
After `poetry version patch`, publish runs with DOCKER_HOST pointing at nothing; the image it
pushes must run, keep every layer of release 1 but the last, and carry a last layer equal
(files, modes, owners, contents) to the one `docker build` makes of the same commit.

Under CI=true a missing Docker engine or registry fails these tests instead of skipping them.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import socket
import stat
import subprocess
import tarfile
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from helpers import FIXTURES, copy_project, poetry_executable
from imagebuild import DOCKERFILE_OPTIONS, Project
from registry.registry_servers import HTPASSWD, Registry, start_registry, unavailable

from poetry_plugin_docker.registry.client import RegistryClient, RegistryError
from poetry_plugin_docker.registry.credentials import Credentials

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NO_DAEMON = "unix:///nonexistent/docker.sock"
INDEX_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"
FIRST_VERSION = "0.3.0"


@dataclass
class Run:
    status: int
    output: str
    error: str


@dataclass
class Release:
    """Release 1, built and pushed: the registry, the project (a git checkout) and its layers."""

    registry: Registry
    app: Project
    repository: str  # 127.0.0.1:PORT/classic
    layers: list[str]  # the manifest's layer digests


def poetry(root: Path, env: dict[str, str], *args: str) -> Run:
    result = subprocess.run([poetry_executable(), *args], cwd=root, env=env, capture_output=True, text=True)
    return Run(result.returncode, result.stdout, result.stderr)


def git_checkout(root: Path) -> None:
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com",
                                                     "commit", "-qm", "release"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)


def manifest(registry: Registry, repository: str, tag: str) -> dict:
    with RegistryClient(registry.address, Credentials()) as client:
        return json.loads(client.get_manifest(repository, tag).content)


def blob(registry: Registry, repository: str, digest: str) -> bytes:
    with RegistryClient(registry.address, Credentials()) as client:
        return client.get_blob(repository, digest)


def layer_files(tar: bytes) -> dict[str, tuple[int, int, int, bytes, bytes | None]]:
    """name -> (permission bits, uid, gid, type, contents): what a layer holds, but its mtimes."""
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return {
            member.name.rstrip("/"): (
                stat.S_IMODE(member.mode), member.uid, member.gid, member.type,
                archive.extractfile(member).read() if member.isfile() else None,  # type: ignore[union-attr]
            )
            for member in archive.getmembers()
        }  # fmt: skip


def saved_last_layer(docker: str, tag: str) -> bytes:
    """The uncompressed last layer of a local image, from `docker save`."""
    saved = subprocess.run([docker, "save", tag], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as image:
        layers = json.load(image.extractfile("manifest.json"))[0]["Layers"]  # type: ignore[arg-type]
        return image.extractfile(layers[-1]).read()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    started = start_registry(tmp_path_factory.mktemp("publish-registry"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def release(registry: Registry, docker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    root = copy_project(FIXTURES / "classic", tmp_path_factory.mktemp("publish") / "classic")
    app = Project(root, docker, "publish")
    repository = f"{registry.address}/classic"
    app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)
    git_checkout(root)
    # NAME:TAG: `docker build --tag 127.0.0.1:PORT/classic` takes the port for a tag (see the report).
    # With BuildKit's inline cache, as a release job that builds with --cache-from does.
    app.poetry("docker", "build", "--tag", f"{repository}:{FIRST_VERSION}", "--", "--network=host",
               "--build-arg", "BUILDKIT_INLINE_CACHE=1")
    try:
        subprocess.run([docker, "tag", f"{repository}:{FIRST_VERSION}", f"{repository}:latest"], check=True)
        for tag in (FIRST_VERSION, "latest"):
            pushed = subprocess.run([docker, "push", f"{repository}:{tag}"], capture_output=True, text=True)
            assert pushed.returncode == 0, pushed.stderr
        layers = [layer["digest"] for layer in manifest(registry, "classic", FIRST_VERSION)["layers"]]
        yield Release(registry, app, repository, layers)
    finally:
        subprocess.run([docker, "rmi", "-f", f"{repository}:{FIRST_VERSION}", f"{repository}:latest"],
                       capture_output=True)


@pytest.mark.docker
def test_version_bump_is_published_without_docker(release: Release, docker: str) -> None:
    app, repository = release.app, release.repository
    app.poetry("version", "patch")
    version = app.version
    git_checkout(app.root)
    app.poetry("docker", "build-context")

    published = poetry(app.root, {**app.env, "DOCKER_HOST": NO_DAEMON}, "docker", "publish", repository, "--no-build")
    assert published.status == 0, published.output + published.error
    assert f"Previous release: {repository}:latest ({FIRST_VERSION})" in published.output
    assert "without Docker" in published.output

    new = manifest(release.registry, "classic", version)
    assert manifest(release.registry, "classic", "latest") == new
    layers = [layer["digest"] for layer in new["layers"]]
    assert layers[:-1] == release.layers[:-1], "every layer below the project's is release 1's"
    # Release 1's inline cache matches layers by position: kept, it would hand a later --cache-from
    # build the old project layer as this release's.
    first = manifest(release.registry, "classic", FIRST_VERSION)
    assert "moby.buildkit.cache.v0" in json.loads(blob(release.registry, "classic", first["config"]["digest"]))
    assert "moby.buildkit.cache.v0" not in json.loads(blob(release.registry, "classic", new["config"]["digest"]))
    assert layers[-1] != release.layers[-1]

    tag = f"{repository}:{version}"
    built = f"ppd-e2e-publish-built:{version}"
    try:
        subprocess.run([docker, "pull", "-q", tag], check=True, capture_output=True)
        assert app.python(tag, "import importlib.metadata as m; print(m.version('classic-app'))") == version
        assert app.inspect(tag, '{{index .Config.Labels "org.opencontainers.image.version"}}') == version
        history = subprocess.run([docker, "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag],
                                 capture_output=True, text=True, check=True).stdout
        assert f"image.version={version} " in history and f"image.version={FIRST_VERSION}" not in history
        assert "poetry docker publish: classic-app" in history
        run = subprocess.run([docker, "run", "--rm", "--network=none", tag], capture_output=True, text=True)
        assert run.returncode == 0 and run.stdout.startswith("classic-app"), run.stderr

        # The same commit built by Docker: its last layer holds exactly what publish pushed.
        app.poetry("docker", "build", "--tag", built, "--", "--network=host")
        pushed = gzip.decompress(blob(release.registry, "classic", layers[-1]))
        assert layer_files(pushed) == layer_files(saved_last_layer(docker, built))
    finally:
        subprocess.run([docker, "rmi", "-f", tag, built, "ppd-e2e-publish-built:latest"], capture_output=True)

    # Into another repository of the registry: the layers are mounted, the project layer is rebuilt
    # byte for byte (same wheel, same tar, same gzip header).
    copied = poetry(app.root, {**app.env, "DOCKER_HOST": NO_DAEMON}, "docker", "publish",
                    f"{release.registry.address}/copy", "--from", tag, "--tag", "candidate", "--no-build")
    assert copied.status == 0, copied.output + copied.error
    assert [layer["digest"] for layer in manifest(release.registry, "copy", "candidate")["layers"]] == layers


@pytest.mark.docker
def test_dependency_change_is_refused_without_a_build(release: Release, tmp_path: Path) -> None:
    root = copy_project(FIXTURES / "classic", tmp_path / "classic")
    app = Project(root, release.app.docker, "publish-deps")
    app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)
    app.poetry("add", "--lock", "iniconfig>=2.0")
    app.poetry("docker", "build-context")
    refused = poetry(root, {**app.env, "DOCKER_HOST": NO_DAEMON}, "docker", "publish", release.repository,
                     "--from", f"{release.repository}:{FIRST_VERSION}", "--no-build")
    assert refused.status == 1
    lines = refused.error.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.output + refused.error, refused.error
    assert f"dependencies changed since {FIRST_VERSION}" in lines[0]
    assert "--no-build" in lines[0]

    # Without --no-build: one line why, then `poetry docker build` and `docker push` of each tag.
    target = f"{release.registry.address}/classic-deps"
    built = poetry(root, app.env, "docker", "publish", target, "--from", f"{release.repository}:{FIRST_VERSION}",
                   "--", "--network=host")
    try:
        assert built.status == 0, built.output + built.error
        assert f"Building with Docker: dependencies changed since {FIRST_VERSION}." in built.output
        pushed = manifest(release.registry, "classic-deps", FIRST_VERSION)
        assert pushed == manifest(release.registry, "classic-deps", "latest")
        # What it pushed is what `poetry docker build` makes of the same commit: the same layers.
        app.poetry("docker", "build", "--tag", f"{target}:check", "--", "--network=host")
        local = json.loads(subprocess.run([app.docker, "image", "inspect", "-f", "{{json .RootFS.Layers}}",
                                           f"{target}:check"], capture_output=True, text=True, check=True).stdout)
        config = json.loads(blob(release.registry, "classic-deps", pushed["config"]["digest"]))
        assert config["rootfs"]["diff_ids"] == local
        assert app.python(f"{target}:check", "import iniconfig; print('ok')") == "ok"
    finally:
        subprocess.run([app.docker, "rmi", "-f", f"{target}:{FIRST_VERSION}", f"{target}:latest", f"{target}:check"],
                       capture_output=True)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["Bad/Name"], "must be lowercase"),
        (["{registry}/classic:1.0"], "names a tag or digest"),
        (["{registry}/classic", "--from", "{registry}/absent:1.0"], "does not exist"),
        (["{registry}/classic", "--tag", "bad tag!"], "a tag is at most 128"),
    ],
)
def test_bad_input_is_one_line(registry: Registry, tmp_path: Path, arguments: list[str], fragment: str) -> None:
    root = copy_project(FIXTURES / "classic", tmp_path / "classic")
    Project(root, "docker", "publish-input").poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)
    given = [argument.format(registry=registry.address) for argument in arguments]
    run = poetry(root, {**Project(root, "docker", "x").env, "DOCKER_HOST": NO_DAEMON},
                 "docker", "publish", *given, "--no-build")
    assert run.status == 1, run.output
    lines = run.error.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.output + run.error, run.error
    assert fragment in lines[0]


def test_refused_credentials_are_one_line_without_the_secret(tmp_path: Path) -> None:
    import base64
    import os

    if not os.access(HTPASSWD, os.X_OK):
        unavailable(f"{HTPASSWD} is missing (Debian's apache2-utils; scripts/setup.sh installs it as root)")
    entry = subprocess.run([HTPASSWD, "-Bbn", "alice", "right-pw"], capture_output=True, text=True, check=True)
    (tmp_path / "htpasswd").write_text(entry.stdout.strip() + "\n")
    locked = start_registry(tmp_path / "locked",
                            f"auth:\n  htpasswd:\n    realm: test\n    path: {tmp_path / 'htpasswd'}\n")
    try:
        root = copy_project(FIXTURES / "classic", tmp_path / "classic")
        app = Project(root, "docker", "publish-auth")
        app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)
        config = tmp_path / "docker-config"
        config.mkdir()
        secret = "wrong-" + "pw-4711"
        auth = base64.b64encode(f"alice:{secret}".encode()).decode()
        (config / "config.json").write_text(json.dumps({"auths": {locked.address: {"auth": auth}}}))
        env = {**app.env, "DOCKER_HOST": NO_DAEMON, "DOCKER_CONFIG": str(config)}
        run = poetry(root, env, "docker", "publish", f"{locked.address}/classic", "--no-build")
        assert run.status == 1
        lines = run.error.strip().splitlines()
        assert len(lines) == 1 and "refused" in lines[0], run.error
        assert secret not in run.output + run.error and auth not in run.output + run.error
    finally:
        locked.stop()


@pytest.mark.docker
def test_a_multi_platform_release_gets_the_project_layer_on_each_platform(release: Release, docker: str) -> None:
    # Release 1 as an image index: its amd64 image, an "arm64" one (the same layers, a config that
    # says arm64: this machine builds no arm64 image) and an attestation entry, as BuildKit adds.
    app = release.app
    with RegistryClient(release.registry.address, Credentials()) as client:
        amd64 = client.get_manifest("classic", FIRST_VERSION)
        document = json.loads(amd64.content)
        config = json.loads(client.get_blob("classic", document["config"]["digest"]))
        arm64_config = json.dumps({**config, "architecture": "arm64"}).encode()
        arm64_config_digest = client.upload_blob("classic", arm64_config)
        arm64 = json.dumps({**document, "config": {**document["config"], "digest": arm64_config_digest,
                                                   "size": len(arm64_config)}}).encode()
        arm64_digest = client.put_manifest("classic", "arm64-only", arm64, amd64.media_type)
        index = {
            "schemaVersion": 2,
            "mediaType": INDEX_TYPE,
            "manifests": [
                {"mediaType": amd64.media_type, "digest": amd64.digest, "size": len(amd64.content),
                 "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": amd64.media_type, "digest": arm64_digest, "size": len(arm64),
                 "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
                {"mediaType": amd64.media_type, "digest": amd64.digest, "size": len(amd64.content),
                 "platform": {"architecture": "unknown", "os": "unknown"}},
            ],
        }  # fmt: skip
        client.put_manifest("classic", "multi", json.dumps(index).encode(), INDEX_TYPE)

    published = poetry(app.root, {**app.env, "DOCKER_HOST": NO_DAEMON}, "docker", "publish", release.repository,
                       "--from", f"{release.repository}:multi", "--tag", "multi-next", "--no-build")
    assert published.status == 0, published.output + published.error
    assert "(0.3.0; linux/amd64, linux/arm64/v8)" in published.output, published.output

    new_index = manifest(release.registry, "classic", "multi-next")
    assert new_index["mediaType"] == INDEX_TYPE
    assert [entry["platform"] for entry in new_index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ], "one entry per platform; the attestation, which describes release 1, is gone"
    last_layers = set()
    for entry, architecture in zip(new_index["manifests"], ("amd64", "arm64")):
        image = manifest(release.registry, "classic", entry["digest"])
        layers = [layer["digest"] for layer in image["layers"]]
        assert layers[:-1] == release.layers[:-1] and layers[-1] != release.layers[-1]
        last_layers.add(layers[-1])
        image_config = json.loads(blob(release.registry, "classic", image["config"]["digest"]))
        assert image_config["architecture"] == architecture
        assert image_config["config"]["Labels"]["org.opencontainers.image.version"] == app.version
    assert len(last_layers) == 1, "the same pure-Python project layer on every platform"

    # Docker pulls this machine's platform from the index, and it runs the new version.
    tag = f"{release.repository}:multi-next"
    try:
        subprocess.run([docker, "pull", "-q", tag], check=True, capture_output=True)
        assert app.python(tag, "import importlib.metadata as m; print(m.version('classic-app'))") == app.version
    finally:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True)


class DroppingProxy:
    """A TCP proxy on loopback in front of a registry that drops the connection when a blob upload
    starts: a push interrupted half-way, as a network failure leaves it."""

    UPLOAD = re.compile(rb"^(POST|PATCH|PUT) /v2/[^ ]*/blobs/uploads/")

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        try:
            while chunk := client.recv(65536):
                if self.UPLOAD.match(chunk):
                    self.dropped += 1
                    break
                upstream.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (client, upstream):
                end.close()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()


@pytest.mark.docker
def test_an_interrupted_push_leaves_no_tag_on_a_half_pushed_image(release: Release) -> None:
    app = release.app
    proxy = DroppingProxy(release.registry.address)
    try:
        # A release whose project layer the registry lacks: a new commit, a version no run pushed.
        module = next((app.root / "classic_app").glob("*.py"))
        module.write_text(module.read_text() + f"\n# interrupted {os.getpid()}\n")
        git_checkout(app.root)
        interrupted = poetry(app.root, {**app.env, "DOCKER_HOST": NO_DAEMON}, "docker", "publish",
                             f"{proxy.address}/classic", "--from", f"{proxy.address}/classic:{FIRST_VERSION}",
                             "--tag", "interrupted", "--no-build")
    finally:
        proxy.close()
    assert proxy.dropped >= 1, interrupted.output + interrupted.error
    assert interrupted.status == 1
    lines = interrupted.error.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in interrupted.output + interrupted.error, interrupted.error
    assert f"cannot reach registry {proxy.address}" in lines[0], lines[0]
    # The manifest goes last: no tag was written, and release 1's tags are as they were.
    with RegistryClient(release.registry.address, Credentials()) as client:
        with pytest.raises(RegistryError) as missing:
            client.get_manifest("classic", "interrupted")
        assert missing.value.status == 404
    assert [layer["digest"] for layer in manifest(release.registry, "classic", FIRST_VERSION)["layers"]] == (
        release.layers
    )
