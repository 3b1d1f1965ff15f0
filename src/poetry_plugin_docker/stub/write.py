"""`poetry docker build-context`: write (or check) the dependency stub."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poetry_plugin_docker import values
from poetry_plugin_docker.files import (
    STUB_MARKER,
    STUB_MARKER_TEXT,
    differing_files,
    stub_directory,
    write_files_atomically,
)
from poetry_plugin_docker.files import shown as shown_path
from poetry_plugin_docker.project.selection import installed_selection
from poetry_plugin_docker.result import Result
from poetry_plugin_docker.stub.layers import LAYERS_DIR
from poetry_plugin_docker.stub.model import plan_stub
from poetry_plugin_docker.stub.path_dependencies import (
    dependency_dirs_in_stub,
    stale_copies,
    stub_layout,
)
from poetry_plugin_docker.stub.pyproject import (
    CHECK_SCRIPTS,
    LAYER_SCRIPT,
    LAYER_SCRIPT_SOURCE,
    STUB_LOCK,
    STUB_PYPROJECT,
    WHEEL_SCRIPT,
    WHEEL_SCRIPT_SOURCE,
)
from poetry_plugin_docker.stub.requirements import check_exportable, layer_requirements

if TYPE_CHECKING:
    from poetry_plugin_docker.project.loading import Project
    from poetry_plugin_docker.project.selection import Selection
    from poetry_plugin_docker.stub.model import Stub


def stub_files(project: Project, stub: Stub) -> dict[str, bytes]:
    """The stub's files by path inside the stub directory."""
    project_dir, dependency_files = stub_layout(project.root, stub.dependencies)
    prefix = "" if project_dir == "." else f"{project_dir}/"
    return {
        f"{prefix}{STUB_PYPROJECT}": stub.pyproject_text,
        f"{prefix}{STUB_LOCK}": stub.lock,
        **dependency_files,
        **{name: source.read_bytes() for name, source in CHECK_SCRIPTS.items()},
        STUB_MARKER: STUB_MARKER_TEXT,
    }


def describe_selection(selection: Selection) -> str:
    groups = ", ".join(selection.groups)
    if selection.all_extras:
        extras = "all extras"
    elif selection.extras:
        extras = f"the extras {', '.join(selection.extras)}"
    else:
        extras = "no extras"
    return f"the group{'s' if len(selection.groups) > 1 else ''} {groups} and {extras}"


def write_build_context(
    project: Project,
    stub_dir: str,
    selection: Selection,
    *,
    check: bool = False,
    installer: str = values.DEFAULT_INSTALLER,
    option: str = "--output",
    stub: Stub | None = None,
) -> Result:
    """Write (or --check) the stub for `selection` into `stub_dir`, relative to the project root;
    `option` is where that path came from, for the one-line refusal of a directory the plugin may not own;
    `stub`, when the caller has planned it already (`plan_stub` of the same selection)."""
    output = project.root / stub_directory(project.root, stub_dir, option)
    stub = stub or plan_stub(project, selection)
    dependencies = stub.dependencies
    files = stub_files(project, stub)
    written = [STUB_PYPROJECT, STUB_LOCK, *CHECK_SCRIPTS]
    if values.installer("--installer", installer) == "uv":
        check_exportable(stub.lock_data)
    # What uv installs in each layer (or, for a lock only Poetry installs, the names), and the split.
    files.update(layer_requirements(stub, installed_selection(selection, project.has_main_group), output))
    files[LAYER_SCRIPT] = LAYER_SCRIPT_SOURCE.read_bytes()
    written += [f"{LAYERS_DIR}/", LAYER_SCRIPT]
    files[WHEEL_SCRIPT] = WHEEL_SCRIPT_SOURCE.read_bytes()  # the wheel stage's install of the project
    written.append(WHEEL_SCRIPT)
    shown = shown_path(output, project.root) + "/"
    stale = stale_copies(output, files, dependency_dirs_in_stub(project.root, dependencies))
    if check:
        differences = differing_files(output, files) + [f"{name} should be gone" for name in stale]
        if differences:
            return Result(
                False,
                f"The dependency stub in {shown} is out of date ({'; '.join(differences)}). "
                "Run `poetry docker build-context`.",
            )
        return Result(True, f"The dependency stub in {shown} is up to date.")
    write_files_atomically(output, files, "--output")
    for name in stale:  # deleted from the library: the copy must not keep it
        (output / name).unlink()
    message = (
        f"Wrote the dependency stub to {shown} ({', '.join(written)}) for "
        f"{describe_selection(selection)}: {len(stub.lock_data.get('package', []))} of the "
        f"{len(project.lock_data.get('package', []))} locked packages."
    )
    if dependencies:
        carried = ", ".join(f"{dep.name} ({dep.url})" for dep in dependencies)
        message += (
            f" It carries the path dependencies {carried} at their paths relative to the project, "
            "so the build context can stay the project root."
        )
    return Result(True, message)
