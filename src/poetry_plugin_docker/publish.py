"""`poetry docker publish`: a version-bump release pushed straight to a registry, without Docker.

When the previous release was built by the plugin's Dockerfile from the same dependency stub
and the same Dockerfile (its image labels say so), every layer of the new image but the last
is already in the registry: the last one is the project, a pure-Python wheel installed into
`/app/.venv` by the stub's install-wheel.py under /staging. The fast path builds that wheel
here, installs it into a staging tree with the same code (in_image/install_wheel.py), writes it as a
reproducible layer, rewrites the previous image's config around it and pushes the new layer,
the config and then the manifest under each tag. Nothing else moves.

A multi-platform previous release (an image index) gets the same project layer on each
platform (the wheel is pure Python), a new manifest per platform and a new index: a
multi-arch release with no emulation. Anything else (dependencies or Dockerfile changed, no
previous release, compiled wheel, ...) is said in one line and handed to `poetry docker build` and `docker push`,
or refused with --no-build. The command module only parses options into `PublishOptions`.
"""

from __future__ import annotations

import copy
import datetime
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from packaging.utils import parse_wheel_filename
from poetry.core.masonry.api import build_wheel as pep517_build_wheel

from poetry_plugin_docker.docker_build import (
    BuildHandler,
    BuildOptions,
    git_revision,
    image_version,
    read_dockerfile_header,
)
from poetry_plugin_docker.dockerfile.header import DOCKERFILE_LABEL, PROJECT_INSTALLER, STUB_DIGEST_LABEL, stub_digest
from poetry_plugin_docker.dockerfile.versioning import dynamic_version
from poetry_plugin_docker.dockerfile.wheel import needs_isolated_build, wheel_inputs
from poetry_plugin_docker.dockerfile.write import overwrite_problem, recorded_checksum
from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.host import installed_version
from poetry_plugin_docker.in_image.install_wheel import WheelError, install
from poetry_plugin_docker.project.selection import configured_selection
from poetry_plugin_docker.registry.client import Manifest, Reference, RegistryClient, RegistryError, sha256_digest
from poetry_plugin_docker.result import Result
from poetry_plugin_docker.settings import BUILD, read_settings
from poetry_plugin_docker.stub.model import plan_stub

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from poetry_plugin_docker.project.loading import Project

VERSION_LABEL = "org.opencontainers.image.version"
REVISION_LABEL = "org.opencontainers.image.revision"
# BuildKit's inline cache maps its records to layers by position: stale after a layer is replaced.
# BuildKit's inline cache: a top-level key of the image config, whose records match the image's
# layers by position. Kept on the new image it would hand the old project layer to a later
# `--cache-from` build as if it were this release's.
BUILDKIT_CACHE_KEY = "moby.buildkit.cache.v0"
# Where the runtime stage's last COPY puts the project, and what its history says.
VENV = PurePosixPath("/app/.venv")
PROJECT_STEP = "/staging/app/.venv/ /app/.venv/"
PUBLISH_STEP = "poetry docker publish"
# A fixed mtime for every entry of the layer (Jib's and nix2container's: 1970-01-01T00:00:01).
LAYER_MTIME = 1
# What the Dockerfile's wheel stage may install the project with for this command's layer to equal
# its own: install-wheel.py (the same code), or pip in Dockerfiles of 0.1, whose layout it copies.
SAME_LAYOUT_INSTALLERS = (PROJECT_INSTALLER, "pip")
_RELEASE_LABELS = re.compile(rf"(?<![\w.-])({re.escape(VERSION_LABEL)}|{re.escape(REVISION_LABEL)})=\S+")
_PYTHON_DIR = re.compile(r"^app/\.venv/lib/(python\d+\.\d+)/")
# What Docker's build context leaves out of the wheel's sources (the managed .dockerignore block).
_CONTEXT_IGNORED = ("__pycache__", "*.pyc", "*.pyo", "*.pyd", ".git")


class FallBack(Exception):
    """Why the fast path cannot publish this release: one line, then `poetry docker build`."""


@dataclass(frozen=True)
class PublishOptions:
    """What `poetry docker publish` was asked for."""

    repository: str  # the image name without a tag: REGISTRY/REPOSITORY
    tags: tuple[str, ...] = ()  # empty: the project's version and latest
    from_reference: str | None = None  # the previous release; None: REPOSITORY:latest
    no_build: bool = False  # exit 1 instead of falling back to docker build
    docker_args: tuple[str, ...] = ()  # more arguments for the fallback's docker build


@dataclass(frozen=True)
class PreviousImage:
    """The previous release as the registry holds it (one platform's image): its manifest and config, parsed."""

    reference: Reference
    manifest: dict[str, Any]
    media_type: str
    config: dict[str, Any]
    platform: str = ""  # os/architecture in an image index; "" for a single image

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.config.get("config") or {}).get("Labels") or {})

    @property
    def version(self) -> str:
        return self.labels.get(VERSION_LABEL) or str(self.reference)


@dataclass(frozen=True)
class PreviousRelease:
    """The previous release: one image, or an image index of one image per platform."""

    images: tuple[PreviousImage, ...]
    index: dict[str, Any] | None = None  # the index document; None for a single image
    index_media_type: str = ""
    entries: tuple[dict[str, Any], ...] = ()  # the index's descriptors of `images`, in their order


@dataclass(frozen=True)
class Layer:
    """A gzipped layer: its blob, its digest and its uncompressed digest (the config's diff_id)."""

    blob: bytes
    digest: str
    diff_id: str
    uncompressed_size: int


# ---- the project's layer ------------------------------------------------------------------------


def build_wheel(project: Project, directory: Path) -> Path:
    """The project's wheel, built by poetry-core's PEP 517 hook as the Dockerfile's wheel stage does,
    from a copy of the files it copies (no .git: the build context has none either)."""
    sources = directory / "sources"
    sources.mkdir()
    for name in wheel_inputs(project):
        source = project.root / name
        if source.is_dir():
            shutil.copytree(source, sources / name, ignore=shutil.ignore_patterns(*_CONTEXT_IGNORED))
        else:
            shutil.copy2(source, sources / name)
    dist = directory / "dist"
    # In this process, where Poetry has poetry-core loaded already (a new interpreter took 0.25 s);
    # the hook builds the project in the current directory.
    here = Path.cwd()
    os.chdir(sources)
    try:
        name = pep517_build_wheel(str(dist))
    except Exception as error:  # the backend's own errors: one line, not a traceback
        raise UserError(f"Building the wheel with poetry-core failed: {error}") from None
    finally:
        os.chdir(here)
    return dist / name


def impure_reason(wheel: Path) -> str | None:
    """Why the wheel is not pure Python (py3-none-any, Root-Is-Purelib: true), or None."""
    _, _, _, tags = parse_wheel_filename(wheel.name)
    if any(tag.abi != "none" or tag.platform != "any" or not tag.interpreter.startswith("py") for tag in tags):
        return f"the wheel {wheel.name} is not pure Python"
    with zipfile.ZipFile(wheel) as archive:
        wheel_file = next((name for name in archive.namelist() if name.endswith(".dist-info/WHEEL")), None)
        metadata = archive.read(wheel_file).decode("utf-8") if wheel_file else ""
    if not re.search(r"(?mi)^Root-Is-Purelib:\s*true\s*$", metadata):
        return f"the wheel {wheel.name} is not Root-Is-Purelib"
    return None


def install_wheel(wheel: Path, staging: Path, python_dir: str) -> None:
    """Install the wheel under `staging` as the Dockerfile's wheel stage does (install-wheel.py, the
    same code) into /app/.venv with Python `python_dir` ("python3.12")."""
    try:
        install(str(wheel), str(VENV), str(staging), python_dir)
    except WheelError as error:
        raise UserError(f"Cannot install {wheel.name}: {error}.") from None


def _walk(directory: Path) -> Iterator[Path]:
    """Depth first, each directory's entries by name: the order of BuildKit's layer tars."""
    for entry in sorted(directory.iterdir(), key=lambda path: path.name):
        yield entry
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk(entry)


def layer_tar(staging: Path) -> bytes:
    """The staged tree (`staging/app/...`) as a reproducible tar: every entry with its parent
    directories, owner root, a fixed mtime, modes as install-wheel.py leaves them under umask 022."""
    output = io.BytesIO()
    with tarfile.open(fileobj=output, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in _walk(staging):
            info = tarfile.TarInfo(path.relative_to(staging).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = LAYER_MTIME
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
                continue
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            archive.addfile(info, io.BytesIO(data))
    return output.getvalue()


def gzipped_layer(tar: bytes) -> Layer:
    """The layer blob, gzipped with a fixed header (no name, mtime 0)."""
    output = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=output, mtime=0) as compressed:
        compressed.write(tar)
    blob = output.getvalue()
    return Layer(blob, sha256_digest(blob), sha256_digest(tar), len(tar))


def project_layer(wheel: Path, python_dir: str, directory: Path) -> Layer:
    staging = directory / "staging"
    staging.mkdir()
    install_wheel(wheel, staging, python_dir)
    return gzipped_layer(layer_tar(staging))


def python_dir_of(layer_blob: bytes) -> str | None:
    """The "pythonX.Y" of /app/.venv/lib/ in a project layer (the previous release's)."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer_blob))) as archive:
        for name in archive.getnames():
            match = _PYTHON_DIR.match(name.lstrip("./"))
            if match:
                return match.group(1)
    return None


# ---- the new config and manifest ----------------------------------------------------------------


def creation_time(environ: Mapping[str, str]) -> float:
    """SOURCE_DATE_EPOCH when it is a number (a reproducible build asks for it), else now."""
    try:
        return float(environ["SOURCE_DATE_EPOCH"])
    except (KeyError, ValueError):
        return time.time()


def rfc3339(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def project_history_index(config: Mapping[str, Any]) -> int | None:
    """The history entry of the last layer, when that layer is the project's (the Dockerfile's
    COPY from the wheel stage, or an earlier publish); None otherwise."""
    history = config.get("history") or []
    layered = [index for index, entry in enumerate(history) if not entry.get("empty_layer")]
    if not layered:
        return None
    created_by = str(history[layered[-1]].get("created_by", ""))
    return layered[-1] if PROJECT_STEP in created_by or created_by.startswith(PUBLISH_STEP) else None


def rewrite_config(
    config: Mapping[str, Any], diff_id: str, *, version: str, revision: str, created: str, described: str
) -> dict[str, Any]:
    """The previous image's config with the project layer replaced: its diff_id and history entry,
    `created`, the version and revision labels (and the history of the LABEL step that set them);
    BuildKit's inline cache dropped."""
    new = copy.deepcopy(dict(config))
    new.pop(BUILDKIT_CACHE_KEY, None)
    new["rootfs"]["diff_ids"][-1] = diff_id
    new["created"] = created
    index = project_history_index(config)
    if index is None:
        raise ValueError("the config's last layer is not the project's")
    new["history"][index] = {"created": created, "created_by": f"{PUBLISH_STEP}: {described}",
                             "comment": "poetry-plugin-docker"}
    for entry in new["history"][index + 1 :]:
        # `docker history` shows the release's LABEL step: it must not name the previous version.
        entry["created_by"] = _relabelled(str(entry.get("created_by", "")), version, revision)
    labels = new.setdefault("config", {}).get("Labels") or {}
    labels[VERSION_LABEL] = version
    labels[REVISION_LABEL] = revision
    new["config"]["Labels"] = labels
    return new


def _relabelled(created_by: str, version: str, revision: str) -> str:
    """A LABEL step's history with this release's version and revision."""
    values = {VERSION_LABEL: version, REVISION_LABEL: revision}
    return _RELEASE_LABELS.sub(lambda match: f"{match.group(1)}={values[match.group(1)]}", created_by)


def rewrite_manifest(manifest: Mapping[str, Any], config_blob: bytes, layer: Layer) -> dict[str, Any]:
    """The previous image manifest pointing at the new config and last layer (media types kept)."""
    new = copy.deepcopy(dict(manifest))
    new["config"] = {**new["config"], "digest": sha256_digest(config_blob), "size": len(config_blob)}
    new["layers"][-1] = {**new["layers"][-1], "digest": layer.digest, "size": len(layer.blob)}
    return new


def is_attestation(entry: Mapping[str, Any]) -> bool:
    """An index entry that describes another entry (BuildKit's provenance and SBOM), not a platform's image."""
    annotations = entry.get("annotations") or {}
    return (entry.get("platform") or {}).get("os") == "unknown" or "vnd.docker.reference.type" in annotations


def platform_name(entry: Mapping[str, Any]) -> str:
    platform = entry.get("platform") or {}
    return "/".join(str(platform[key]) for key in ("os", "architecture", "variant") if platform.get(key))


def rewrite_index(index: Mapping[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The previous image index with the new platform manifests' descriptors, and without the
    attestations, which describe the previous release's images."""
    new = copy.deepcopy(dict(index))
    new["manifests"] = entries
    return new


def canonical_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---- what the previous release must share with this one ---------------------------------------------


def dockerfile_checksum(dockerfile: Path) -> str:
    """`sha256:` and the generated Dockerfile's recorded checksum; FallBack when it was edited."""
    text = dockerfile.read_text(encoding="utf-8")
    problem = overwrite_problem(text)
    if problem:
        raise FallBack(f"{dockerfile.name} {problem}")
    return f"sha256:{recorded_checksum(text)}"


def project_fall_back_reason(project: Project, compile_bytecode: bool, project_installer: str) -> str | None:
    """Why this project's layer is not a wheel this command can install like the Dockerfile, or None."""
    if not project.is_package_mode:
        return "the project has package-mode = false (no wheel)"
    if compile_bytecode:
        return "the Dockerfile compiles bytecode (--compile)"
    if project_installer not in SAME_LAYOUT_INSTALLERS:
        return f"the Dockerfile installs the project with {project_installer}, which lays it out otherwise"
    if dynamic_version(project.pyproject):
        return "the version comes from git tags"
    if needs_isolated_build(project, installed_version("poetry-core")):
        return "the wheel needs an isolated build (a build script or other build requirements)"
    return None


def previous_fall_back_reason(previous: PreviousImage, stub: str, dockerfile: str) -> str | None:
    """Why the previous release cannot take this release's project layer, or None."""
    labels = previous.labels
    if STUB_DIGEST_LABEL not in labels or DOCKERFILE_LABEL not in labels:
        return f"{previous.reference} was not built by `poetry docker build` (it has no {STUB_DIGEST_LABEL} label)"
    if not labels[STUB_DIGEST_LABEL].startswith("sha256:"):
        return f"{previous.reference} was built without `poetry docker build` (its stub digest is unknown)"
    if labels[STUB_DIGEST_LABEL] != stub:
        return f"dependencies changed since {previous.version}"
    if labels[DOCKERFILE_LABEL] != dockerfile:
        return f"the Dockerfile changed since {previous.version}"
    diff_ids = (previous.config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(previous.manifest.get("layers") or []) or project_history_index(previous.config) is None:
        return f"the last layer of {previous.reference} is not the project's"
    return None


# ---- the command ---------------------------------------------------------------------------------


def repository_reference(text: str) -> Reference:
    """REPOSITORY as given: an image name without tag or digest."""
    reference = Reference.parse(text)
    if "@" in text or ":" in text.rsplit("/", 1)[-1]:
        raise UserError(f"{text!r} names a tag or digest: give the repository alone, and tags with --tag")
    return reference


def _same_place(one: Reference, other: Reference) -> bool:
    return (one.registry, one.repository) == (other.registry, other.repository)


class PublishHandler:
    """The fast path, or one line why not and `poetry docker build` + `docker push`."""

    def __init__(self, write_line: Callable[[str], None], environ: Mapping[str, str] | None = None) -> None:
        self.write_line = write_line
        self.environ = dict(os.environ if environ is None else environ)
        self.docker_status = 0

    def publish(self, project: Project, options: PublishOptions) -> Result:
        started = time.monotonic()
        target = repository_reference(options.repository)
        source = Reference.parse(options.from_reference or f"{options.repository}:latest")
        version = image_version(project, self.environ)
        tags = options.tags or (version.replace("+", "-"), "latest")
        for tag in tags:
            Reference.parse(f"{options.repository}:{tag}")  # a bad tag: one line, before anything runs
        try:
            return self._fast(project, target, source, version, tags, started, explicit=bool(options.from_reference))
        except FallBack as reason:
            if options.no_build:
                raise UserError(f"Cannot publish without a build: {reason} (--no-build).") from None
            self.write_line(f"Building with Docker: {reason}.")
            return self._build_and_push(project, options.repository, tags, options.docker_args)

    # ---- the fast path ----

    def _fast(self, project: Project, target: Reference, source: Reference, version: str,
              tags: tuple[str, ...], started: float, *, explicit: bool) -> Result:
        stub, dockerfile = self._local_identity(project)
        if source.registry != target.registry:
            raise FallBack(f"--from {source} is on another registry than {target.registry}")
        with RegistryClient(target.registry, environ=self.environ) as client:
            release = self._previous(client, source, explicit=explicit)
            for image in release.images:
                reason = previous_fall_back_reason(image, stub, dockerfile)
                if reason:
                    raise FallBack(reason + (f" ({image.platform})" if image.platform else ""))
            platforms = ", ".join(image.platform for image in release.images if image.platform)
            self.write_line(f"Previous release: {source} ({release.images[0].version}"
                            f"{'; ' + platforms if platforms else ''}).")
            with tempfile.TemporaryDirectory(prefix="poetry-docker-publish-") as scratch:
                layers = self._layers(client, project, release.images, Path(scratch))
            uploaded = False
            manifests = []
            for image, layer in zip(release.images, layers):
                config, manifest = self._new_image(project, version, image, layer)
                uploaded = self._push_blobs(client, target, source, image, layer, config) or uploaded
                manifests.append(manifest)
            if release.index is None:
                top, media_type = manifests[0], release.images[0].media_type
            else:  # each platform's manifest by its digest, then the index that names them
                entries = [
                    {**entry, "digest": client.put_manifest(target.repository, sha256_digest(manifest), manifest,
                                                            image.media_type), "size": len(manifest)}
                    for entry, image, manifest in zip(release.entries, release.images, manifests)
                ]
                top, media_type = canonical_json(rewrite_index(release.index, entries)), release.index_media_type
            digest = [client.put_manifest(target.repository, tag, top, media_type) for tag in tags][-1]
        self._report(release.images[0], layers[0], uploaded)
        names = " and ".join(f"{repository_name(target)}:{tag}" for tag in tags)
        return Result(True, f"Published {names} ({digest}) without Docker in {time.monotonic() - started:.1f} s.")

    def _local_identity(self, project: Project) -> tuple[str, str]:
        """The stub digest and Dockerfile checksum this release's image would carry as labels;
        FallBack when its project layer is not one this command can make."""
        settings = read_settings(project.root, project.config, BUILD)
        dockerfile = project.root / settings.dockerfile  # checked by read_settings
        header = read_dockerfile_header(dockerfile)
        reason = project_fall_back_reason(project, settings.compile, header.project_installer)
        if reason:
            raise FallBack(reason)
        checksum = dockerfile_checksum(dockerfile)
        # The stub `poetry docker build` writes, for the same settings.
        stub = plan_stub(project, configured_selection(project, settings.selection_settings))
        return stub_digest(stub.pyproject_text, stub.lock), checksum

    def _new_image(self, project: Project, version: str, previous: PreviousImage, layer: Layer) -> tuple[bytes, bytes]:
        """The new config and manifest, as pushed."""
        config = rewrite_config(
            previous.config, layer.diff_id, version=version,
            revision=git_revision(project.root) or "unknown",  # the Dockerfile's default
            created=rfc3339(creation_time(self.environ)),
            described=f"{project.name} {version} into {VENV}/",
        )  # fmt: skip
        config_blob = canonical_json(config)
        return config_blob, canonical_json(rewrite_manifest(previous.manifest, config_blob, layer))

    def _report(self, previous: PreviousImage, layer: Layer, uploaded: bool) -> None:
        reused = previous.manifest["layers"][:-1]
        reused_bytes = sum(int(entry.get("size", 0)) for entry in reused)
        self.write_line(
            f"Reused {len(reused)} layers ({_size(reused_bytes)}); new project layer {_size(len(layer.blob))} "
            f"({_size(layer.uncompressed_size)} uncompressed){'' if uploaded else ', already in the registry'}."
        )

    def _previous(self, client: RegistryClient, source: Reference, *, explicit: bool) -> PreviousRelease:
        try:
            manifest = client.get_manifest(source.repository, source.reference)
        except RegistryError as error:
            if error.status == 404 and not explicit:
                raise FallBack(f"no previous release at {source}") from None
            if error.status == 404:
                raise UserError(f"--from {source} does not exist in the registry.") from None
            raise
        if not manifest.is_index:
            return PreviousRelease((self._image(client, source, manifest),))
        index = json.loads(manifest.content)
        entries = tuple(entry for entry in index.get("manifests") or [] if not is_attestation(entry))
        if not entries:
            raise FallBack(f"the image index {source} names no platform's image")
        images = []
        for entry in entries:
            child = client.get_manifest(source.repository, entry["digest"])
            if child.is_index:
                raise FallBack(f"the image index {source} names another index ({entry['digest']})")
            images.append(self._image(client, source, child, platform_name(entry)))
        return PreviousRelease(tuple(images), index, manifest.media_type, entries)

    @staticmethod
    def _image(client: RegistryClient, source: Reference, manifest: Manifest, platform: str = "") -> PreviousImage:
        document = json.loads(manifest.content)
        config = json.loads(client.get_blob(source.repository, document["config"]["digest"]))
        return PreviousImage(source, document, _media_type(manifest, document), config, platform)

    def _layers(self, client: RegistryClient, project: Project, images: tuple[PreviousImage, ...],
                scratch: Path) -> list[Layer]:
        """The new project layer of each image: one pure-Python wheel, installed for each Python X.Y
        the images have (one layer for all platforms, as a rule)."""
        wheel = build_wheel(project, scratch)
        reason = impure_reason(wheel)
        if reason:
            raise FallBack(reason)
        by_python: dict[str, Layer] = {}
        layers = []
        for image in images:
            last = image.manifest["layers"][-1]
            python_dir = python_dir_of(client.get_blob(image.reference.repository, last["digest"]))
            if python_dir is None:
                where = f"{image.reference} ({image.platform})" if image.platform else str(image.reference)
                raise FallBack(f"the last layer of {where} holds no /app/.venv/lib/pythonX.Y")
            if python_dir not in by_python:
                (scratch / python_dir).mkdir()
                by_python[python_dir] = project_layer(wheel, python_dir, scratch / python_dir)
            layers.append(by_python[python_dir])
        return layers

    def _push_blobs(self, client: RegistryClient, target: Reference, source: Reference, previous: PreviousImage,
                    layer: Layer, config_blob: bytes) -> bool:
        """Every blob the new manifest names, in the target repository: the previous layers (mounted
        from --from's repository when missing), then the new layer and config. True if the new
        layer was uploaded."""
        if _same_place(target, source):  # a registry holds every blob of the manifests it holds
            return self._push_new_blobs(client, target, layer, config_blob)
        for entry in previous.manifest["layers"][:-1]:
            digest = entry["digest"]
            if client.blob_exists(target.repository, digest):
                continue
            if not client.mount_blob(target.repository, digest, source.repository):
                client.upload_blob(target.repository, client.get_blob(source.repository, digest), digest)
        return self._push_new_blobs(client, target, layer, config_blob)

    @staticmethod
    def _push_new_blobs(client: RegistryClient, target: Reference, layer: Layer, config_blob: bytes) -> bool:
        """The new layer and config, unless the registry has them; True if the layer was uploaded."""
        uploaded = not client.blob_exists(target.repository, layer.digest)
        if uploaded:
            client.upload_blob(target.repository, layer.blob, layer.digest)
        if not client.blob_exists(target.repository, sha256_digest(config_blob)):
            client.upload_blob(target.repository, config_blob)
        return uploaded

    # ---- the fallback ----

    def _build_and_push(self, project: Project, repository: str, tags: tuple[str, ...],
                        docker_args: tuple[str, ...]) -> Result:
        builder = BuildHandler(self.write_line, self.environ)
        try:
            # NAME:TAG, which BuildHandler tags as given (a registry's :PORT would read as a tag otherwise).
            builder.build(project, BuildOptions(tag=f"{repository}:{tags[0]}", docker_args=docker_args))
        finally:
            self.docker_status = builder.docker_status
        docker = self.environ.get("DOCKER") or shutil.which("docker") or "docker"
        for tag in tags[1:]:
            self._docker(docker, "tag", f"{repository}:{tags[0]}", f"{repository}:{tag}")
        for tag in tags:
            self._docker(docker, "push", f"{repository}:{tag}")
        return Result(True, f"Built and pushed {' and '.join(f'{repository}:{tag}' for tag in tags)} with Docker.")

    def _docker(self, docker: str, *args: str) -> None:
        self.write_line(f"Running: {docker} {' '.join(args)}")
        status = subprocess.run([docker, *args], env=self.environ).returncode
        if status:
            self.docker_status = status
            raise UserError(f"docker {args[0]} failed (exit status {status}); see its output above.")


def repository_name(reference: Reference) -> str:
    return f"{reference.registry}/{reference.repository}"


def _media_type(manifest: Manifest, document: Mapping[str, Any]) -> str:
    return str(document.get("mediaType") or manifest.media_type)


def _size(count: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"
