from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from helpers import (
    FIXTURE_SHAPES,
    assert_one_line_error,
    hadolint,
    mirror_url,
    poetry_executable,
    project_as_nobody,
    run_poetry,
    set_in_pyproject,
)

from poetry_plugin_docker.settings import DEFAULT_STUB_DIR
from poetry_plugin_docker.toml import tomllib


def _locked(path) -> dict[tuple[str, str], dict]:
    return {(p["name"], p["version"]): p for p in tomllib.loads(path.read_text())["package"]}


# Monorepo services carry path dependencies (a nested stub, a rewritten lock): tested below.
@pytest.mark.parametrize("name", [shape for shape in FIXTURE_SHAPES if not shape.startswith("monorepo/")])
def test_writes_a_versionless_stub_whose_lock_poetry_accepts(project, poetry_cli, name) -> None:
    from poetry.factory import Factory

    root = project(name)
    run = poetry_cli(root, "docker build-context")
    assert run.status == 0, run.error
    assert f"Wrote the dependency stub to {DEFAULT_STUB_DIR}/" in run.output
    stub_dir = root / DEFAULT_STUB_DIR
    stub = tomllib.loads((stub_dir / "pyproject.toml").read_text())
    assert stub["tool"]["poetry"]["package-mode"] is False
    assert "version" not in stub.get("project", {})
    assert "version" not in stub["tool"]["poetry"]
    assert "build-system" not in stub
    # Poetry's own check: the (pruned) lock is fresh for the stub pyproject.
    assert Factory().create_poetry(stub_dir).locker.is_fresh()
    # Each kept package is the project's locked package, at most with fewer groups.
    locked = _locked(root / "poetry.lock")
    for key, package in _locked(stub_dir / "poetry.lock").items():
        original = locked[key]
        assert set(package.get("groups", [])) <= set(original.get("groups", []))
        assert {k: v for k, v in package.items() if k not in ("groups", "markers")} == {
            k: v for k, v in original.items() if k not in ("groups", "markers")
        }


def test_stub_is_pruned_to_the_selected_groups(project, poetry_cli) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker build-context").status == 0
    stub_dir = root / DEFAULT_STUB_DIR
    assert {name for name, _ in _locked(stub_dir / "poetry.lock")} == {"six"}
    assert "group" not in tomllib.loads((stub_dir / "pyproject.toml").read_text())["tool"]["poetry"]

    run = poetry_cli(root, "docker build-context --with dev")
    assert run.status == 0, run.error
    assert "for the groups main, dev and no extras: 2 of the 2 locked packages" in run.output
    assert (stub_dir / "poetry.lock").read_bytes() == (root / "poetry.lock").read_bytes()
    assert poetry_cli(root, "docker build-context --check --with dev").status == 0
    assert_one_line_error(poetry_cli(root, "docker build-context --check"), "poetry.lock differs")

    set_in_pyproject(
        root, "[tool.poetry.scripts]", '[tool.poetry-plugin-docker]\nonly = ["main"]\n\n[tool.poetry.scripts]'
    )
    assert poetry_cli(root, "docker build-context").status == 0
    assert {name for name, _ in _locked(stub_dir / "poetry.lock")} == {"six"}


@pytest.mark.parametrize(
    ("name", "options", "kept"),
    [
        ("extras-poetry", "", {"six"}),
        ("extras-poetry", "--extras idn", {"six", "idna"}),
        ("extras-poetry", "--all-extras", {"six", "idna"}),
        ("extras-pep621", "", {"six"}),
        ("extras-pep621", "-E ini", {"six", "iniconfig"}),
        ("extras-pep621", "--extras idn,ini", {"six", "idna", "iniconfig"}),
    ],
)
def test_stub_is_pruned_to_the_selected_extras(project, poetry_cli, name, options, kept) -> None:
    from poetry.factory import Factory

    root = project(name)
    run = poetry_cli(root, f"docker build-context {options}")
    assert run.status == 0, run.error
    stub_dir = root / DEFAULT_STUB_DIR
    assert {name for name, _ in _locked(stub_dir / "poetry.lock")} == kept
    assert Factory().create_poetry(stub_dir).locker.is_fresh()


def test_lock_2_0_is_pruned_by_reachability(project, poetry_cli) -> None:
    root = project("lock-2.0")
    assert poetry_cli(root, "docker build-context").status == 0
    stub_lock = tomllib.loads((root / DEFAULT_STUB_DIR / "poetry.lock").read_text())
    assert stub_lock["metadata"]["lock-version"] == "2.0"
    assert {p["name"] for p in stub_lock["package"]} == {"six", "packaging"}
    assert poetry_cli(root, "docker build-context --with dev").status == 0
    assert (root / DEFAULT_STUB_DIR / "poetry.lock").read_bytes() == (root / "poetry.lock").read_bytes()


def test_unknown_group_or_extra_is_one_line(project, poetry_cli) -> None:
    root = project("classic")
    assert_one_line_error(poetry_cli(root, "docker build-context --with docs"), "Group 'docs'", "groups: dev, main")
    assert_one_line_error(poetry_cli(root, "docker build-context -E gpu"), "Extra 'gpu'")
    assert not (root / DEFAULT_STUB_DIR).exists()


def _relock(root) -> None:

    result = subprocess.run(
        [poetry_executable(), "lock"], cwd=root, capture_output=True, text=True,
        env={**os.environ, "POETRY_PYPI_MIRROR_URL": mirror_url()},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_relocked_dev_only_change_leaves_the_stub_byte_identical(project, poetry_cli) -> None:
    """A real `poetry lock` after dev-only edits; then a main-dependency change."""
    root = project("classic")
    # The stub copies the lock's first line, which names the Poetry that wrote it: 2.5.1 for the
    # committed lock, the running one after `poetry lock` (2.2.1 on Python 3.9). Start from that.
    import re
    from importlib.metadata import version

    lock_file = root / "poetry.lock"
    lock_file.write_text(re.sub(r"Poetry [0-9.]+", f"Poetry {version('poetry')}", lock_file.read_text(), count=1))
    assert poetry_cli(root, "docker build-context").status == 0
    stub = {p: p.read_bytes() for p in (root / DEFAULT_STUB_DIR).rglob("*") if p.is_file()}
    lock = (root / "poetry.lock").read_bytes()

    # A dev bump and a new dev dependency that main packages share nothing with.
    set_in_pyproject(root, 'iniconfig = ">=2.0"', 'iniconfig = ">=2.0"\npackaging = ">=24"')
    _relock(root)
    assert (root / "poetry.lock").read_bytes() != lock
    assert poetry_cli(root, "docker build-context --check").status == 0
    assert poetry_cli(root, "docker build-context").status == 0
    assert {p: p.read_bytes() for p in (root / DEFAULT_STUB_DIR).rglob("*") if p.is_file()} == stub

    set_in_pyproject(root, 'six = ">=1.16"', 'six = ">=1.16"\nidna = ">=3.4"')
    _relock(root)
    assert_one_line_error(poetry_cli(root, "docker build-context --check"), "out of date")
    assert poetry_cli(root, "docker build-context").status == 0
    assert {name for name, _ in _locked(root / DEFAULT_STUB_DIR / "poetry.lock")} == {"six", "idna"}


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("example", 'version = "1.4.2"', 'version = "1.4.3"'),
        ("example", "A small FastAPI", "An edited FastAPI"),
        ("example", "[build-system]", '[tool.ruff]\nline-length = 99\n\n[build-system]'),
        ("example", '[tool.poetry.scripts]', '[tool.poetry.scripts]\nother = "fastapi_service.main:run"'),
        ("pep621-src", 'version = "2.0.0"', 'version = "2.0.1"'),
        ("pep621-src", 'readme = "README.md"', 'readme = "README.rst"'),
        ("pep621-src", 'license = "MIT"', 'license = "Apache-2.0"'),
        ("pep621-src", "[build-system]", "[tool.poetry-plugin-docker]\npython = '3.12'\n\n[build-system]"),
    ],
)
def test_non_dependency_edits_do_not_change_a_byte(project, poetry_cli, name, old, new) -> None:
    root = project(name)
    assert poetry_cli(root, "docker build-context").status == 0
    before = {p: p.read_bytes() for p in (root / DEFAULT_STUB_DIR).rglob("*") if p.is_file()}
    set_in_pyproject(root, old, new)
    (root / "README.rst").write_text("readme\n")
    assert poetry_cli(root, "docker build-context --check").status == 0
    assert poetry_cli(root, "docker build-context").status == 0
    after = {p: p.read_bytes() for p in (root / DEFAULT_STUB_DIR).rglob("*") if p.is_file()}
    assert after == before


def test_check_reports_differences_and_writes_nothing(project, poetry_cli) -> None:
    root = project("classic")
    run = poetry_cli(root, "docker build-context --check")
    assert run.status == 1
    assert "pyproject.toml is missing" in run.error and "poetry.lock is missing" in run.error
    assert not (root / DEFAULT_STUB_DIR).exists()

    assert poetry_cli(root, "docker build-context").status == 0
    run = poetry_cli(root, "docker build-context --check")
    assert (run.status, run.output.strip()) == (0, f"The dependency stub in {DEFAULT_STUB_DIR}/ is up to date.")

    (root / DEFAULT_STUB_DIR / "poetry.lock").write_text("stale")
    run = poetry_cli(root, "docker build-context --check")
    assert run.status == 1
    assert "poetry.lock differs" in run.error
    assert len(run.error.strip().splitlines()) == 1


def test_output_option(project, poetry_cli) -> None:
    root = project("classic")
    run = poetry_cli(root, "docker build-context --output docker/stub")
    assert run.status == 0
    assert "docker/stub/" in run.output
    assert (root / "docker/stub/poetry.lock").exists()


def test_no_pyproject(tmp_path, poetry_cli) -> None:
    run = poetry_cli(tmp_path, "docker build-context")
    assert_one_line_error(run, "pyproject.toml")
    assert not (tmp_path / DEFAULT_STUB_DIR).exists()


def test_invalid_toml(project, poetry_cli) -> None:
    root = project("classic")
    (root / "pyproject.toml").write_text("[tool.poetry\nname = ")
    run = poetry_cli(root, "docker build-context")
    assert_one_line_error(run, "pyproject.toml")
    assert not (root / DEFAULT_STUB_DIR).exists()


def test_no_lock(project, poetry_cli) -> None:
    root = project("classic")
    (root / "poetry.lock").unlink()
    run = poetry_cli(root, "docker build-context")
    assert_one_line_error(run, "No poetry.lock", "poetry lock")
    assert not (root / DEFAULT_STUB_DIR).exists()


def test_stale_lock(project, poetry_cli) -> None:
    root = project("classic")
    set_in_pyproject(root, 'six = ">=1.16"', 'six = ">=1.16"\nidna = "*"')
    run = poetry_cli(root, "docker build-context")
    assert_one_line_error(run, "poetry.lock is out of date", "poetry lock")
    assert not (root / DEFAULT_STUB_DIR).exists()




@pytest.mark.parametrize("cause", ["a file in the way", "a directory the user may not write"])
def test_unwritable_output(project, poetry_cli, cause) -> None:
    if cause == "a file in the way":
        root = project("classic")
        (root / "blocker").write_text("a file, not a directory")
        run = poetry_cli(root, "docker build-context --output blocker/stub")
        assert_one_line_error(run, "Cannot write", "--output")
        return
    with project_as_nobody("classic") as (root, poetry, env):
        # The same command into a directory nobody owns must work, or the test proves nothing.
        works = run_poetry(poetry, root, env, "docker", "build-context", "--output", "open/stub")
        assert works.returncode == 0, works.stdout + works.stderr
        assert (root / "open" / "stub" / "poetry.lock").is_file()

        run = run_poetry(poetry, root, env, "docker", "build-context", "--output", "ro/stub")
        assert run.returncode == 1, run.stdout + run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        assert run.stderr.strip().splitlines() == [
            f"Cannot write to {root / 'ro' / 'stub'}: Permission denied. Choose a writable location with --output."
        ]
        assert list((root / "ro").iterdir()) == []


def with_six_from(root, source: str) -> None:
    lock = (root / "poetry.lock").read_text()
    (root / "poetry.lock").write_text(lock.replace('name = "six"', f'name = "six"\n[package.source]\n{source}', 1))


def test_local_file_dependencies_are_not_supported_yet(project, poetry_cli) -> None:
    root = project("classic")
    with_six_from(root, 'type = "file"\nurl = "../six-1.0.whl"')
    run = poetry_cli(root, "docker build-context")
    assert_one_line_error(run, "six is a local file dependency", "not supported yet")


def test_git_url_with_a_token_is_refused(project, poetry_cli) -> None:
    root = project("classic")
    with_six_from(root, 'type = "git"\nurl = "https://x-token:ghp_s3cret@example.com/six.git"')
    run = poetry_cli(root, "docker build-context")
    assert_one_line_error(run, "git URL of six", "holds credentials", "--ssh")
    assert "s3cret" not in run.error


def test_ssh_git_dependency_forwards_the_agent(project, poetry_cli) -> None:
    root = project("classic")
    with_six_from(root, 'type = "git"\nurl = "git@example.com:org/six.git"')
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    assert "--mount=type=ssh" in text and "POETRY_SYSTEM_GIT_CLIENT=true" in text
    assert hadolint(root / "Dockerfile").stdout == ""


def test_monorepo_path_dependency_is_carried_non_editable(project, poetry_cli) -> None:
    from poetry.factory import Factory

    root = project("monorepo/services/api")
    run = poetry_cli(root, "docker build-context")
    assert run.status == 0, run.error
    stub = root / DEFAULT_STUB_DIR
    files = sorted(p.relative_to(stub).as_posix() for p in stub.rglob("*") if p.is_file())
    assert files == [
        ".poetry-plugin-docker",
        "check-venv.py",
        "install-wheel.py",
        "layer-venv.py",
        "libs/core/core/__init__.py",
        "libs/core/pyproject.toml",
        *(f"requirements/{index:02d}.txt" for index in range(1, 16)),
        "requirements/inputs.sha256",
        "runtime-packages.py",
        "services/api/poetry.lock",
        "services/api/pyproject.toml",
        "shared_objects.py",
    ], "the library's sdist files, not its tests"
    # Poetry installs a path dependency; the layer files name it, in one of the last (pure-Python) layers.
    naming = [p.name for p in (stub / "requirements").iterdir() if "\ncore==" in p.read_text()]
    assert naming in (["13.txt"], ["14.txt"], ["15.txt"])
    stub_project = stub / "services" / "api"
    assert "develop" not in (stub_project / "pyproject.toml").read_text()
    assert "develop = true" not in (stub_project / "poetry.lock").read_text()
    # Poetry itself accepts the rewritten lock for the stub.
    assert Factory().create_poetry(stub_project).locker.is_fresh()

    before = {p: p.read_bytes() for p in stub.rglob("*") if p.is_file()}
    set_in_pyproject(root, 'version = "1.0.0"', 'version = "1.0.1"')
    assert poetry_cli(root, "docker build-context --check").status == 0, "a bump changes nothing"
    library = root.parent.parent / "libs" / "core" / "core" / "__init__.py"
    library.write_text(library.read_text() + "# changed\n")
    run = poetry_cli(root, "docker build-context --check")
    assert_one_line_error(run, "libs/core/core/__init__.py differs")
    assert poetry_cli(root, "docker build-context").status == 0
    assert {p: p.read_bytes() for p in stub.rglob("*") if p.is_file()} != before

    # A file deleted from the library goes from the stub too.
    extra = root.parent.parent / "libs" / "core" / "core" / "extra.py"
    extra.write_text("X = 1\n")
    assert poetry_cli(root, "docker build-context").status == 0
    assert (stub / "libs/core/core/extra.py").exists()
    extra.unlink()
    assert_one_line_error(poetry_cli(root, "docker build-context --check"), "libs/core/core/extra.py should be gone")
    assert poetry_cli(root, "docker build-context").status == 0
    assert not (stub / "libs/core/core/extra.py").exists()
    assert poetry_cli(root, "docker build-context --check").status == 0


def test_dev_only_path_dependency_is_carried_only_for_the_dev_group(project, poetry_cli) -> None:
    root = project("monorepo/services/worker")
    assert poetry_cli(root, "docker build-context").status == 0
    assert sorted(p.name for p in (root / DEFAULT_STUB_DIR).rglob("*") if p.is_file()) == [
        ".poetry-plugin-docker",
        *(f"{index:02d}.txt" for index in range(1, 16)),
        "check-venv.py",
        "inputs.sha256",
        "install-wheel.py",
        "layer-venv.py",
        "poetry.lock",
        "pyproject.toml",
        "runtime-packages.py",
        "shared_objects.py",
    ]
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text() + '\n[tool.poetry-plugin-docker]\nwith = ["dev"]\n'
    )
    assert poetry_cli(root, "docker build-context").status == 0
    assert (root / DEFAULT_STUB_DIR / "libs" / "testkit" / "pyproject.toml").exists()
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    assert "WORKDIR /src/services/worker" in text and "--only main,dev" in text


def test_missing_path_dependency(project, poetry_cli) -> None:
    root = project("monorepo/services/api")

    shutil.rmtree(root.parent.parent / "libs" / "core")
    run = poetry_cli(root, "docker build-context")
    assert_one_line_error(run, "Path dependency core (../../libs/core) is not a project directory")
    assert not (root / DEFAULT_STUB_DIR).exists()
