"""End to end: `--stub-stage` needs nothing but `docker build .`, and `--compile` ships bytecode.

The builder installs this plugin (to run `poetry docker build-context` in the stub
stage) from a pypiserver on loopback holding the wheel of this checkout, found
through PIP_EXTRA_INDEX_URL. Under CI=true a missing Docker engine fails these
tests instead of skipping them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

import pytest
from helpers import REPO, free_port, poetry_executable, wait_for_port
from imagebuild import DOCKERFILE_OPTIONS, PROJECT_STEP, Project

from poetry_plugin_docker import __version__

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.docker
STUB_STEP = "poetry docker build-context --output stub"
# .pyc files of two packages in the image, without importing them (nothing writes bytecode there anyway).
COUNT_BYTECODE = """
import importlib.util, json, pathlib
print(json.dumps({name: len(list(pathlib.Path(importlib.util.find_spec(name).origin).parent.rglob("*.pyc")))
                  for name in ("fastapi", "fastapi_service")}))
"""


@pytest.fixture
def plugin_index(tmp_path: Path, docker: str):
    """A pypiserver on loopback serving this checkout's wheel, with no authentication."""
    packages = tmp_path / "packages"
    subprocess.run(
        [poetry_executable(), "build", "--format", "wheel", "--output", str(packages)],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    assert [wheel.name for wheel in packages.glob("*.whl")] == [f"poetry_plugin_docker-{__version__}-py3-none-any.whl"]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1", "--port", str(port),
         "--authenticate", ".", "--passwords", ".", "--disable-fallback", str(packages)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}/simple/"
    finally:
        server.terminate()
        server.wait(10)


def test_stub_stage_release_cycle_and_compile(project, docker, plugin_index) -> None:
    app = Project(project("example"), docker, "stub-stage")
    # A version no earlier run used: the stub stage's inputs are new, so BuildKit's cache cannot
    # hold them. (The index's port is new too, so the builder installs this run's wheel.)
    app.poetry("version", f"1.{time.time_ns()}.0")
    generate = ["docker", "dockerfile", "--force", *DOCKERFILE_OPTIONS, "--build-arg", "PIP_EXTRA_INDEX_URL"]
    app.poetry(*generate, "--stub-stage")
    index = ["--build-arg", f"PIP_EXTRA_INDEX_URL={plugin_index}"]
    try:
        # 1. `docker build .` alone: no stub on the host, the image serves.
        first = app.build(index, prepare=False)
        assert not (app.root / ".docker-deps").exists(), "build-context never ran on the host"
        plugin_step = f"'poetry-plugin-docker=={__version__}'"
        assert plugin_index.split("/simple/")[0] in first.step_log(plugin_step), "this checkout's wheel, from loopback"
        assert not first.cached(STUB_STEP)
        assert _health(app, first.tag) == {"status": "ok", "version": app.version}

        # 2. A release: the stub stage reruns, its output is the same, the install stays CACHED.
        app.poetry("version", "patch")
        main = app.root / "fastapi_service" / "main.py"
        main.write_text(main.read_text() + f"RELEASED_AT = {time.time_ns()}\n")
        second = app.build(index, prepare=False)
        assert not (app.root / ".docker-deps").exists()
        assert not second.cached(STUB_STEP), "pyproject.toml changed: the stub stage reruns"
        assert second.dependencies_cached(), (
            f"the stub is byte-identical, so the install must be CACHED:\n{second.dependency_log()}"
        )
        assert not second.cached(PROJECT_STEP)
        before, after = app.layers(first.tag), app.layers(second.tag)
        assert len(before) == len(after)
        assert before[:-1] == after[:-1], "every layer below the project layer is unchanged"
        assert before[-1] != after[-1], "the project layer is the last layer and holds the new version"
        assert _health(app, second.tag) == {"status": "ok", "version": app.version}

        # 3. --compile: bytecode for the dependencies and the project, built in the builder;
        # the default image (pip compiles by default, the Dockerfile says --no-compile) has none.
        app.poetry(*generate, "--stub-stage", "--compile")
        compiled = app.build(index, prepare=False)
        assert json.loads(app.python(second.tag, COUNT_BYTECODE)) == {"fastapi": 0, "fastapi_service": 0}
        counts = json.loads(app.python(compiled.tag, COUNT_BYTECODE))
        assert counts["fastapi"] > 10 and counts["fastapi_service"] > 0, counts
    finally:
        app.remove_images()


def _health(app: Project, tag: str) -> object:
    port = free_port()
    container = subprocess.run(
        [app.docker, "run", "-d", "--rm", "--network=host", "-e", f"PORT={port}", tag],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        for _ in range(60):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    return json.load(response)
            except OSError:
                time.sleep(0.5)
        logs = subprocess.run([app.docker, "logs", container], capture_output=True, text=True)
        raise AssertionError(f"no answer on /health:\n{logs.stdout}{logs.stderr}")
    finally:
        subprocess.run([app.docker, "rm", "-f", container], capture_output=True)
