"""The pieces of `poetry docker publish` that need no registry: the project layer (pip's layout,
a reproducible tar), the config and manifest rewrite, and when the previous release cannot be used."""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import io
import tarfile
import zipfile
from typing import TYPE_CHECKING, Any

import pytest

from poetry_plugin_docker.dockerfile.header import DOCKERFILE_LABEL, STUB_DIGEST_LABEL
from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.publish import (
    BUILDKIT_CACHE_KEY,
    LAYER_MTIME,
    PROJECT_STEP,
    Layer,
    PreviousImage,
    impure_reason,
    is_attestation,
    platform_name,
    previous_fall_back_reason,
    project_layer,
    python_dir_of,
    repository_reference,
    rewrite_config,
    rewrite_index,
    rewrite_manifest,
)
from poetry_plugin_docker.registry.client import Reference, sha256_digest

if TYPE_CHECKING:
    from pathlib import Path

SITE = "app/.venv/lib/python3.12/site-packages"


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path, version: str = "1.0.0", tag: str = "py3-none-any", purelib: bool = True) -> Path:
    """A wheel as poetry-core writes one: a package, its metadata, a console script."""
    info = f"demo_app-{version}.dist-info"
    files = {
        "demo_app/__init__.py": b"def main() -> None:\n    print('demo')\n",
        "demo_app/data.txt": b"data\n",
        f"{info}/METADATA": f"Metadata-Version: 2.4\nName: demo-app\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {str(purelib).lower()}\n"
        f"Tag: {tag}\n".encode(),
        f"{info}/entry_points.txt": b"[console_scripts]\ndemo-app=demo_app:main\n\n",
    }
    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += f"{info}/RECORD,,\n"
    wheel = directory / f"demo_app-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in {**files, f"{info}/RECORD": record.encode()}.items():
            archive.writestr(name, data)
    return wheel


def members(layer: Layer) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob))) as archive:
        return archive.getmembers()


def read(layer: Layer, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob))) as archive:
        return archive.extractfile(name).read()  # type: ignore[union-attr]


def test_the_layer_is_byte_identical_for_the_same_wheel(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = project_layer(wheel, "python3.12", tmp_path / "one")
    second = project_layer(wheel, "python3.12", tmp_path / "two")
    assert first.blob == second.blob
    assert first.digest == second.digest == sha256_digest(first.blob)
    assert first.diff_id == sha256_digest(gzip.decompress(first.blob))
    assert first.blob[4:8] == b"\0\0\0\0", "gzip header mtime 0"


def test_the_layer_holds_what_pip_installs_into_the_venv(tmp_path: Path) -> None:
    layer = project_layer(make_wheel(tmp_path), "python3.12", tmp_path)
    entries = members(layer)
    names = [entry.name for entry in entries]
    assert names[:7] == ["app", "app/.venv", "app/.venv/bin", "app/.venv/bin/demo-app", "app/.venv/lib",
                         "app/.venv/lib/python3.12", SITE]
    assert names.index(f"{SITE}/demo_app/data.txt") < names.index(f"{SITE}/demo_app-1.0.0.dist-info")
    assert all((entry.uid, entry.gid, entry.uname, entry.gname, entry.mtime) == (0, 0, "", "", LAYER_MTIME)
               for entry in entries)
    modes = {entry.name: entry.mode for entry in entries}
    assert modes["app/.venv/bin/demo-app"] == 0o755 and modes[SITE] == 0o755
    assert modes[f"{SITE}/demo_app/__init__.py"] == 0o644
    assert not any(name.endswith(".pyc") for name in names)
    script = read(layer, "app/.venv/bin/demo-app").decode()
    assert script.startswith("#!/app/.venv/bin/python\n# -*- coding: utf-8 -*-\n")
    assert "from demo_app import main\nif __name__ == '__main__':" in script
    info = f"{SITE}/demo_app-1.0.0.dist-info"
    assert read(layer, f"{info}/INSTALLER") == b"pip\n"
    assert read(layer, f"{info}/REQUESTED") == b""
    assert read(layer, f"{info}/direct_url.json") == (
        b'{"archive_info": {}, "url": "file:///dist/demo_app-1.0.0-py3-none-any.whl"}'
    )
    rows = read(layer, f"{info}/RECORD").decode().split("\r\n")
    assert rows[0].startswith("../../../bin/demo-app,sha256=")
    assert rows[:-1] == sorted(rows[:-1]) and rows[-1] == ""
    assert "demo_app-1.0.0.dist-info/RECORD,," in rows


def test_the_python_directory_comes_from_the_previous_layer(tmp_path: Path) -> None:
    layer = project_layer(make_wheel(tmp_path), "python3.13", tmp_path)
    assert python_dir_of(layer.blob) == "python3.13"


def test_compiled_wheels_are_not_pure(tmp_path: Path) -> None:
    assert impure_reason(make_wheel(tmp_path)) is None
    platform = make_wheel(tmp_path, tag="cp312-cp312-manylinux_2_17_x86_64")
    assert "not pure Python" in (impure_reason(platform) or "")
    assert "Root-Is-Purelib" in (impure_reason(make_wheel(tmp_path, version="2.0", purelib=False)) or "")


def previous_config() -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "User": "10001:10001",
            "Env": ["PATH=/app/.venv/bin:/usr/bin"],
            "Entrypoint": ["demo-app"],
            "StopSignal": "SIGINT",
            "Labels": {
                "org.opencontainers.image.title": "demo-app",
                "org.opencontainers.image.version": "1.4.2",
                "org.opencontainers.image.revision": "aaaa",
                STUB_DIGEST_LABEL: "sha256:stub",
                DOCKERFILE_LABEL: "sha256:dockerfile",
            },
        },
        BUILDKIT_CACHE_KEY: "cache-records",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:base", "sha256:deps", "sha256:project"]},
        "history": [
            {"created": "2025-12-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:base in /"},
            {"created": "2026-01-01T00:00:00Z", "created_by": "COPY /app/.venv /app/.venv # buildkit"},
            {"created": "2026-01-01T00:00:00Z", "created_by": f"COPY {PROJECT_STEP} # buildkit"},
            {"created": "2026-01-01T00:00:00Z", "created_by": "USER 10001:10001", "empty_layer": True},
            {"created": "2026-01-01T00:00:00Z", "created_by": "LABEL org.opencontainers.image.title=demo-app",
             "empty_layer": True},
            {"created": "2026-01-01T00:00:00Z", "empty_layer": True,
             "created_by": "LABEL org.opencontainers.image.version=1.4.2 org.opencontainers.image.revision=aaaa"},
        ],
    }


def test_the_config_rewrite_keeps_everything_but_the_named_fields() -> None:
    before = previous_config()
    original = copy.deepcopy(before)
    after = rewrite_config(before, "sha256:new", version="1.4.3", revision="bbbb", created="2026-02-02T00:00:00Z",
                           described="demo-app 1.4.3")
    assert before == original, "the previous config is not changed in place"
    assert after["rootfs"]["diff_ids"] == ["sha256:base", "sha256:deps", "sha256:new"]
    assert after["created"] == "2026-02-02T00:00:00Z"
    assert after["history"][2]["created_by"] == "poetry docker publish: demo-app 1.4.3"
    assert after["history"][2]["created"] == "2026-02-02T00:00:00Z"
    labels = after["config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == "1.4.3"
    assert labels["org.opencontainers.image.revision"] == "bbbb"
    assert BUILDKIT_CACHE_KEY not in after, "BuildKit's inline cache would match the old project layer"
    # Everything else as it was.
    expected = copy.deepcopy(original)
    expected["rootfs"]["diff_ids"][-1] = "sha256:new"
    expected["created"] = after["created"]
    expected["history"][2] = after["history"][2]
    expected["history"][5]["created_by"] = (
        "LABEL org.opencontainers.image.version=1.4.3 org.opencontainers.image.revision=bbbb"
    )
    del expected[BUILDKIT_CACHE_KEY]
    expected["config"]["Labels"].update({"org.opencontainers.image.version": "1.4.3",
                                         "org.opencontainers.image.revision": "bbbb"})
    assert after == expected
    # A second release rewrites the publish's own entry.
    again = rewrite_config(after, "sha256:newer", version="1.4.4", revision="cccc", created="x", described="y")
    assert again["history"][2]["created_by"] == "poetry docker publish: y"


def test_the_manifest_rewrite_points_at_the_new_config_and_layer() -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": "sha256:c"},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 10, "digest": "sha256:a"},
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 20, "digest": "sha256:b"},
        ],
    }
    layer = Layer(b"blob", "sha256:new", "sha256:diff", 100)
    after = rewrite_manifest(manifest, b"{}", layer)
    assert after["config"] == {**manifest["config"], "digest": sha256_digest(b"{}"), "size": 2}
    assert after["layers"][0] == manifest["layers"][0]
    assert after["layers"][1] == {**manifest["layers"][1], "digest": "sha256:new", "size": 4}
    assert manifest["layers"][1]["digest"] == "sha256:b"


def previous(config: dict[str, Any]) -> PreviousImage:
    manifest = {"layers": [{"digest": f"sha256:{n}"} for n in range(3)]}
    return PreviousImage(Reference.parse("registry.example.com/demo:latest"), manifest, "m", config)


def test_a_previous_release_with_other_dependencies_or_dockerfile_is_named() -> None:
    config = previous_config()
    assert previous_fall_back_reason(previous(config), "sha256:stub", "sha256:dockerfile") is None
    assert previous_fall_back_reason(previous(config), "sha256:other", "sha256:dockerfile") == (
        "dependencies changed since 1.4.2"
    )
    assert previous_fall_back_reason(previous(config), "sha256:stub", "sha256:other") == (
        "the Dockerfile changed since 1.4.2"
    )
    config["config"]["Labels"][STUB_DIGEST_LABEL] = "unknown"  # a plain `docker build`
    assert "its stub digest is unknown" in (
        previous_fall_back_reason(previous(config), "sha256:stub", "sha256:dockerfile") or ""
    )
    del config["config"]["Labels"][STUB_DIGEST_LABEL]
    assert "was not built by `poetry docker build`" in (
        previous_fall_back_reason(previous(config), "sha256:stub", "sha256:dockerfile") or ""
    )


def test_a_previous_release_whose_last_layer_is_not_the_project_is_refused() -> None:
    config = previous_config()
    config["history"][2]["created_by"] = "RUN echo hello"
    assert "is not the project's" in (previous_fall_back_reason(previous(config), "sha256:stub", "sha256:dockerfile")
                                      or "")


@pytest.mark.parametrize("text", ["registry.example.com/demo:1.0", "registry.example.com/demo@sha256:" + "a" * 64])
def test_the_repository_has_no_tag(text: str) -> None:
    with pytest.raises(UserError, match="names a tag or digest"):
        repository_reference(text)
    assert repository_reference("127.0.0.1:5000/demo").repository == "demo"


# ---- a multi-platform previous release ---------------------------------------------------------------

AMD64 = {"mediaType": "m", "digest": "sha256:" + "1" * 64, "size": 10,
         "platform": {"os": "linux", "architecture": "amd64"}}
ARM64 = {"mediaType": "m", "digest": "sha256:" + "2" * 64, "size": 11,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}
PROVENANCE = {"mediaType": "m", "digest": "sha256:" + "3" * 64, "size": 12,
              "platform": {"os": "unknown", "architecture": "unknown"},
              "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                              "vnd.docker.reference.digest": "sha256:" + "1" * 64}}


def test_attestations_are_told_from_platform_images() -> None:
    assert [is_attestation(entry) for entry in (AMD64, ARM64, PROVENANCE)] == [False, False, True]
    assert [platform_name(entry) for entry in (AMD64, ARM64)] == ["linux/amd64", "linux/arm64/v8"]


def test_the_new_index_names_the_new_manifests_and_keeps_everything_else() -> None:
    index = {"schemaVersion": 2, "mediaType": "list", "manifests": [AMD64, ARM64, PROVENANCE],
             "annotations": {"org.example": "kept"}}
    new_entries = [{**AMD64, "digest": "sha256:" + "4" * 64, "size": 20}, {**ARM64, "digest": "sha256:" + "5" * 64}]
    assert rewrite_index(index, new_entries) == {
        "schemaVersion": 2, "mediaType": "list", "manifests": new_entries, "annotations": {"org.example": "kept"},
    }
    assert index["manifests"] == [AMD64, ARM64, PROVENANCE], "the previous index is not changed"
