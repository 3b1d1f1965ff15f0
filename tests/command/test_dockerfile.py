from __future__ import annotations

import re
import sys

import pytest
from helpers import (
    FIXTURE_SHAPES,
    assert_one_line_error,
    hadolint,
    project_as_nobody,
    relock,
    run_poetry,
    set_in_pyproject,
)

MIRROR_ARGS = "--syntax none --builder-plugin poetry-plugin-pypi-mirror --build-arg POETRY_PYPI_MIRROR_URL"


@pytest.mark.parametrize("name", FIXTURE_SHAPES)
@pytest.mark.parametrize("options", ["", MIRROR_ARGS])
def test_every_shape_gets_a_dockerfile_hadolint_accepts(project, poetry_cli, name, options) -> None:
    root = project(name)
    run = poetry_cli(root, f"docker dockerfile {options}")
    assert run.status == 0, run.error
    dockerfile = root / "Dockerfile"
    result = hadolint(dockerfile)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout
    text = dockerfile.read_text()
    assert text.startswith("# syntax=docker/dockerfile:1\n") == (options == "")


def test_the_version_is_nowhere_and_a_bump_changes_nothing(project, poetry_cli) -> None:
    root = project("example")
    assert poetry_cli(root, "docker dockerfile").status == 0
    before = (root / "Dockerfile").read_text()
    assert "1.4.2" not in before
    set_in_pyproject(root, 'version = "1.4.2"', 'version = "1.4.3"')
    run = poetry_cli(root, "docker dockerfile --check")
    assert run.status == 0, run.error
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert (root / "Dockerfile").read_text() == before


def test_options_appear_in_the_dockerfile(project, poetry_cli) -> None:
    root = project("pep621-src")
    run = poetry_cli(
        root,
        "docker dockerfile --installer poetry --output docker/Dockerfile --stub-dir docker/deps --with dev "
        "--python 3.12 "
        "--base-image registry.example.com/python:3.12 --runtime-image registry.example.com/python:3.12-slim "
        f"--entrypoint pep621-app {MIRROR_ARGS} --build-arg PIP_INDEX_URL",
    )
    assert run.status == 0, run.error
    text = (root / "docker/Dockerfile").read_text()
    assert "FROM registry.example.com/python:3.12 AS poetry" in text
    assert "FROM registry.example.com/python:3.12-slim AS runtime" in text
    assert "COPY docker/deps/pyproject.toml docker/deps/poetry.lock /app/" in text
    assert "poetry install --no-root --only main,dev" in text
    assert "'poetry-plugin-pypi-mirror==" in text
    assert text.count("ARG POETRY_PYPI_MIRROR_URL") == 2 and text.count("ARG PIP_INDEX_URL") == 2
    # pip installs uv, and uv installs Poetry from the same index.
    assert (
        '&& UV_INDEX_URL="$PIP_INDEX_URL" uv pip install --no-cache --compile-bytecode --python /opt/poetry/bin/python'
        in text
    )
    assert 'ENTRYPOINT ["pep621-app"]' in text
    assert "COPY src /app/src" in text and "COPY README.md pyproject.toml /app/" in text
    assert "# Regenerate: poetry docker dockerfile --output=docker/Dockerfile --stub-dir=docker/deps" in text
    # Regenerating with the recorded command gives the same file.
    command = text.split("# Regenerate: poetry ", 1)[1].splitlines()[0]
    assert poetry_cli(root, command + " --check").status == 0


def test_python_version_follows_the_constraint(project, poetry_cli) -> None:
    root = project("classic")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert f"FROM python:{running}-slim AS runtime" in (root / "Dockerfile").read_text()
    # A range without the running Python: its newest Python is chosen, another on request.
    if sys.version_info >= (3, 11):
        narrowed, older, newer = ">=3.9,<3.11", "3.9", "3.10"
    else:
        narrowed, older, newer = ">=3.11,<3.13", "3.11", "3.12"
    set_in_pyproject(root, 'python = ">=3.9"', f'python = "{narrowed}"')
    assert_one_line_error(poetry_cli(root, "docker dockerfile --force"), "poetry lock")
    relock(root)
    assert poetry_cli(root, "docker dockerfile --force").status == 0
    assert f"FROM python:{newer}-slim AS runtime" in (root / "Dockerfile").read_text()
    assert poetry_cli(root, f"docker dockerfile --force --python {older}").status == 0
    assert f"FROM python:{older}-slim AS runtime" in (root / "Dockerfile").read_text()


def test_extras_and_groups_are_validated(project, poetry_cli) -> None:
    root = project("extras-pep621")
    run = poetry_cli(root, "docker dockerfile -E idn --extras ini --installer poetry")
    assert run.status == 0, run.error
    assert 'poetry install --no-root --only main --extras "idn ini"' in (root / "Dockerfile").read_text()
    assert_one_line_error(poetry_cli(root, "docker dockerfile --force -E nope"), "Extra 'nope'")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --force --with nope"), "Group 'nope'")


def test_non_package_ships_application_files(project, poetry_cli) -> None:
    root = project("non-package")
    assert poetry_cli(root, "docker dockerfile").status == 0
    text = (root / "Dockerfile").read_text()
    assert "FROM poetry AS wheel" not in text
    assert "COPY manage.py /app/" in text and "COPY webapp /app/webapp" in text
    assert "tests" not in text.split("FROM python:3.11-slim AS runtime")[-1].replace("# ", "")
    assert "PYTHONPATH=/app" in text


def test_refuses_to_overwrite_a_hand_written_dockerfile(project, poetry_cli) -> None:
    root = project("classic")
    (root / "Dockerfile").write_text("FROM busybox\n")
    run = poetry_cli(root, "docker dockerfile")
    assert_one_line_error(run, "was not generated by poetry-plugin-docker", "--force")
    assert (root / "Dockerfile").read_text() == "FROM busybox\n"
    assert poetry_cli(root, "docker dockerfile --force").status == 0
    assert "FROM busybox" not in (root / "Dockerfile").read_text()


def test_refuses_to_overwrite_a_hand_edited_dockerfile(project, poetry_cli) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert poetry_cli(root, "docker dockerfile").status == 0  # its own output: fine
    edited = (root / "Dockerfile").read_text() + "EXPOSE 8000\n"
    (root / "Dockerfile").write_text(edited)
    run = poetry_cli(root, "docker dockerfile")
    assert_one_line_error(run, "was edited since poetry-plugin-docker generated it", "--force")
    assert (root / "Dockerfile").read_text() == edited


def test_the_checksum_line_and_label_hash_the_rest(project, poetry_cli) -> None:
    import hashlib

    root = project("classic")
    assert poetry_cli(root, "docker dockerfile").status == 0
    text = (root / "Dockerfile").read_text()
    checksum = re.search(r"(?m)^# poetry-plugin-docker checksum: ([0-9a-f]{64})\n", text)
    assert checksum is not None
    label = f'io.github.poetry-plugin-docker.dockerfile-checksum="sha256:{checksum.group(1)}"'
    assert text.count(checksum.group(1)) == 2 and label in text
    rest = text.replace(checksum.group(0), "").replace(checksum.group(1), "<checksum>")
    assert hashlib.sha256(rest.encode()).hexdigest() == checksum.group(1)
    # The label is covered too: changing it is an edit.
    (root / "Dockerfile").write_text(text.replace(label, label.replace('sha256:', 'sha256:0')))
    assert_one_line_error(poetry_cli(root, "docker dockerfile"), "was edited since poetry-plugin-docker generated it")


def test_check(project, poetry_cli) -> None:
    root = project("classic")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --check"), "is missing")
    assert not (root / "Dockerfile").exists()
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert poetry_cli(root, "docker dockerfile --check").status == 0
    assert_one_line_error(poetry_cli(root, "docker dockerfile --check --python 3.12"), "differs")


def test_unwritable_output_as_user() -> None:
    # As uid nobody (root may write anywhere, and CI runs as root).
    with project_as_nobody("classic") as (root, poetry, env):
        works = run_poetry(poetry, root, env, "docker", "dockerfile", "--output", "open/Dockerfile")
        assert works.returncode == 0, works.stdout + works.stderr  # or the refusal below proves nothing
        run = run_poetry(poetry, root, env, "docker", "dockerfile", "--output", "ro/Dockerfile")
        assert run.returncode == 1, run.stdout + run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Cannot write to {root / 'ro'}"), run.stderr
        assert "Permission denied" in lines[0] and "--output" in lines[0]
        assert list((root / "ro").iterdir()) == []


def test_unwritable_output(project, poetry_cli) -> None:
    root = project("classic")
    (root / "blocker").write_text("a file, not a directory")
    run = poetry_cli(root, "docker dockerfile --output blocker/Dockerfile")
    assert_one_line_error(run, "Cannot write", "--output")


def test_unsatisfiable_python_constraint(project, poetry_cli) -> None:
    root = project("classic")
    set_in_pyproject(root, 'python = ">=3.9"', 'python = ">=4.0"')
    relock(root)
    run = poetry_cli(root, "docker dockerfile")
    assert_one_line_error(run, "No python:3.X image satisfies", "--python")
    assert not (root / "Dockerfile").exists()


def test_bad_option_values(project, poetry_cli) -> None:
    root = project("classic")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --stub-dir ../x"), "--stub-dir")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --python 3"), "--python 3")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --build-arg A=b"), "--build-arg A=b")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --entrypoint nope"), "--entrypoint nope")
    assert not (root / "Dockerfile").exists()


CONFIG = """
[tool.poetry-plugin-docker]
stub-dir = "docker/deps"
dockerfile = "docker/Dockerfile"
with = ["dev"]
python = "3.12"
syntax = "none"
builder-plugins = ["poetry-plugin-pypi-mirror"]
build-args = ["POETRY_PYPI_MIRROR_URL"]
installer = "poetry"
"""


def test_configuration_table_sets_every_default_and_flags_override_it(project, poetry_cli) -> None:
    root = project("pep621-src")
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + CONFIG)
    assert poetry_cli(root, "docker build-context").status == 0
    assert (root / "docker/deps/poetry.lock").exists()
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    text = (root / "docker/Dockerfile").read_text()
    assert not text.startswith("# syntax")
    assert "FROM python:3.12-slim AS runtime" in text
    assert "COPY docker/deps/pyproject.toml docker/deps/poetry.lock /app/" in text
    assert "--only main,dev" in text and "ARG POETRY_PYPI_MIRROR_URL" in text
    assert "# Regenerate: poetry docker dockerfile\n" in text

    run = poetry_cli(root, "docker dockerfile --python 3.13 --only main")
    assert run.status == 0, run.error
    text = (root / "docker/Dockerfile").read_text()
    assert "FROM python:3.13-slim AS runtime" in text and "--only main \\\n" in text


def test_bad_configuration_is_one_line(project, poetry_cli) -> None:
    root = project("classic")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.poetry-plugin-docker]\npyton = "3.12"\n')
    assert_one_line_error(poetry_cli(root, "docker dockerfile"), "Unknown key 'pyton'")
    assert_one_line_error(poetry_cli(root, "docker build-context"), "Unknown key 'pyton'")


def test_requires_plugins_are_installed_in_the_builder(project, poetry_cli) -> None:
    root = project("classic")
    set_in_pyproject(
        root,
        "[tool.poetry.scripts]",
        '[tool.poetry.requires-plugins]\npoetry-plugin-export = ">=1.8,<2"\n\n[tool.poetry.scripts]',
    )
    run = poetry_cli(root, "docker dockerfile --installer poetry")
    assert run.status == 0, run.error
    assert "'poetry-plugin-export>=1.8,<2'" in (root / "Dockerfile").read_text()
    assert hadolint(root / "Dockerfile").stdout == ""


def test_dockerignore_is_written_and_merged_into_a_hand_written_one(project, poetry_cli) -> None:
    root = project("pep621-src")
    (root / ".dockerignore").write_text("# ours\n.*\nsrc\nnotes.txt\n")
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    assert "Wrote Dockerfile and .dockerignore." in run.output
    text = (root / ".dockerignore").read_text()
    assert text.startswith("# ours\n.*\nsrc\nnotes.txt\n")
    assert "!.docker-deps\n" in text and "!src\n" in text
    assert poetry_cli(root, "docker dockerfile --check").status == 0
    (root / ".dockerignore").write_text("# ours\n.*\n")
    assert_one_line_error(poetry_cli(root, "docker dockerfile --check"), ".dockerignore differs")


def test_credentials_in_a_source_url_are_refused(project, poetry_cli) -> None:
    root = project("explicit-source")
    set_in_pyproject(root, "https://packages.example.com", "https://ci:s3cret@packages.example.com")
    for command in ("docker build-context", "docker dockerfile"):
        run = poetry_cli(root, command)
        assert_one_line_error(run, "source 'internal'", "holds credentials", "POETRY_HTTP_BASIC_INTERNAL_USERNAME")
        assert "s3cret" not in run.error
    assert not (root / ".docker-deps").exists() and not (root / "Dockerfile").exists()


def test_sources_with_credentials_get_a_secret_mount(project, poetry_cli, monkeypatch) -> None:
    root = project("explicit-source")
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert "type=secret" not in (root / "Dockerfile").read_text()
    monkeypatch.setenv("POETRY_HTTP_BASIC_INTERNAL_USERNAME", "ci")
    monkeypatch.setenv("POETRY_HTTP_BASIC_INTERNAL_PASSWORD", "s3cret")
    assert poetry_cli(root, "docker dockerfile --installer poetry").status == 0
    text = (root / "Dockerfile").read_text()
    assert "--mount=type=secret,id=internal-credentials,required=true" in text
    assert 'POETRY_HTTP_BASIC_INTERNAL_PASSWORD="$(cut -d: -f2- /run/secrets/internal-credentials)"' in text
    assert "s3cret" not in text and "ARG POETRY_HTTP_BASIC" not in text
    assert hadolint(root / "Dockerfile").stdout == ""


def test_secret_source_option(project, poetry_cli) -> None:
    root = project("explicit-source")
    assert poetry_cli(root, "docker dockerfile --secret-source internal").status == 0
    assert "id=internal-credentials" in (root / "Dockerfile").read_text()
    assert_one_line_error(poetry_cli(root, "docker dockerfile --secret-source nope"), "--secret-source nope")


# --------------------------------------------------------------------------- --compile


def test_compile_compiles_dependencies_and_project_in_the_builder(project, poetry_cli) -> None:
    root = project("example")
    assert poetry_cli(root, "docker dockerfile").status == 0
    default = (root / "Dockerfile").read_text()
    assert "compileall" not in default and "--compile " not in default
    assert "&& python /mnt/install-wheel.py /dist/*.whl /app/.venv /staging\n" in default

    run = poetry_cli(root, "docker dockerfile --compile")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    # Bytecode that checks no file time, in each of the three install stages, before the split.
    assert text.count(f"&& {COMPILE} \\\n    && python /mnt/layer-venv.py") == 3
    assert "&& python /mnt/install-wheel.py --compile /dist/*.whl /app/.venv /staging\n" in text
    assert "# Regenerate: poetry docker dockerfile --compile\n" in text
    assert hadolint(root / "Dockerfile").stdout == ""
    assert poetry_cli(root, "docker dockerfile --compile --check").status == 0
    assert_one_line_error(poetry_cli(root, "docker dockerfile --check"), "differs")

    # The same from the configuration table.
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text() + "\n[tool.poetry-plugin-docker]\ncompile = true\n"
    )
    assert poetry_cli(root, "docker dockerfile").status == 0
    from_table = (root / "Dockerfile").read_text()
    assert _body(from_table) == _body(text)
    # With Poetry, the same step after its install (not `poetry install --compile`, whose bytecode checks times).
    run = poetry_cli(root, "docker dockerfile --compile --installer poetry --force")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    assert f"poetry install --no-root --only main \\\n    && {COMPILE} \\\n    && python /mnt/layer-venv.py" in text


COMPILE = "/app/.venv/bin/python -m compileall -q --invalidation-mode unchecked-hash /app/.venv/lib"


def _body(dockerfile: str) -> str:
    """The Dockerfile without its header (command line and checksum) and its checksum label."""
    return re.sub(r'checksum="sha256:[0-9a-f]{64}"', 'checksum="sha256:<checksum>"', dockerfile.split("\n\n", 1)[1])


# --------------------------------------------------------------------------- --stub-stage


@pytest.mark.parametrize("name", FIXTURE_SHAPES)
def test_stub_stage_and_compile_for_every_shape(project, poetry_cli, name) -> None:
    root = project(name)
    run = poetry_cli(root, f"docker dockerfile --stub-stage --compile {MIRROR_ARGS}")
    carried = {
        "monorepo/services/api": "core (../../libs/core)",
        "monorepo/services/gateway": "six (../../libs/six-fork)",
    }
    if name in carried:  # a main-group path dependency: outside the build context
        assert_one_line_error(run, "--stub-stage", carried[name], "poetry docker build-context")
        assert not (root / "Dockerfile").exists()
        return
    assert run.status == 0, run.error
    assert "build-context" not in run.output, "nothing to run before docker build"
    assert not (root / ".docker-deps").exists()
    result = hadolint(root / "Dockerfile")
    assert (result.returncode, result.stdout) == (0, ""), result.stdout
    text = (root / "Dockerfile").read_text()
    assert "FROM poetry AS stub\n" in text and ".docker-deps" not in text


def test_stub_stage_rendering(project, poetry_cli) -> None:
    from poetry_plugin_docker import __version__

    root = project("example")
    run = poetry_cli(root, f"docker dockerfile --stub-stage {MIRROR_ARGS}")
    assert run.status == 0, run.error
    assert run.output.strip() == (
        "Wrote Dockerfile and .dockerignore. Poetry installs the dependencies: --stub-stage runs Poetry in the build."
    )
    text = (root / "Dockerfile").read_text()
    assert next(line for line in text.splitlines() if line.startswith("# Regenerate: ")).endswith(" --stub-stage")
    stages = {stage.split(" AS ")[1].split("\n")[0]: stage for stage in text.split("\n\n") if " AS " in stage}
    assert list(stages) == ["poetry", "stub", "deps", "wheel", "check-scripts", "runtime"]
    # The plugin is installed in the same RUN as Poetry and the other builder plugins.
    install = next(line for line in stages["poetry"].splitlines() if "'poetry==" in line)
    assert "'poetry-plugin-pypi-mirror==" in install and f"'poetry-plugin-docker=={__version__}'" in install
    assert stages["stub"].endswith(
        "FROM poetry AS stub\nARG POETRY_PYPI_MIRROR_URL\nWORKDIR /project\n"
        "COPY pyproject.toml poetry.lock ./\nRUN poetry docker build-context --output stub --only main"
    )
    assert "\nCOPY --from=stub /project/stub/pyproject.toml /project/stub/poetry.lock /app/\n" in stages["deps"]
    assert ".docker-deps" not in text
    assert poetry_cli(root, f"docker dockerfile --stub-stage {MIRROR_ARGS} --check").status == 0
    # Without --stub-stage, no stub stage and no plugin in the builder.
    assert poetry_cli(root, f"docker dockerfile {MIRROR_ARGS}").status == 0
    text = (root / "Dockerfile").read_text()
    assert "AS stub" not in text and "poetry-plugin-docker==" not in text


def test_stub_stage_selection_is_the_install_selection(project, poetry_cli, tmp_path) -> None:
    """The stub stage's build-context, given only pyproject.toml and poetry.lock, writes the
    stub that build-context writes on the host for the same selection."""
    root = project("extras-pep621")
    for options, selection in [
        ("-E idn --extras ini", '--only main --extras "idn ini"'),
        ("--all-extras", "--only main --all-extras"),
    ]:
        run = poetry_cli(root, f"docker dockerfile --force --stub-stage {options}")
        assert run.status == 0, run.error
        text = (root / "Dockerfile").read_text()
        command = f"RUN poetry docker build-context --output stub {selection}\n"
        assert command in text and f"poetry install --no-root {selection} \\\n" in text

        alone = tmp_path / f"alone-{len(options)}"
        alone.mkdir()
        for name in ("pyproject.toml", "poetry.lock"):
            (alone / name).write_bytes((root / name).read_bytes())
        in_build = poetry_cli(alone, command[len("RUN poetry ") :].strip())
        assert in_build.status == 0, in_build.error
        assert poetry_cli(root, f"docker build-context {selection}").status == 0
        for name in ("pyproject.toml", "poetry.lock"):
            assert (alone / "stub" / name).read_bytes() == (root / ".docker-deps" / name).read_bytes()


def test_stub_stage_from_the_configuration_table(project, poetry_cli) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker dockerfile --stub-stage").status == 0
    flag = (root / "Dockerfile").read_text()
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text() + "\n[tool.poetry-plugin-docker]\nstub-stage = true\n"
    )
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert _body((root / "Dockerfile").read_text()) == _body(flag)


def test_stub_stage_dockerignore_lets_the_project_files_through(project, poetry_cli) -> None:
    root = project("example")
    (root / ".dockerignore").write_text("# ours\n.*\n*.lock\n*.toml\n")
    run = poetry_cli(root, "docker dockerfile --stub-stage")
    assert run.status == 0, run.error
    block = (root / ".dockerignore").read_text().split("# ours\n.*\n*.lock\n*.toml\n", 1)[1]
    assert "!pyproject.toml\n" in block and "!poetry.lock\n" in block
    assert ".docker-deps" not in block, "the stub directory is not needed"
    # Without --stub-stage the stub directory is needed, and poetry.lock is not.
    assert poetry_cli(root, "docker dockerfile --force").status == 0
    block = (root / ".dockerignore").read_text()
    assert "!.docker-deps\n" in block and "!poetry.lock" not in block


def test_stub_stage_refuses_path_dependencies(project, poetry_cli) -> None:
    root = project("monorepo/services/api")
    run = poetry_cli(root, "docker dockerfile --stub-stage")
    assert_one_line_error(
        run, "--stub-stage", "core (../../libs/core)", "outside the build context",
        "Drop --stub-stage and run `poetry docker build-context` before `docker build`",
    )  # fmt: skip
    assert not (root / "Dockerfile").exists() and not (root / ".dockerignore").exists()
    # A path dependency only in a group the image does not install is fine, until it is installed.
    worker = root.parent / "worker"
    assert poetry_cli(worker, "docker dockerfile --stub-stage").status == 0
    assert_one_line_error(poetry_cli(worker, "docker dockerfile --force --stub-stage --with dev"), "testkit")


def test_warns_when_the_stub_on_disk_is_not_the_one_it_installs(project, poetry_cli) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker build-context").status == 0
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    assert "Warning" not in run.output

    run = poetry_cli(root, "docker dockerfile --with dev")
    assert run.status == 0, run.error
    assert "Warning: the stub in .docker-deps/ is not the one this Dockerfile installs" in run.output
    assert "run `poetry docker build-context --only main,dev`" in run.output
    assert len(run.output.strip().splitlines()) == 1

    assert poetry_cli(root, "docker build-context --only main,dev").status == 0
    assert "Warning" not in poetry_cli(root, "docker dockerfile --with dev").output
    # The same selection kept in the table: both commands read it, no flags needed.
    set_in_pyproject(
        root, "[tool.poetry.scripts]", '[tool.poetry-plugin-docker]\nwith = ["dev"]\n\n[tool.poetry.scripts]'
    )
    assert poetry_cli(root, "docker build-context --check").status == 0
    assert "Warning" not in poetry_cli(root, "docker dockerfile").output


@pytest.mark.parametrize(
    ("build_system", "isolated"),
    [
        ('requires = ["poetry-core>=1.9.0"]', False),
        ('requires = ["poetry-core>=1.9.0", "setuptools"]', True),
        ('requires = ["poetry-core>=99"]', True),
    ],
)
def test_wheel_is_built_like_poetry_build_would(project, poetry_cli, build_system, isolated) -> None:
    root = project("classic")
    set_in_pyproject(root, 'requires = ["poetry-core>=1.9.0"]', build_system)
    run = poetry_cli(root, "docker dockerfile --installer poetry --build-arg POETRY_PYPI_MIRROR_URL")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    wheel_stage = text[text.index("FROM poetry AS wheel") : text.index(" AS check-scripts")]
    assert ("\n    poetry build --format wheel --output /dist" in wheel_stage) is isolated
    assert ("build_wheel(\"/dist\")" in wheel_stage) is not isolated
    assert ("ARG POETRY_PYPI_MIRROR_URL" in wheel_stage) is isolated, "an isolated build installs from the index"
    assert hadolint(root / "Dockerfile").stdout == ""


def test_a_build_script_is_copied_and_built_by_poetry(project, poetry_cli) -> None:
    root = project("classic")
    set_in_pyproject(root, "[tool.poetry.scripts]", '[tool.poetry.build]\nscript = "build.py"\n\n[tool.poetry.scripts]')
    set_in_pyproject(root, 'requires = ["poetry-core>=1.9.0"]', 'requires = ["poetry-core>=1.9.0", "setuptools"]')
    (root / "build.py").write_text("def build(setup_kwargs):\n    pass\n")
    relock(root)
    run = poetry_cli(root, "docker dockerfile --installer poetry")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    wheel_stage = text[text.index("FROM poetry AS wheel") : text.index(" AS check-scripts")]
    assert "build.py" in wheel_stage.split("poetry build --format")[0], "the build script is copied before the build"
    assert "\n    poetry build --format wheel --output /dist" in wheel_stage


def test_requires_poetry_is_checked_as_poetry_does(project, poetry_cli) -> None:
    root = project("classic")
    set_in_pyproject(root, "[tool.poetry.dependencies]", 'requires-poetry = ">=99"\n\n[tool.poetry.dependencies]')
    for command in ("docker build-context", "docker dockerfile"):
        assert_one_line_error(poetry_cli(root, command), "requires Poetry >=99", "this is Poetry")
    assert not (root / ".docker-deps").exists() and not (root / "Dockerfile").exists()


def test_check_ignore_names_a_locked_distribution(project, poetry_cli) -> None:
    root = project("classic")
    run = poetry_cli(root, "docker dockerfile --check-ignore numpy")
    assert_one_line_error(run)
    assert "--check-ignore numpy is not a distribution the image installs" in run.error
    assert not (root / "Dockerfile").exists()
    assert poetry_cli(root, "docker dockerfile --check-ignore Six").status == 0
    assert "    python /tmp/check-venv.py --ignore six\n" in (root / "Dockerfile").read_text()
    set_in_pyproject(root, "[tool.poetry", '[tool.poetry-plugin-docker]\ncheck-ignore = ["six"]\n\n[tool.poetry')
    assert poetry_cli(root, "docker dockerfile --force").status == 0
    assert "    python /tmp/check-venv.py --ignore six\n" in (root / "Dockerfile").read_text()


def test_a_no_flag_says_false_over_the_tables_true(project, poetry_cli) -> None:
    root = project("example")
    set_in_pyproject(root, "[tool.poetry]", "[tool.poetry-plugin-docker]\ncompile = true\n\n[tool.poetry]")
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert COMPILE in (root / "Dockerfile").read_text()
    assert poetry_cli(root, "docker dockerfile --no-compile").status == 0
    text = (root / "Dockerfile").read_text()
    assert COMPILE not in text
    regenerate = next(line for line in text.splitlines() if line.startswith("# Regenerate: "))
    assert regenerate.endswith(" --no-compile")
