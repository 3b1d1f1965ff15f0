"""The dependency stub: poetry.lock plus a pyproject.toml without a version.

The stub pyproject keeps exactly the keys Poetry hashes into the lock file's
``content-hash`` (so the lock stays fresh for it), plus ``name`` and
``package-mode = false`` (so nothing else is needed), and is written in a
canonical form. Editing anything else in pyproject.toml -- the version above
all -- never changes a byte of the stub, so Docker's dependency layer stays
cached across releases.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

from poetry_plugin_docker.stub import canonical_toml

STUB_PYPROJECT = "pyproject.toml"
STUB_LOCK = "poetry.lock"
# The scripts that run in the image (package data of in_image/), written at the top of the stub
# directory: the runtime image's self-check, the deps stage's lookup of the runtime image's system
# packages, and what the two share (imported from the directory they run in).
# (in_image/ is no package: nothing imports these files; they are read as data.)
IN_IMAGE = resources.files("poetry_plugin_docker") / "in_image"
CHECK_SCRIPT = "check-venv.py"
CHECK_SCRIPT_SOURCE = IN_IMAGE / "check_venv.py"
PACKAGES_SCRIPT = "runtime-packages.py"
PACKAGES_SCRIPT_SOURCE = IN_IMAGE / "runtime_packages.py"
SHARED_MODULE = "shared_objects.py"
CHECK_SCRIPTS = {
    CHECK_SCRIPT: CHECK_SCRIPT_SOURCE,
    PACKAGES_SCRIPT: PACKAGES_SCRIPT_SOURCE,
    SHARED_MODULE: IN_IMAGE / SHARED_MODULE,
}
# The split of each install stage's virtualenv into its dependency layers.
LAYER_SCRIPT = "layer-venv.py"
LAYER_SCRIPT_SOURCE = IN_IMAGE / "layer_venv.py"
# The wheel stage's install of the project's wheel under /staging (publish runs the same code).
WHEEL_SCRIPT = "install-wheel.py"
WHEEL_SCRIPT_SOURCE = IN_IMAGE / "install_wheel.py"

# The keys of each table that Poetry's Locker hashes into content-hash (all
# supported Poetry versions together), plus the names Poetry needs to load it.
PROJECT_KEYS = ("name", "requires-python", "dependencies", "optional-dependencies")
TOOL_POETRY_KEYS = ("name", "dependencies", "dev-dependencies", "group", "source", "extras")
# `dynamic` entries that matter for installing dependencies; the others
# ("version", "readme", ...) describe the package, which the stub has not.
DYNAMIC_DEPENDENCY_FIELDS = ("dependencies", "optional-dependencies")

HEADER = (
    "# Dependency stub written by `poetry docker build-context`: only what installing\n"
    "# the dependencies needs, and no version, so a release does not change it.\n"
    "# Do not edit; regenerate it.\n"
)


def stub_pyproject_data(pyproject: dict[str, Any]) -> dict[str, Any]:
    """The parsed content of the stub pyproject.toml for a parsed pyproject.toml (a copy)."""
    pyproject = copy.deepcopy(pyproject)
    stub: dict[str, Any] = {}

    project = pyproject.get("project")
    if isinstance(project, dict):
        kept = {key: project[key] for key in PROJECT_KEYS if key in project}
        dynamic = [
            field for field in project.get("dynamic", []) if field in DYNAMIC_DEPENDENCY_FIELDS
        ]
        if dynamic:
            kept["dynamic"] = dynamic
        stub["project"] = kept

    if "dependency-groups" in pyproject:
        stub["dependency-groups"] = pyproject["dependency-groups"]

    tool_poetry = pyproject.get("tool", {}).get("poetry", {})
    kept_poetry = {key: tool_poetry[key] for key in TOOL_POETRY_KEYS if key in tool_poetry}
    kept_poetry["package-mode"] = False
    stub["tool"] = {"poetry": kept_poetry}
    return stub


def render_stub_pyproject(stub_data: dict[str, Any]) -> str:
    return HEADER + "\n" + canonical_toml.dumps(stub_data)
