"""The ephemeral-runner release (issue 17): what it measures, its targets and its table."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from imagebench import bench as bench_module
from imagebench.analysis import (
    cache_pull_bytes,
    evaluate_targets,
    new_layers,
    parse_poetry_docker_publish,
)
from imagebench.bench import PROJECTS, Bench, project_files_bytes
from imagebench.report import render_markdown

if TYPE_CHECKING:
    from collections.abc import Mapping

BASE = ["sha256:base1", "sha256:base2"]


def _manifest(*layers: tuple[str, int], config: str = "sha256:config1") -> dict:
    return {"config": {"digest": config, "size": 900},
            "layers": [{"digest": digest, "size": size} for digest, size in layers]}


def test_new_layers_counts_layers_by_digest() -> None:
    old = _manifest(("sha256:a", 10), ("sha256:b", 20), ("sha256:c", 30))
    new = _manifest(("sha256:a", 10), ("sha256:b", 20), ("sha256:d", 31), config="sha256:config2")
    assert new_layers(old, new) == {"changed": 1, "total": 3}


def test_cache_pull_bytes_counts_the_cached_layers_the_new_image_took_other_than_the_base() -> None:
    # release 1: two base layers, the venv, the project; the manifest's layers match the diff_ids by position
    manifest = _manifest(("sha256:gz-base1", 30), ("sha256:gz-base2", 5), ("sha256:gz-venv", 66_000_000),
                         ("sha256:gz-project", 3000))
    config = {"rootfs": {"diff_ids": [*BASE, "sha256:venv", "sha256:project1"]}}
    # the new image: the base layers (loaded), the venv (from the cache), a new project layer
    new = [*BASE, "sha256:venv", "sha256:project2"]
    assert cache_pull_bytes(manifest, config, new, BASE) == (1, 66_000_000)
    assert cache_pull_bytes(manifest, config, BASE, BASE) == (0, 0)
    assert cache_pull_bytes(manifest, {}, new, BASE) == (0, 0)


def test_parse_poetry_docker_publish() -> None:
    text = ("Previous release: 127.0.0.1:5000/app:0.1.0 (0.1.0).\n"
            "Reused 7 layers (81.1 MB); new project layer 2.9 kB (9.1 kB uncompressed).\n"
            "Published 127.0.0.1:5000/app:0.1.1 and 127.0.0.1:5000/app:latest (sha256:" + "ab" * 32
            + ") without Docker in 0.4 s.\n")
    published = parse_poetry_docker_publish(text)
    assert published.published and published.seconds == 0.4 and published.digest == "sha256:" + "ab" * 32
    refused = parse_poetry_docker_publish("Cannot publish without a build: dependencies changed since 0.1.0 "
                                          "(--no-build).\n")
    assert not refused.published and refused.seconds is None


def _runner(publish: float = 1.2, ours: float = 12.0, seed: float = 30.0, added: int = 20_000) -> dict:
    return {
        "base_images": ["python:3.11", "python:3.11-slim"],
        "project_files_bytes": 4000,
        "handwritten": {"build_seconds": seed - 8, "docker_build_seconds": seed - 8.5, "deps": 14.0,
                        "push_seconds": 8.0, "job_seconds": seed, "registry_bytes": 70_000_000,
                        "new_blob_bytes": 69_000_000, "layers": {"changed": 2, "total": 8},
                        "cache_layers": 4, "cache_bytes": 3_000_000},
        "ours": {"build_seconds": ours - 0.5, "docker_build_seconds": ours - 1.5, "deps": "cached",
                 "push_seconds": 0.5, "job_seconds": ours, "registry_bytes": 25_000,
                 "new_blob_bytes": 24_000, "layers": {"changed": 3, "total": 9},
                 "cache_layers": 6, "cache_bytes": 66_000_000},
        "publish": {"job_seconds": publish, "reported_seconds": 0.4, "registry_bytes": added,
                    "new_blob_bytes": added - 1500, "layers": {"changed": 1, "total": 9},
                    "check": "fastapi_service imports, version 0.1.1"},
    }


RESULTS = {"projects": {"fastapi": {"builds": {}, "runner": _runner()}}}


def _runner_targets(results: Mapping) -> list:
    return [t for t in evaluate_targets(results) if "publish" in t.name]


def test_runner_targets_met() -> None:
    targets = _runner_targets(RESULTS)
    assert [t.met for t in targets] == [True, True, True]
    assert targets[0].name == ("fastapi: ephemeral-runner release, `poetry docker publish` <= 0.2 x ours built "
                               "with `--cache-from` + push")
    assert targets[0].measured == "publish / ours = 0.10x (1.2 s against 12.0 s)"
    assert targets[1].measured == "publish / Dockerfile 2 = 0.04x (1.2 s against 30.0 s)"
    assert targets[2].measured == "20.0 kB (allowance 104 kB: 100 kB + 4.0 kB of the project's own files)"


@pytest.mark.parametrize(
    ("runner", "missed"),
    [
        (_runner(publish=2.5), "<= 0.2 x ours"),
        (_runner(publish=3.5, seed=30.0, ours=30.0), "<= 0.1 x Dockerfile 2's"),
        (_runner(added=104_000), "bytes `poetry docker publish` adds"),
    ],
)
def test_each_runner_target_can_be_missed(runner: dict, missed: str) -> None:
    results = copy.deepcopy(RESULTS)
    results["projects"]["fastapi"]["runner"] = runner
    failed = [t.name for t in _runner_targets(results) if t.met is False]
    assert len(failed) == 1 and missed in failed[0], failed


def test_runner_targets_not_measured_when_a_job_failed_and_absent_without_the_scenario() -> None:
    results = copy.deepcopy(RESULTS)
    results["projects"]["fastapi"]["runner"]["publish"] = {"error": "exit 1: Cannot publish without a build"}
    assert [t.met for t in _runner_targets(results)] == [None, None, None]
    results["projects"]["fastapi"].pop("runner")
    assert _runner_targets(results) == []


def test_markdown_has_the_runner_table() -> None:
    results = copy.deepcopy(RESULTS)
    results["projects"]["fastapi"]["runner"]["handwritten"] = {"error": "no empty dockerd could start: boom"}
    text = render_markdown(results, png_name=None)
    for needle in ("**ephemeral runner** (issue 17)", "`python:3.11` and `python:3.11-slim`",
                   "a real runner would also pull them",
                   "| **release job: time** | – | 12.0 s | 1.2 s |",
                   "| dependency install step | – | cached | – (nothing installed) |",
                   "| publish / this job | – | 0.10 | 1.00 |",
                   "| 11.5 s (`docker build` 10.5 s) |",
                   "66.0 MB (6 layers)",
                   "The published image, pulled on the deploy host: fastapi_service imports, version 0.1.1.",
                   "**not measured**: no empty dockerd could start: boom",
                   "| fastapi: ephemeral-runner release, `poetry docker publish` <= 0.1 x Dockerfile 2's "
                   "`--cache-from` build + push | publish / Dockerfile 2 = not measured | not measured |"):
        assert needle in text, needle


def test_project_files_bytes_leaves_bytecode_out(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "data.json").write_text("{}")
    (tmp_path / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"0" * 500)
    assert project_files_bytes(tmp_path / "pkg") == 8


class FakeRegistry:
    address = "127.0.0.1:5000"

    def __init__(self) -> None:
        self.store = {"sha256:base": 1000, "sha256:venv": 66_000_000, "sha256:config1": 900}

    def blobs(self) -> dict[str, int]:
        return dict(self.store)

    def manifest(self, repository: str, tag: str) -> dict:
        if tag == "0.1.0":
            return _manifest(("sha256:base", 1000), ("sha256:venv", 66_000_000), ("sha256:p1", 3000))
        return _manifest(("sha256:base", 1000), ("sha256:venv", 66_000_000), ("sha256:p2", 2900),
                         config="sha256:config2")


def test_publish_job_runs_the_command_without_a_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = Bench.__new__(Bench)
    bench.poetry, bench.work, bench.logs, bench.secrets = "poetry", tmp_path, tmp_path, []
    bench.registry, bench.deploy, bench.say = FakeRegistry(), None, lambda text: None
    monkeypatch.setenv("DOCKER", "/usr/bin/docker")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/imagebench-build.sock")
    seen: dict = {}

    def fake_run_stamped(command: list[str], cwd: Path | None = None, env: dict | None = None) -> tuple:
        seen.update(command=command, cwd=cwd, env=env)
        bench.registry.store.update({"sha256:p2": 2900, "sha256:config2": 950, "sha256:manifest2": 1600})
        return 1.5, 0, [(1.4, "Published 127.0.0.1:5000/r:0.1.1 and 127.0.0.1:5000/r:latest (sha256:"
                         + "cd" * 32 + ") without Docker in 0.6 s.\n")]

    monkeypatch.setattr(bench_module, "run_stamped", fake_run_stamped)
    monkeypatch.setattr(Bench, "poetry_run", lambda self, tree, *args: "fastapi-service 0.1.1\n")
    record = bench._publish_job(PROJECTS["fastapi"], tmp_path, "127.0.0.1:5000/r",
                                "r", {"image": "127.0.0.1:5000/r:0.1.0", "version": "0.1.0"})
    assert seen["command"] == ["poetry", "docker", "publish", "127.0.0.1:5000/r", "--from",
                               "127.0.0.1:5000/r:0.1.0", "--no-build"]
    assert seen["env"]["DOCKER_HOST"] == f"unix://{tmp_path / 'no-dockerd-here.sock'}"
    assert not Path(seen["env"]["DOCKER_HOST"][len("unix://"):]).exists()
    assert "DOCKER" not in seen["env"]
    assert record["job_seconds"] == 1.5 and record["reported_seconds"] == 0.6
    assert record["registry_bytes"] == 2900 + 950 + 1600
    assert record["new_blob_bytes"] == 2900 + 900  # the new layer and config (the fake config's size)
    assert record["layers"] == {"changed": 1, "total": 3}
    assert record["check"] == "not checked (no deploy dockerd)"


def test_publish_job_records_a_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = Bench.__new__(Bench)
    bench.poetry, bench.work, bench.logs, bench.secrets = "poetry", tmp_path, tmp_path, []
    bench.registry, bench.deploy, bench.say = FakeRegistry(), None, lambda text: None
    monkeypatch.setattr(bench_module, "run_stamped", lambda *a, **k: (
        2.0, 1, [(1.9, "Cannot publish without a build: dependencies changed since 0.1.0 (--no-build).\n")]))
    record = bench._publish_job(PROJECTS["fastapi"], tmp_path, "127.0.0.1:5000/r",
                                "r", {"image": "127.0.0.1:5000/r:0.1.0", "version": "0.1.0"})
    assert record["error"].startswith("exit 1: Cannot publish without a build: dependencies changed")


def _runner_deps() -> dict:
    return {
        "base_images": ["python:3.11", "python:3.11-slim"],
        "handwritten": {"build_seconds": 40.0, "docker_build_seconds": 39.0, "deps": 30.0, "push_seconds": 9.0,
                        "job_seconds": 49.0, "registry_bytes": 70_000_000, "new_blob_bytes": 69_000_000,
                        "layers": {"changed": 2, "total": 8},
                        "cache_layers": 1, "cache_bytes": 3_000},
        "ours": {"build_seconds": 20.0, "docker_build_seconds": 19.0, "deps": 12.0, "push_seconds": 1.0,
                 "job_seconds": 21.0, "registry_bytes": 30_000, "new_blob_bytes": 900_000,
                 "layers": {"changed": 3, "total": 24},
                 "cache_layers": 14, "cache_bytes": 60_000_000},
    }


def test_runner_deps_rows_are_measured_without_a_target() -> None:
    results = {"projects": {"fastapi": {"builds": {}, "runner_deps": _runner_deps()}}}
    rows = [t for t in evaluate_targets(results) if "dependency-update release" in t.name]
    assert [(t.met, t.measured_only) for t in rows] == [(None, True)] * 3
    assert rows[0].measured == "ours 21.0 s; Dockerfile 2 49.0 s (ours / 2 = 0.43x)"
    assert rows[1].measured == "ours 60.0 MB in 14 layers; Dockerfile 2 3.0 kB in 1 layers"
    assert rows[2].measured == "ours 900 kB; Dockerfile 2 69.0 MB"
    text = render_markdown(results, png_name=None)
    for needle in ("**dependency-update release on an ephemeral runner** (issue 18)",
                   "| **release job: time** | 49.0 s | 21.0 s |",
                   "| dependency install step | 30.0 s | 12.0 s |",
                   "| 3.0 kB (1 layers) | 60.0 MB (14 layers) |",
                   "ours' small layers cost the runner more bytes (they are the dependency layers",
                   "so it installed every dependency again), and ours' release job took 0.43 x Dockerfile 2's time.",
                   "| 69.0 MB | 900 kB |", "| 70.0 MB | 30.0 kB |",
                   "| fastapi: ephemeral runner, dependency-update release (--cache-from + push): time "
                   "| ours 21.0 s; Dockerfile 2 49.0 s (ours / 2 = 0.43x) | *measured* |"):
        assert needle in text, needle
