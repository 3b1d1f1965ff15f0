"""The runtime image's self-check (check-venv.py) on real wheels: no false alarms, and the true ones.

- Images of popular wheels with compiled extensions build and import, with either installer:
  on numpy 1.26.4 (its vendored OpenBLAS needs a libgfortran that only its own RPATH finds) with
  scipy, pandas, pyarrow, Pillow, lxml, both psycopg drivers' binary wheels, grpcio, cryptography,
  orjson, pydantic-core, OpenCV, shapely, pyproj, h5py, onnxruntime, tokenizers, rapidfuzz, regex
  and ibm_db (whose wheel bundles IBM's clidriver), and on numpy 2 with the ones built for it.
  Libraries that a wheel vendors for its own extensions are no missing libraries of the image.
- A compiled extension whose shared library the runtime image lacks fails the build, naming the
  distribution and the library: pyodbc's wheel (libodbc.so.2, which it does not vendor and no
  image here has) as generated; and, once the Dockerfile installs no runtime packages, psycopg2
  (libpq.so.5) and python-ldap (libldap), both built from source in the builder, too.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from imagebuild import CHECK_STEP, DOCKERFILE_OPTIONS, Build, Project

pytestmark = pytest.mark.docker

RUNTIME_PACKAGES = "> /deps/runtime-packages"

# Every module imported in one interpreter; then numpy's version and, when imported, the
# implementation psycopg 3 loaded ("binary": psycopg-binary's compiled one, not the pure-Python one).
IMPORT_ALL = """
import importlib, sys
modules = {name: importlib.import_module(name) for name in sys.argv[1:]}
print("numpy", modules["numpy"].__version__)
if "psycopg" in modules:
    print("psycopg", modules["psycopg"].pq.__impl__)
print("imported", len(modules), "ok")
"""
NUMPY_DEPENDENT = [
    "scipy.linalg", "scipy.sparse", "pandas", "pyarrow", "pyarrow.parquet",
    "cv2", "shapely", "h5py", "onnxruntime",
]  # fmt: skip
NUMPY1_ONLY = [
    "PIL.Image", "lxml.etree", "psycopg2", "psycopg", "grpc", "cryptography.hazmat.bindings._rust",
    "cryptography.fernet", "orjson", "pydantic_core", "pyproj", "tokenizers", "rapidfuzz", "regex", "ibm_db",
]  # fmt: skip
CORPUS = {
    "wheels-numpy1": ("1.26.4", ["numpy", *NUMPY_DEPENDENT, *NUMPY1_ONLY]),
    "wheels-numpy2": ("2.1.3", ["numpy", *NUMPY_DEPENDENT]),
}
# For python-ldap, built from source: the builder image lacks these, as the official one does.
LDAP_BUILD = ["--builder-package", "libldap2-dev", "--builder-package", "libsasl2-dev"]


def _prepare(app: Project, installer: str, options: list[str] = ()) -> None:  # type: ignore[assignment]
    """Write the stub and the Dockerfile for `installer`; `options` go to `poetry docker dockerfile`."""
    app.poetry("docker", "build-context", "--installer", installer)
    app.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS, "--installer", installer, *options)


def _failed_build(app: Project) -> str:
    """Build the Dockerfile as it is; the build must fail. Returns its log."""
    command = app.docker_build_command(f"ppd-e2e-{app.name}:failed")
    result = subprocess.run(command, cwd=app.root, env=app.env, capture_output=True, text=True)
    assert result.returncode != 0, f"the build must fail:\n{result.stderr[-4000:]}"
    return result.stderr


def _alarm(distribution: str, version: str, library: str) -> str:
    """The self-check's line (after the build log's step prefix) for an extension lacking `library`."""
    return (
        rf"^(#\d+ [\d.]+ )?check-venv: {re.escape(distribution)} {re.escape(version)}: "
        rf"[^\n]*needs [^\n]*{library}[^\n]*not found in the runtime image"
    )


def _check_said_ok(build: Build) -> None:
    if not build.cached(CHECK_STEP):  # (an earlier run on this engine may have it cached)
        check = build.step_log(CHECK_STEP)
        assert re.search(r"check-venv: [^\n]*ok$", check, re.MULTILINE), check


@pytest.mark.parametrize("installer", ["poetry", "uv"])
@pytest.mark.parametrize("fixture", list(CORPUS))
def test_real_wheels_pass_the_self_check_and_import(project, docker, fixture, installer) -> None:
    numpy_version, modules = CORPUS[fixture]
    app = Project(project(fixture), docker, f"corpus-{fixture}-{installer}")
    try:
        _prepare(app, installer)
        build = app.build(prepare=False)
        _check_said_ok(build)
        result = subprocess.run(
            [docker, "run", "--rm", "--network=none", "--entrypoint", "python", build.tag, "-c", IMPORT_ALL,
             *modules],
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        expected = [f"numpy {numpy_version}", *(["psycopg binary"] if "psycopg" in modules else [])]
        assert result.stdout.splitlines() == [*expected, f"imported {len(modules)} ok"], result.stdout
    finally:
        app.remove_images()


def test_missing_shared_libraries_fail_the_build_naming_them(project, docker) -> None:
    app = Project(project("wheels-true-alarms"), docker, "corpus-true-alarms")
    _prepare(app, "poetry", LDAP_BUILD)

    # As generated: the deps stage finds libpq's and libldap's Debian packages in the builder and the
    # runtime image installs them; nothing provides pyodbc's libodbc.so.2 (the builder lacks it too).
    log = _failed_build(app)
    assert re.search(_alarm("pyodbc", "5.2.0", r"libodbc\.so\.2"), log, re.MULTILINE), log
    assert "check-venv: psycopg2 " not in log and "check-venv: python-ldap " not in log, log
    assert "this image would fail at run time, so the build stops here" in log, log

    # With no runtime packages installed, the libraries of the extensions built from source are missing too.
    dockerfile = app.root / "Dockerfile"
    text = dockerfile.read_text()
    assert text.count(RUNTIME_PACKAGES) == 1, text
    dockerfile.write_text(text.replace(RUNTIME_PACKAGES, "> /dev/null && touch /deps/runtime-packages"))
    log = _failed_build(app)
    assert re.search(_alarm("psycopg2", "2.9.10", r"libpq\.so\.5"), log, re.MULTILINE), log
    assert re.search(_alarm("python-ldap", "3.4.4", r"libldap"), log, re.MULTILINE), log
    assert re.search(_alarm("pyodbc", "5.2.0", r"libodbc\.so\.2"), log, re.MULTILINE), log
    assert "this image would fail at run time, so the build stops here" in log, log
