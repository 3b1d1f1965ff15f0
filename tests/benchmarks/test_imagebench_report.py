"""The image benchmark's Markdown and PNG renderings, from a made-up result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from imagebench.analysis import DOCKERFILES, MB, SCENARIOS
from imagebench.report import render_chart, render_markdown

if TYPE_CHECKING:
    from pathlib import Path


def _results(ours_bump: float = 5.2) -> dict:
    builds = {
        scenario: {
            dockerfile: {"seconds": 10.0 + i + j, "deps": "cached" if dockerfile == "ours" else 9.0}
            for j, dockerfile in enumerate(DOCKERFILES)
        }
        for i, scenario in enumerate(SCENARIOS)
    }
    builds["code"]["ours"]["seconds"] = 5.0
    builds["bump"]["ours"].update(seconds=ours_bump)
    for dockerfile, docker, poetry in (("naive", 12.0, 1.0), ("handwritten", 12.5, 0.9), ("ours", 3.9, 1.3)):
        builds["bump"][dockerfile].update(docker_build_seconds=docker, poetry_seconds=poetry)
    release = {
        dockerfile: {
            "layers": {"changed": 1, "total": 6}, "bytes_added": 4321 if dockerfile == "ours" else 250 * MB,
            "push_seconds": 1.0, "push_bytes": 2000, "release_job_seconds": 6.2, "pull_seconds": 0.5,
            "pull_bytes": 2100, "ci_layers": {"changed": 1, "total": 6}, "ci_bytes_added": 4400,
        }
        for dockerfile in DOCKERFILES
    }
    release["pull_method"] = "a second dockerd, `docker pull`"
    sizes = {d: {"image": 300 * MB, "base": 191 * MB, "base_image": "python:3.11-slim", "venv": 108 * MB}
             for d in DOCKERFILES}
    sizes["naive"]["venv"] = None
    return {
        "run_id": "20260101-000000",
        "started": "2026-01-01 00:00 UTC",
        "minutes": 31.5,
        "machine": {"cpus": 2, "cpu_model": "Test CPU", "ram_gib": 23.6, "kernel": "6.1",
                    "docker_server": "20.10.24", "docker_client": "20.10.24", "poetry": "2.5.1",
                    "plugin": "0.1.0", "registry": "2.8.2", "load_start": "0.1", "load_end": "0.2"},
        "method": ["Every build is timed."],
        "notes": ["A finding."],
        "compile_skipped": "The `ours + --compile` row was skipped.",
        "projects": {
            "fastapi": {"title": "FastAPI example", "description": "desc", "builds": builds,
                        "bumps": {"dev": "pytest a → b", "main": "uvicorn c → d"},
                        "release": release, "sizes": sizes, "import_statement": "import fastapi",
                        "compile": {"runs": 7, "plain_seconds": 0.8, "plain_image": 300 * MB}},
        },
    }


def test_markdown_has_every_scenario_the_targets_and_the_machine() -> None:
    text = render_markdown(_results())
    for needle in ("rebuild after `poetry version patch`", "cache mounts emptied (CI runner)",
                   "dev-only dependency bump", "2 CPUs (Test CPU)", "Docker Engine 20.10.24",
                   "| fastapi: our version-bump rebuild <= 1.2 x our rebuild after a one-line code change "
                   "| 1.04x | **met** |",
                   "not measured", "4.3 kB", "250 MB", "A finding.", "albertazzir",
                   "| 12.0 s · 12.5 s · 3.9 s · – (3.21) | 1.0 s · 0.90 s · 1.3 s · – |",
                   "| 12.0 s · deps 9.0 s | 13.0 s · deps 9.0 s | 5.0 s · deps cached | 15.0 s · deps 9.0 s | 2.60 "
                   "| – · – · – · – (–) | – · – · – · – |",
                   "`poetry version -s` then `docker build -t NAME:<version> --build-arg VERSION=<version>",
                   "| `docker build` alone: 1 · 2 · 3 · 4 (2 / 3) | Poetry's part: 1 · 2 · 3 · 4 |",
                   "The `ours + --compile` row was skipped.", "![build times and release bytes](benchmarks.png)",
                   "The one concession 1, 2 and 4 make to this machine",
                   "4. **ours, `installer = \"poetry\"`**", "| 3 ours (default) |",
                   "*measured*",
                   "| `poetry docker build-context` adds <= 150 ms to `poetry --version` | not measured |"):
        assert needle in text, needle


def test_markdown_has_the_dev_bump_layers() -> None:
    results = _results()
    results["projects"]["fastapi"]["dev_layers"] = {
        d: {"layers": {"changed": 1, "total": 22}, "bytes_added": 4000,
            "dependency_layers": {"changed": 0, "total": 15}} for d in ("ours", "poetry")}
    text = render_markdown(results)
    assert "| **dependency layers whose digest changed** | – | – | 0 of 15 | 0 of 15 |" in text
    assert ("| fastapi: a dev-only dependency bump keeps every dependency layer of our image "
            "| 0 of 15 dependency layers changed (1 of 22 layers in all, 4.0 kB) | **met** |") in text


def test_markdown_marks_a_missed_target() -> None:
    text = render_markdown(_results(ours_bump=6.5))
    assert "| 1.30x | **MISSED** |" in text


def test_markdown_target_gives_the_docker_build_ratio_beside_the_job_ratio() -> None:
    results = _results()
    results["projects"]["fastapi"]["builds"]["code"]["ours"]["docker_build_seconds"] = 3.0
    text = render_markdown(results)
    assert "| 1.04x (`docker build` alone: 1.30x) | **met** |" in text


def test_chart_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "chart.png"
    render_chart(_results(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
