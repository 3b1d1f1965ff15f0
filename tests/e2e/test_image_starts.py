"""An image that builds is an image that starts: real builds that must fail, real stops.

- path dependencies end up non-editable, whichever group declared them editable;
- the runtime image's self-check (check-venv.py) fails the build, naming the
  distribution, for an editable install, a RECORD naming missing files, and a
  compiled extension whose shared library the runtime image lacks;
- `docker stop` ends a plain Python entrypoint within 3 s with its `finally` blocks
  run, and the bundled FastAPI example shuts down gracefully.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request

import pytest
from helpers import set_in_pyproject
from imagebuild import CHECK_STEP, DOCKERFILE_OPTIONS, Project

pytestmark = pytest.mark.docker

LOOKUP_STEP = "python /tmp/runtime-packages.py"


def _failed_build(app: Project, extra: list[str] = ()) -> str:  # type: ignore[assignment]
    """Build the Dockerfile as it is (stub and Dockerfile already written); the build must fail."""
    command = app.docker_build_command(f"ppd-e2e-{app.name}:failed", list(extra))
    result = subprocess.run(command, cwd=app.root, env=app.env, capture_output=True, text=True)
    assert result.returncode != 0, f"the build must fail:\n{result.stderr[-4000:]}"
    return result.stderr


def _prepare(app: Project) -> None:
    app.poetry("docker", "build-context")
    app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)


def test_an_editable_override_is_installed_non_editable(project, docker) -> None:
    # main: six from the index; dev: six from ../../libs/six-fork, develop = true. Poetry locks
    # the directory source with develop = true for both groups.
    app = Project(project("monorepo/services/gateway"), docker, "gateway")
    try:
        # --no-cache: the self-check must run here (an earlier run's layer cache would make it CACHED).
        build = app.build(["--no-cache"])
        assert "develop = false" in (app.root / ".docker-deps/services/gateway/poetry.lock").read_text()
        output = subprocess.run(
            [docker, "run", "--rm", "--network=none", build.tag], capture_output=True, text=True, check=True
        ).stdout
        assert output.split() == ["gateway", "six-fork", "/app/.venv/lib/python3.11/site-packages/six.py"]
        assert "check-venv: " in build.step_log(CHECK_STEP) and " ok" in build.step_log(CHECK_STEP)
    finally:
        app.remove_images()


def test_the_build_fails_on_an_editable_install(project, docker) -> None:
    app = Project(project("monorepo/services/gateway"), docker, "gateway-editable")
    _prepare(app)
    # A stub lock as the 0.1 plugin wrote it for this project: the fork installs editable.
    stub_lock = app.root / ".docker-deps/services/gateway/poetry.lock"
    stub_lock.write_text(stub_lock.read_text().replace("develop = false", "develop = true"))
    log = _failed_build(app)
    assert re.search(r"check-venv: six 1\.17\.0\.post1: is installed editable from file:///src/libs/six-fork", log), log
    assert "six-fork to sys.path, outside the virtualenv" in log or "/src/libs/six-fork to sys.path" in log, log
    assert "this image would fail at run time, so the build stops here" in log


def test_the_build_fails_on_a_record_naming_missing_files(project, docker) -> None:
    # A project with a path dependency (six-fork, which installs six.py): the check runs after all layers.
    app = Project(project("monorepo/services/gateway"), docker, "record-missing")
    _prepare(app)
    # What a hand-made slimming step does: delete files of an installed distribution.
    dockerfile = app.root / "Dockerfile"
    text = dockerfile.read_text()
    before_the_check = "# Check the virtualenv against this image"
    assert text.index("/layer/15/ /") < text.index(before_the_check)
    text = text.replace(before_the_check, f"RUN rm /app/.venv/lib/python3.11/site-packages/six.py\n{before_the_check}")
    dockerfile.write_text(text)
    log = _failed_build(app)
    assert "check-venv: six 1.17.0.post1: RECORD names 1 missing file: six.py" in log, log


CURL_EXTENSION_SETUP = """
from setuptools import Extension, setup

# Links a library the builder image has (git's libcurl) and the slim runtime image has not.
setup(ext_modules=[Extension(
    "curlext._native", ["curlext/_native.c"],
    extra_link_args=["-Wl,--no-as-needed", "-l:libcurl-gnutls.so.4"],
)])
"""
HAND_BUILT_LIBRARY_SETUP = """
import subprocess

from setuptools import Extension, setup

# A library built by hand in the builder, as some projects' Dockerfiles do: no Debian package has it.
subprocess.run(
    ["gcc", "-shared", "-fPIC", "-o", "/usr/local/lib/libppdhandmade.so", "-x", "c", "-"],
    input=b"int ppd_handmade(void) { return 1; }\\n", check=True,
)
subprocess.run(["ldconfig"], check=True)
setup(ext_modules=[Extension(
    "curlext._native", ["curlext/_native.c"],
    library_dirs=["/usr/local/lib"], extra_link_args=["-Wl,--no-as-needed", "-lppdhandmade"],
)])
"""
CURL_EXTENSION_C = """
#include <Python.h>
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
"""


def _with_extension(app: Project, setup_py: str) -> None:
    library = app.root.parent / "curlext"
    (library / "curlext").mkdir(parents=True)
    (library / "curlext" / "__init__.py").write_text("from curlext import _native\n")
    (library / "curlext" / "_native.c").write_text(CURL_EXTENSION_C)
    (library / "setup.py").write_text(setup_py)
    (library / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "curlext"\nversion = "1.0.0"\n\n[tool.setuptools]\npackages = ["curlext"]\n'
    )
    app.poetry("add", "--lock", "../curlext")
    _prepare(app)


def test_a_shared_library_the_runtime_lacks_is_installed_by_its_package(project, docker) -> None:
    # libcurl-gnutls.so.4 is in the builder (libcurl3-gnutls, git's) and not in slim: the deps
    # stage finds its package, the runtime image installs it, and the extension imports.
    app = Project(project("classic"), docker, "missing-library")
    _with_extension(app, CURL_EXTENSION_SETUP)
    try:
        build = app.build(prepare=False)
        if not build.cached(LOOKUP_STEP):  # (an earlier run on this engine may have it cached)
            assert "runtime-packages: libcurl3-gnutls for libcurl-gnutls.so.4" in build.log, build.log[-4000:]
        installed = subprocess.run(
            [docker, "run", "--rm", "--network=none", "--entrypoint", "dpkg", build.tag, "-s", "libcurl3-gnutls"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert installed.returncode == 0 and "Status: install ok installed" in installed.stdout, installed.stderr
        assert app.python(build.tag, "import curlext; print('imported')") == "imported"
    finally:
        app.remove_images()


def test_the_build_fails_on_a_shared_library_no_package_provides(project, docker) -> None:
    app = Project(project("classic"), docker, "handmade-library")
    _with_extension(app, HAND_BUILT_LIBRARY_SETUP)
    log = _failed_build(app, ["--no-cache"])  # the lookup's message, not a cached step
    assert "runtime-packages: /usr/local/lib/libppdhandmade.so (for lib/python3.11/site-packages/curlext" in log, log
    assert re.search(
        r"check-venv: curlext 1\.0\.0: lib/python3\.11/site-packages/curlext/_native\.cpython-311-x86_64-linux-gnu\.so "
        r"needs libppdhandmade\.so, not found in the runtime image: install the Debian package that provides it "
        r"with --runtime-package",
        log,
    ), log


WORKER = '''import sys
import time


def main() -> None:
    print("worker started", flush=True)
    try:
        while True:
            time.sleep(0.1)
    finally:
        print("worker finally ran", flush=True)
        sys.stdout.flush()
'''


def _stop(docker: str, container: str) -> tuple[float, str]:
    start = time.monotonic()
    subprocess.run([docker, "stop", container], capture_output=True, check=True)
    seconds = time.monotonic() - start
    logs = subprocess.run([docker, "logs", container], capture_output=True, text=True, check=True)
    subprocess.run([docker, "rm", "-f", container], capture_output=True)
    return seconds, logs.stdout + logs.stderr


def _wait_for_log(docker: str, container: str, text: str) -> None:
    for _ in range(100):
        logs = subprocess.run([docker, "logs", container], capture_output=True, text=True)
        if text in logs.stdout + logs.stderr:
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in the logs of {container}")


def test_docker_stop_ends_a_plain_python_worker_quickly(project, docker) -> None:
    app = Project(project("classic"), docker, "stop-worker")
    (app.root / "classic_app" / "__init__.py").write_text(WORKER)
    try:
        build = app.build()
        assert app.inspect(build.tag, "{{.Config.StopSignal}}") == "SIGINT"
        container = subprocess.run(
            [docker, "run", "-d", "--network=none", build.tag], capture_output=True, text=True, check=True
        ).stdout.strip()
        _wait_for_log(docker, container, "worker started")
        seconds, logs = _stop(docker, container)
        assert seconds < 3, f"docker stop took {seconds:.1f} s"
        assert "worker finally ran" in logs

        # The control: with SIGTERM, Python as PID 1 ignores the signal and is killed, finally unrun.
        subprocess.run([docker, "rmi", "-f", build.tag], capture_output=True)
        app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS, "--stop-signal", "SIGTERM")
        sigterm = app.build(prepare=False)
        assert app.inspect(sigterm.tag, "{{.Config.StopSignal}}") == "SIGTERM"
        container = subprocess.run(
            [docker, "run", "-d", "--network=none", sigterm.tag], capture_output=True, text=True, check=True
        ).stdout.strip()
        _wait_for_log(docker, container, "worker started")
        start = time.monotonic()
        subprocess.run([docker, "stop", "-t", "2", container], capture_output=True, check=True)
        assert time.monotonic() - start >= 2, "SIGTERM should have been ignored until the kill"
        logs = subprocess.run([docker, "logs", container], capture_output=True, text=True).stdout
        subprocess.run([docker, "rm", "-f", container], capture_output=True)
        assert "worker finally ran" not in logs
    finally:
        app.remove_images()


def test_docker_stop_shuts_the_fastapi_example_down_gracefully(project, docker) -> None:
    app = Project(project("example"), docker, "stop-example")
    try:
        build = app.build()
        port = 18500 + int(time.time()) % 400
        container = subprocess.run(
            [docker, "run", "-d", "--network=host", "-e", f"PORT={port}", build.tag],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        for _ in range(60):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        seconds, logs = _stop(docker, container)
        assert seconds < 3, f"docker stop took {seconds:.1f} s"
        assert "Application shutdown complete." in logs and "Finished server process" in logs, logs
    finally:
        app.remove_images()


def test_gunicorn_keeps_sigterm(project, docker, tmp_path) -> None:
    # gunicorn's graceful shutdown is SIGTERM (SIGINT stops its workers at once): the default follows it.
    app = Project(project("example"), docker, "gunicorn")
    app.poetry("add", "--lock", "gunicorn>=21")
    _prepare(app)
    text = (app.root / "Dockerfile").read_text()
    assert "STOPSIGNAL SIGTERM\n" in text and "gunicorn's graceful shutdown" in text
    set_in_pyproject(app.root, "[tool.poetry", '[tool.poetry-plugin-docker]\nstop-signal = "SIGQUIT"\n\n[tool.poetry')
    app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)
    assert "STOPSIGNAL SIGQUIT\n" in (app.root / "Dockerfile").read_text()
