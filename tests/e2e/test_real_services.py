"""What real services need, built and run with the real engine (issue 9).

- C extensions built from sdists against system libraries: the builder gets the -dev
  packages named, the runtime image the shared libraries' packages, found by themselves;
- migrations and configuration copied in, an entrypoint script that `exec`s the
  application, a writable data directory, EXPOSE and HEALTHCHECK;
- a version bump still changes only the project's layer: the apt layers stay CACHED;
- a project without runtime dependencies builds, with the same promise;
- a package name apt does not know fails the build, naming it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request

import pytest
from helpers import mirror_url, poetry_executable, set_in_pyproject
from imagebuild import DOCKERFILE_OPTIONS, PROJECT_STEP, Build, Project

pytestmark = pytest.mark.docker

SERVICE_OPTIONS = [
    *DOCKERFILE_OPTIONS,
    *("--builder-package", "libpq-dev", "--builder-package", "libldap2-dev", "--builder-package", "libsasl2-dev"),
    *("--include", "migrations", "--include", "config/app.ini:/etc/service-app/app.ini"),
    *("--entrypoint-script", "docker-entrypoint.sh", "--data-dir", "data"),
    "--port",
    "8000",
    "--healthcheck",
    "python -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:8000/health\")'",
]
RUNTIME_APT_STEP = "apt-get install -y --no-install-recommends < /mnt/runtime-packages"
BUILDER_APT_STEP = "apt-get install -y --no-install-recommends libpq-dev libldap2-dev libsasl2-dev"
LOOKUP_STEP = "python /tmp/runtime-packages.py /layers /mnt"


def _run(docker: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([docker, *args], capture_output=True, text=True)


def _wait_until_healthy(docker: str, container: str) -> str:
    status = ""
    for _ in range(120):
        status = _run(docker, "inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
        if status == "healthy":
            return status
        time.sleep(0.5)
    return status


def test_a_service_with_system_libraries_builds_starts_and_keeps_its_cache(project, docker) -> None:
    app = Project(project("service"), docker, "service")
    prepare = ("docker", "dockerfile", *SERVICE_OPTIONS)
    try:
        app.poetry("docker", "build-context")
        app.poetry(*prepare)
        # Not --no-cache: on an engine shared with other builds, the builds after a --no-cache one can
        # take some steps from another cache record, and the release's layer comparison would be off.
        first = app.build(prepare=False)
        # The deps stage found the packages of the libraries psycopg2 and python-ldap link (its log,
        # unless an earlier run on this engine left the step cached; the image is checked below anyway).
        if not first.cached(LOOKUP_STEP):
            lookup = first.step_log(LOOKUP_STEP)
            assert "runtime-packages: libpq5 for libpq.so.5" in lookup, lookup
            assert re.search(r"runtime-packages: libldap-2\.\d+-0 for liblber", lookup), lookup
            assert "runtime-packages: libsasl2-2 for libsasl2.so.2" in lookup, lookup
        packages = _run(docker, "run", "--rm", "--network=none", "--entrypoint", "dpkg-query", first.tag,
                        "-W", "-f", "${Package}\n", "libpq5", "libsasl2-2", "libldap-2*")  # fmt: skip
        assert packages.returncode == 0, packages.stderr
        assert {"libpq5", "libsasl2-2"} <= set(packages.stdout.split()), packages.stdout
        assert any(name.startswith("libldap-2") for name in packages.stdout.split()), packages.stdout

        # Installed in the runtime image: the libraries, not the headers nor a compiler.
        probe = _run(
            docker, "run", "--rm", "--network=none", "--entrypoint", "sh", first.tag, "-c",
            "dpkg -s libpq5 >/dev/null && echo libpq5; dpkg -s libpq-dev >/dev/null 2>&1 && echo libpq-dev; "
            "command -v gcc || echo no-gcc; ls /var/lib/apt/lists | wc -l; stat -c %U /app/data /app/migrations; "
            "touch /app/data/w && echo data-writable; touch /app/x 2>/dev/null || echo app-read-only; "
            "mkdir -p ~/.config/service && echo home-writable",
        )  # fmt: skip
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.split() == [
            "libpq5", "no-gcc", "0", "app", "root", "data-writable", "app-read-only", "home-writable",
        ]  # fmt: skip

        config = json.loads(app.inspect(first.tag, "{{json .Config}}"))
        assert config["ExposedPorts"] == {"8000/tcp": {}}
        assert config["Entrypoint"] == ["/app/docker-entrypoint.sh"] and config["Cmd"] == ["service-app"]
        assert config["Healthcheck"]["Test"][:3] == ["CMD", "python", "-c"]

        # It starts: the entrypoint script runs, then the application (imports psycopg2 and ldap),
        # which becomes healthy and stops at once on `docker stop`, the signal reaching it through `exec`.
        port = 18100 + int(time.time()) % 400
        container = _run(docker, "run", "-d", "--network=host", "-e", f"PORT={port}", first.tag).stdout.strip()
        try:
            for _ in range(60):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                        assert response.read() == b"ok\n"
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                raise AssertionError(_run(docker, "logs", container).stderr)
            start = time.monotonic()
            _run(docker, "stop", container)
            seconds = time.monotonic() - start
            logs = _run(docker, "logs", container)
        finally:
            _run(docker, "rm", "-f", container)
        output = logs.stdout + logs.stderr
        assert "entrypoint: 1 migration(s) to apply, config 1 line(s)" in output, output
        assert "migrations 0001_accounts.sql" in output and "service stopped" in output, output
        assert seconds < 3, f"docker stop took {seconds:.1f} s"

        # A release: every layer but the project's is the same, the apt steps CACHED.
        set_in_pyproject(app.root, "version = \"2.4.0\"", "version = \"2.4.1\"")
        app.poetry("docker", "build-context")
        app.poetry(*prepare)
        second = app.build(prepare=False)
        for step in (BUILDER_APT_STEP, RUNTIME_APT_STEP, LOOKUP_STEP):
            assert second.cached(step), step
        assert second.dependencies_cached(), second.dependency_log()
        before, after = app.layers(first.tag), app.layers(second.tag)
        changed = [index for index, (old, new) in enumerate(zip(before, after)) if old != new]
        assert changed == [len(before) - 1], (changed, len(before))  # the project's, the last
        assert app.layer_size(second.tag, PROJECT_STEP) < 10_000
    finally:
        app.remove_images()


def test_a_healthy_service_reports_healthy(project, docker) -> None:
    app = Project(project("service"), docker, "service-health")
    try:
        app.poetry("docker", "build-context")
        app.poetry("docker", "dockerfile", *SERVICE_OPTIONS)
        build = app.build(prepare=False)
        container = _run(docker, "run", "-d", "--network=host", "--health-interval=1s", build.tag).stdout.strip()
        try:
            assert _wait_until_healthy(docker, container) == "healthy"
        finally:
            _run(docker, "rm", "-f", container)
    finally:
        app.remove_images()


def test_a_project_without_runtime_dependencies_builds_and_keeps_the_version_promise(project, docker) -> None:
    # PEP 621 with no `dependencies`: Poetry has no main group, and `--only main` would stop the
    # build. The readme lives in docs/, which a multi-file COPY would flatten to /app/README.md.
    app = Project(project("pep621-src"), docker, "no-dependencies")
    set_in_pyproject(app.root, 'dependencies = ["idna>=3.4"]\n', "")
    set_in_pyproject(app.root, 'readme = "README.md"', 'readme = "docs/README.md"')
    (app.root / "docs").mkdir()
    (app.root / "README.md").rename(app.root / "docs" / "README.md")
    app.poetry("lock")
    try:
        first = app.build()
        assert "poetry install" not in (app.root / "Dockerfile").read_text()
        assert app.python(first.tag, "import pep621_app; print('ok')") == "ok"
        set_in_pyproject(app.root, 'version = "2.0.0"', 'version = "2.0.1"')
        second = app.build()
        deps_venv = r"^(#\d+) \[deps [^\]]*\] RUN python -m venv --without-pip /app/.venv$"
        empty_venv = re.search(deps_venv, second.log, re.MULTILINE)
        assert empty_venv and f"\n{empty_venv.group(1)} CACHED" in second.log, second.log
        before, after = app.layers(first.tag), app.layers(second.tag)
        assert [i for i, (old, new) in enumerate(zip(before, after)) if old != new] == [len(before) - 1]
    finally:
        app.remove_images()


def test_a_package_apt_does_not_know_fails_the_build_naming_it(project, docker) -> None:
    app = Project(project("classic"), docker, "unknown-package")
    app.poetry("docker", "build-context")
    app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS, "--runtime-package", "no-such-package-ppd")
    command = app.docker_build_command(f"ppd-e2e-{app.name}:failed")
    result = subprocess.run(command, cwd=app.root, env=app.env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Unable to locate package no-such-package-ppd" in result.stderr, result.stderr[-3000:]



def _git(root, *args: str) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com", *args], cwd=root, check=True)


def test_a_version_from_git_tags_reaches_the_wheel_and_a_new_tag_keeps_the_dependencies(project, docker) -> None:
    # poetry-dynamic-versioning as the build backend, version = "0.0.0", no .git in the context.
    app = Project(project("dynamic-version"), docker, "dynamic-version")
    _git(app.root, "init", "-q")
    _git(app.root, "add", "-A")
    _git(app.root, "commit", "-qm", "release")
    _git(app.root, "tag", "v1.4.0")
    image = f"ppd-e2e-{app.name}"

    def poetry_docker_build() -> str:
        result = subprocess.run(
            [poetry_executable(), "docker", "build", "--tag", image, "--", "--network=host", "--progress=plain"],
            cwd=app.root, env=app.env, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr[-4000:]
        return result.stdout + result.stderr

    try:
        app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)
        first = poetry_docker_build()
        assert f"-t {image}:1.4.0 -t {image}:latest" in first, first
        code = "from importlib.metadata import version; print(version('dynver-app'))"
        assert app.python(f"{image}:1.4.0", code) == "1.4.0"
        assert app.dependency_layers(f"{image}:1.4.0") == 15
        assert app.inspect(f"{image}:1.4.0", '{{index .Config.Labels "org.opencontainers.image.version"}}') == "1.4.0"

        # Without VERSION (a plain `docker build`), the build stops with the way out.
        plain = [docker, "build", "--network=host", "--build-arg", f"POETRY_PYPI_MIRROR_URL={mirror_url()}", "."]
        failed = subprocess.run(plain, cwd=app.root, env=app.env, capture_output=True, text=True)
        assert failed.returncode != 0
        assert "VERSION is not set, and the version comes from git tags: build with poetry docker build" in (
            failed.stderr
        )

        # The next release, a new commit and tag: the wheel has its version, the dependencies stay CACHED.
        module = app.root / "dynver_app" / "__init__.py"
        module.write_text(module.read_text() + "# next release\n")
        _git(app.root, "commit", "-qam", "next")
        _git(app.root, "tag", "v1.5.0")
        second = poetry_docker_build()
        assert Build(second, f"{image}:1.5.0").dependencies_cached(), second[-4000:]
        assert app.python(f"{image}:1.5.0", code) == "1.5.0"
        assert app.layers(f"{image}:1.5.0")[:-1] == app.layers(f"{image}:1.4.0")[:-1]
    finally:
        tags = [f"{image}:{tag}" for tag in ("1.4.0", "1.5.0", "latest")]
        subprocess.run([docker, "rmi", "-f", *tags], capture_output=True)
