"""uv installs exactly what Poetry installs (issue 18, goal 4), and either one in per-package layers.

Each fixture shape (and both benchmark projects) is built twice, with the real engine, once per installer, and the
runtime virtualenvs are compared: the same distributions, versions and installed files. Poetry installs into a
virtualenv created without pip, as uv's is: neither holds anything the project does not depend on.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile

import pytest
from helpers import set_in_pyproject
from imagebuild import CHECK_STEP, DOCKERFILE_OPTIONS, Build, Project
from installed_set import LISTING

from poetry_plugin_docker.stub.layers import LAYER_NAMES

pytestmark = pytest.mark.docker

def _installed(app: Project, tag: str) -> dict[str, list[object]]:
    result = subprocess.run(
        [app.docker, "run", "--rm", "--network=none", "--entrypoint", "python", tag, "-c", LISTING],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def _build(app: Project, installer: str, options: list[str]) -> str:
    app.poetry("docker", "build-context", "--installer", installer, *options)
    app.poetry("docker", "dockerfile", "--force", *DOCKERFILE_OPTIONS, "--installer", installer, *options)
    return app.build(prepare=False).tag


@pytest.mark.parametrize(
    ("fixture", "options"),
    [
        ("example", []),
        ("classic", []),
        ("extras-pep621", ["-E", "idn"]),
        ("dependency-groups", ["--with", "lint"]),
        ("no-dependencies", []),
        ("science", []),  # the heavy benchmark project: numpy, pandas, scipy
    ],
)
def test_uv_installs_the_set_poetry_installs(project, docker, fixture, options) -> None:
    app = Project(project(fixture), docker, f"installers-{fixture}")
    try:
        by_poetry = _installed(app, _build(app, "poetry", options))
        by_uv = _installed(app, _build(app, "uv", options))
        assert "pip" not in by_uv
        assert by_poetry == by_uv
        assert len(by_uv) >= (1 if fixture == "no-dependencies" else 2)  # the project, and what it depends on
    finally:
        app.remove_images()



def _layered_build(app: Project, extra: list[str] = (), options: list[str] = (), installer: str = "uv") -> Build:  # type: ignore[assignment]
    """Build with `installer`: `extra` goes to docker build, `options` to `poetry docker dockerfile`."""
    app.poetry("docker", "build-context", "--installer", installer)
    app.poetry("docker", "dockerfile", "--force", *DOCKERFILE_OPTIONS, "--installer", installer, *options)
    return app.build(list(extra), prepare=False)


@pytest.mark.parametrize("installer", ["auto", "poetry"])
def test_a_dependency_update_changes_its_own_layer_only(project, docker, installer) -> None:
    # Goal 1 of issue 18 on the FastAPI example, with the default and with Poetry: one main dependency
    # changed and re-locked.
    app = Project(project("example"), docker, f"layers-{installer}")
    try:
        before = _layered_build(app, installer=installer).tag
        set_in_pyproject(app.root, 'uvicorn = ">=0.29"', 'uvicorn = "==0.38.0"')
        app.poetry("lock")
        rebuild = _layered_build(app, installer=installer)
        after = rebuild.tag
        old, new = app.layers(before), app.layers(after)
        assert len(old) == len(new)
        changed = [index for index, (a, b) in enumerate(zip(old, new)) if a != b]
        saved = _saved_layers(app, after)
        # Of the dependency layers, uvicorn's alone: the later ones are copied again, byte-identical (the
        # same digests). After them, the project's layer (pyproject.toml changed). The self-check, before
        # the pure-Python layers, stays: uvicorn is pure Python.
        # (On an engine shared with other builds, the small layers before them can come out of another
        # cache record of the same step: a --no-cache build elsewhere re-records it. They count in the bytes.)
        dependency_layers = _dependency_layers(saved)
        assert [index for index in changed if index in dependency_layers] == [
            index for index in dependency_layers if "uvicorn" in saved[index][1]
        ], changed
        assert sum(saved[index][0] for index in changed) < 5_000_000, [saved[index][0] for index in changed]
        check = [index for index, (_, _, instruction) in enumerate(saved) if "check-venv.py" in instruction]
        assert len(check) == 1 and check[0] < dependency_layers[-3], [instruction for _, _, instruction in saved]
        assert f"\n{rebuild.step_id(CHECK_STEP)} CACHED" in rebuild.log, rebuild.step_log(CHECK_STEP)
        assert app.python(after, "import uvicorn; print(uvicorn.__version__)") == "0.38.0"
    finally:
        app.remove_images()


@pytest.mark.parametrize("installer", ["auto", "poetry"])
def test_the_same_lock_gives_the_same_dependency_layers(project, docker, installer) -> None:
    # Two builds without the layer cache: every dependency layer has the same digest.
    app = Project(project("example"), docker, f"reproducible-{installer}")
    try:
        first = _layered_build(app, ["--no-cache"], installer=installer).tag
        second = _layered_build(app, ["--no-cache"], installer=installer).tag
        one, two = app.layers(first), app.layers(second)
        saved = _saved_layers(app, second)
        dependency_layers = _dependency_layers(saved)
        assert len(one) == len(two)
        assert [one[i] for i in dependency_layers] == [two[i] for i in dependency_layers]
        assert len({one[i] for i in dependency_layers}) > 3  # real layers, not 15 empty ones
    finally:
        app.remove_images()


# In the image: for each of these modules (imported), how Python checks its bytecode (the pyc
# header's flags: 1 = by hash, unchecked; 0 = by the source's time) and, for 0, whether that time
# matches the source's, so that Python takes the bytecode instead of compiling again.
BYTECODE = """
import importlib, importlib.util, json, os, sys
found = {}
for name in sys.argv[1:]:
    source = importlib.import_module(name).__file__
    with open(importlib.util.cache_from_source(source), "rb") as pyc:
        header = pyc.read(16)
    flags = int.from_bytes(header[4:8], "little")
    fresh = flags != 0 or int.from_bytes(header[8:12], "little") == int(os.stat(source).st_mtime) & 0xFFFFFFFF
    found[name] = [flags, fresh]
print(json.dumps(found, sort_keys=True))
"""


def test_compile_with_uv_ships_bytecode_that_stays_valid_with_file_times_zero(project, docker) -> None:
    # The dependency layers' file times are 0: bytecode checked by the source's time would be stale,
    # and the read-only image would compile on every start. Hash-checked bytecode stays valid.
    app = Project(project("example"), docker, "uv-compile")
    try:
        tag = _layered_build(app, options=["--compile"]).tag
        result = subprocess.run(
            [app.docker, "run", "--rm", "--network=none", "--entrypoint", "python", tag, "-c", BYTECODE,
             "fastapi", "starlette.routing", "pydantic", "idna", "fastapi_service.main"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        # The dependencies and the project (install-wheel.py --compile) by hash.
        modules = ("fastapi", "idna", "pydantic", "starlette.routing", "fastapi_service.main")
        assert json.loads(result.stdout) == {name: [1, True] for name in modules}
    finally:
        app.remove_images()


def _saved_layers(app: Project, tag: str) -> list[tuple[int, str, str]]:
    """Each layer in RootFS order, from one `docker save` (its manifest lists them in order): its tar's
    size, the names of its files as one text, and the instruction that made it (the config's history,
    whose entries without an empty layer match the layers one to one)."""
    saved = subprocess.run([app.docker, "save", tag], capture_output=True, check=True).stdout
    layers = []
    with tarfile.open(fileobj=io.BytesIO(saved)) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(archive.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        made_by = [entry.get("created_by", "") for entry in config["history"] if not entry.get("empty_layer")]
        assert len(made_by) == len(manifest[0]["Layers"]), made_by
        for name, instruction in zip(manifest[0]["Layers"], made_by):
            with tarfile.open(fileobj=archive.extractfile(name)) as layer:  # type: ignore[arg-type]
                layers.append((archive.getmember(name).size, "\n".join(layer.getnames()), instruction))
    return layers


def _dependency_layers(saved: list[tuple[int, str, str]]) -> list[int]:
    """The indexes of the 15 dependency layers (`COPY /layer/NN/ /`), which hold the virtualenv's files."""
    copies = re.compile(r"COPY /layer/\d\d/ / ")
    layers = [index for index, (_, _, instruction) in enumerate(saved) if copies.match(instruction)]
    assert len(layers) == len(LAYER_NAMES), [instruction for _, _, instruction in saved]
    assert all("app/.venv/" in saved[index][1] or not saved[index][1] for index in layers), saved
    return layers
