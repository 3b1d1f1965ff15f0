"""End to end: build the generated Dockerfile with a real engine, run the image, bump, rebuild.

Under CI=true a missing Docker engine fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request

import pytest
from helpers import mirror_url, set_in_pyproject
from imagebuild import PROJECT_STEP, Project
from packaging.version import Version

pytestmark = pytest.mark.docker


INSPECT_IMAGE = """
import importlib.metadata as metadata, json, os, shutil, sys
print(json.dumps({
    "uid": os.getuid(),
    "gid": os.getgid(),
    "poetry": shutil.which("poetry"),
    "gcc": shutil.which("gcc") or shutil.which("cc"),
    "caches": [p for p in ("/root/.cache", "/tmp/poetry_cache", "/root/.cache/pip") if os.path.exists(p)],
    "app": sorted(os.listdir("/app")),
    "dist": os.path.exists("/dist"),
    "version": metadata.version(sys.argv[1] if len(sys.argv) > 1 else "%s"),
    "editable": [str(p) for p in metadata.distribution("%s").files if str(p).endswith(".pth")],
}))
"""


@pytest.mark.parametrize(
    ("name", "distribution", "module"),
    [("example", "fastapi-service", "fastapi_service.main"), ("pep621-src", "pep621-app", "pep621_app.cli")],
)
def test_release_cycle(project, docker, name, distribution, module) -> None:
    app = Project(project(name), docker, name)
    try:
        _release_cycle(app, distribution, module)
    finally:
        app.remove_images()


def _release_cycle(app: Project, distribution: str, module: str) -> None:
    # A version no earlier run used, so that BuildKit's cache cannot hold this run's project layers.
    app.poetry("version", f"1.{time.time_ns()}.0")
    # 1. The image builds, runs as a non-root numeric user, and holds only the venv.
    first = app.build()
    facts = json.loads(app.python(first.tag, INSPECT_IMAGE % (distribution, distribution)))
    assert facts["uid"] != 0 and facts["gid"] != 0
    assert facts["poetry"] is None and facts["gcc"] is None
    assert facts["caches"] == [] and facts["dist"] is False
    assert facts["app"] == [".venv"], "no source tree, only the virtualenv"
    assert facts["version"] == app.version
    assert facts["editable"] == [], "the project is installed from a wheel, not editable"
    assert app.inspect(first.tag, "{{.Config.User}}") == "10001:10001"
    assert app.python(first.tag, f"import {module}") == ""
    assert app.inspect(first.tag, '{{index .Config.Labels "org.opencontainers.image.version"}}') == app.version

    # 2. A version bump: dependency step cached, only the project layer changes.
    old_version = app.version
    app.poetry("version", "patch")
    assert app.version != old_version
    second = app.build()
    assert second.dependencies_cached(), "the dependency install must be CACHED after a version bump"
    assert not second.cached(PROJECT_STEP)
    assert app.python(second.tag, f"import importlib.metadata as m; print(m.version('{distribution}'))") == app.version
    before, after = app.layers(first.tag), app.layers(second.tag)
    assert len(before) == len(after)
    changed = [index for index, (old, new) in enumerate(zip(before, after)) if old != new]
    assert changed == [len(before) - 1], ("every layer below the project layer is unchanged", changed, second.log)
    assert before[-1] != after[-1], "the project layer is the last layer and holds the new version"
    assert app.layer_size(second.tag, PROJECT_STEP) < 1_000_000

    # 3. Description and tool configuration edits keep the dependency step cached.
    set_in_pyproject(app.root, "description = ", "description = 'Edited.' #")
    (app.root / "pyproject.toml").write_text(
        (app.root / "pyproject.toml").read_text() + "\n[tool.ruff]\nline-length = 100\n"
    )
    third = app.build()
    assert third.dependencies_cached(), "editing description/[tool.ruff] must not rebuild dependencies"
    assert app.layers(third.tag)[:-1] == after[:-1]

    # 4. A dev-only dependency change, re-locked: the pruned stub is unchanged, the step CACHED.
    stub_before = (app.root / ".docker-deps" / "poetry.lock").read_bytes()
    lock_before = (app.root / "poetry.lock").read_bytes()
    app.poetry("add", "--group", "dev", "--lock", f"pluggy>=1.0,!=1.9999.{time.time_ns()}")
    assert (app.root / "poetry.lock").read_bytes() != lock_before
    dev_bump = app.build()
    assert (app.root / ".docker-deps" / "poetry.lock").read_bytes() == stub_before
    assert dev_bump.dependencies_cached(), "a dev-only lock change must not rebuild the dependencies"
    assert app.layers(dev_bump.tag)[:-1] == after[:-1]

    # 5. A new main dependency: its dependency layer changes and the package imports. (Its install
    # step may be CACHED: an earlier run on this engine installed the same requirements files.)
    app.poetry("add", "--lock", f"six>=1.16,!=1.9999.{time.time_ns()}")
    fourth = app.build()
    assert (app.root / ".docker-deps" / "poetry.lock").read_bytes() != stub_before
    assert app.layers(fourth.tag)[:-1] != after[:-1], (
        f"a new dependency must change a dependency layer:\n{fourth.dependency_log()}"
    )
    assert app.python(fourth.tag, "import six; print(six.__name__)") == "six"


def test_example_serves_http(project, docker) -> None:
    app = Project(project("example"), docker, "example-http")
    try:
        build = app.build()
        port = 18000 + os.getpid() % 1000
        container = subprocess.run(
            [docker, "run", "-d", "--rm", "--network=host", "-e", f"PORT={port}", build.tag],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        try:
            body = None
            for _ in range(60):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                        body = json.load(response)
                    break
                except OSError:
                    time.sleep(0.5)
            assert body == {"status": "ok", "version": app.version}
        finally:
            subprocess.run([docker, "rm", "-f", container], capture_output=True)
    finally:
        app.remove_images()


def test_non_package_application(project, docker) -> None:
    app = Project(project("non-package"), docker, "non-package")
    # A hand-written .dockerignore that would hide the stub, and local state that must stay out.
    (app.root / ".dockerignore").write_text(".*\n")
    (app.root / "webapp" / "__pycache__").mkdir()
    (app.root / "webapp" / "__pycache__" / "settings.cpython-311.pyc").write_bytes(b"stale")
    try:
        build = app.build()
        assert app.dependency_layers(build.tag) == 15
        assert app.python(build.tag, "import os; print(sorted(os.listdir('/app/webapp')))") == (
            "['__init__.py', 'settings.py']"
        )
        assert app.python(build.tag, "import webapp.settings as s; print(s.GREETING)") == "hello from webapp"
        output = subprocess.run(
            [docker, "run", "--rm", "--network=none", build.tag, "python", "manage.py"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert output.startswith("webapp ")
        listing = app.python(build.tag, "import os; print(sorted(os.listdir('/app')))")
        assert listing == "['.venv', 'manage.py', 'webapp']"
    finally:
        app.remove_images()


def test_monorepo_path_dependency_is_installed_non_editable(project, docker) -> None:
    app = Project(project("monorepo/services/api"), docker, "monorepo-api")
    try:
        build = app.build()
        assert app.dependency_layers(build.tag) == 15, "a path dependency in per-package layers too (Poetry's split)"
        output = subprocess.run(
            [docker, "run", "--rm", "--network=none", build.tag], capture_output=True, text=True, check=True
        ).stdout
        assert output.strip() == "api core example.com"
        facts = json.loads(
            app.python(
                build.tag,
                "import core, json, os, importlib.metadata as m; print(json.dumps({"
                "'file': core.__file__, 'sources': [p for p in ('/src', '/libs', '/app/libs') if os.path.exists(p)],"
                "'pth': [str(f) for f in m.distribution('core').files if str(f).endswith('.pth')]}))",
            )
        )
        assert facts == {"file": "/app/.venv/lib/python3.11/site-packages/core/__init__.py", "sources": [], "pth": []}

        # A version bump of the service keeps the dependency layer; a library change rebuilds it.
        app.poetry("version", "patch")
        assert app.build().dependencies_cached()
        library = app.root.parent.parent / "libs" / "core" / "core" / "__init__.py"
        library.write_text(library.read_text() + f"VARIANT = {time.time_ns()}\n")
        changed = app.build()
        assert not changed.dependencies_cached()
        assert app.python(changed.tag, "import core; print(core.VARIANT > 0)") == "True"
    finally:
        app.remove_images()


def test_monorepo_dev_only_path_dependency(project, docker) -> None:
    app = Project(project("monorepo/services/worker"), docker, "monorepo-worker")
    try:
        build = app.build()
        output = subprocess.run(
            [docker, "run", "--rm", "--network=none", build.tag], capture_output=True, text=True, check=True
        ).stdout
        assert output.startswith("worker ")
        assert app.python(build.tag, "import importlib.util as u; print(u.find_spec('testkit'))") == "None"
    finally:
        app.remove_images()


def test_build_command_tags_labels_and_passes_build_args(project, docker) -> None:
    app = Project(project("example"), docker, "build-command")
    (app.root / "pyproject.toml").write_text(
        (app.root / "pyproject.toml").read_text()
        + '\n[tool.poetry-plugin-docker]\nsyntax = "none"\nbuilder-plugins = ["poetry-plugin-pypi-mirror"]\n'
        'build-args = ["POETRY_PYPI_MIRROR_URL"]\n'
    )
    subprocess.run(["git", "init", "-q"], cwd=app.root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x", "--allow-empty"],
        cwd=app.root,
        check=True,
    )
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=app.root, capture_output=True, text=True).stdout.strip()
    app.poetry("docker", "dockerfile")
    name = f"ppd-e2e-build-{os.getpid()}"
    output = app.poetry("docker", "build", "--tag", name, "--", "--network=host")
    try:
        version = app.version
        assert f"Built {name}:{version} and {name}:latest." in output
        assert "--build-arg POETRY_PYPI_MIRROR_URL " in output, "the value comes from the environment"
        assert mirror_url() not in output
        for tag in (f"{name}:{version}", f"{name}:latest"):
            labels = json.loads(app.inspect(tag, "{{json .Config.Labels}}"))
            assert labels["org.opencontainers.image.version"] == version
            assert labels["org.opencontainers.image.revision"] == revision
    finally:
        subprocess.run([docker, "rmi", "-f", f"{name}:latest", f"{name}:{app.version}"], capture_output=True)


def test_requires_plugins_are_installed_next_to_poetry(project, docker) -> None:
    app = Project(project("classic"), docker, "requires-plugins")
    # (With Poetry in the builder: the default, uv, runs no Poetry and needs no plugin.)
    plugins_table = (
        '[tool.poetry.requires-plugins]\npoetry-plugin-export = ">=1.8"\n\n'
        '[tool.poetry-plugin-docker]\ninstaller = "poetry"\n\n'
    )
    set_in_pyproject(app.root, "[tool.poetry.scripts]", plugins_table + "[tool.poetry.scripts]")
    try:
        build = app.build()
        output = subprocess.run(
            [docker, "run", "--rm", "--network=none", build.tag], capture_output=True, text=True, check=True
        ).stdout
        assert output.startswith("classic-app ")
        # The builder's Poetry itself, not its build log (a CACHED step proves nothing): the poetry stage.
        poetry_stage = app.build(["--target", "poetry"], prepare=False).tag

        def in_poetry_stage(*command: str) -> str:
            result = subprocess.run(
                [docker, "run", "--rm", "--network=none", poetry_stage, *command], capture_output=True, text=True
            )
            assert result.returncode == 0, result.stdout + result.stderr
            return result.stdout

        version = in_poetry_stage(
            "/opt/poetry/bin/python", "-c", "import importlib.metadata as m; print(m.version('poetry-plugin-export'))"
        ).strip()
        assert Version(version) >= Version("1.8"), version
        plugins = in_poetry_stage("poetry", "self", "show", "plugins")
        assert re.search(rf"^\s*- poetry-plugin-export \({re.escape(version)}\)", plugins, re.MULTILINE), plugins
    finally:
        app.remove_images()


def test_non_package_application_with_an_optional_group(project, docker) -> None:
    app = Project(project("non-package"), docker, "non-package-with")
    (app.root / "pyproject.toml").write_text(
        (app.root / "pyproject.toml").read_text() + '\n[tool.poetry-plugin-docker]\nwith = ["dev"]\n'
    )
    try:
        build = app.build()
        assert app.python(build.tag, "import iniconfig, six; print('ok')") == "ok"
    finally:
        app.remove_images()
