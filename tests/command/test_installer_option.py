"""The installer: `auto` (uv when the lock lets it, else Poetry), the stub's layer files, and what
`--installer uv` refuses (the builds are in tests/e2e)."""

from __future__ import annotations

import shutil

import pytest
from helpers import assert_one_line_error, set_in_pyproject

from poetry_plugin_docker.settings import DEFAULT_STUB_DIR
from poetry_plugin_docker.stub import requirements
from poetry_plugin_docker.stub.layers import LAYER_NAMES, LAYERS_DIR, STAGE_LAYERS
from poetry_plugin_docker.stub.pyproject import LAYER_SCRIPT, LAYER_SCRIPT_SOURCE


def test_build_context_writes_the_hashed_export_and_a_release_keeps_it(project, poetry_cli) -> None:
    root = project("extras-pep621")
    run = poetry_cli(root, "docker build-context -E idn")
    assert run.status == 0, run.error
    layers = root / DEFAULT_STUB_DIR / LAYERS_DIR
    files = {path.name: path.read_text() for path in sorted(layers.glob("*.txt"))}
    assert list(files) == [f"{layer}.txt" for layer in LAYER_NAMES]
    assert (root / DEFAULT_STUB_DIR / LAYER_SCRIPT).read_bytes() == LAYER_SCRIPT_SOURCE.read_bytes()
    assert f"requirements/, {LAYER_SCRIPT}, install-wheel.py)" in run.output
    requirements = "".join(files.values())
    lines = [line for line in requirements.splitlines() if line and not line.startswith((" ", "#"))]
    assert all("==" in line for line in lines), requirements
    assert requirements.count("--hash=sha256:") >= len(lines)
    assert "idna==" in requirements  # the extra's dependency
    # A release changes no byte of them; nor does the installer, whose files they are either way.
    set_in_pyproject(root, 'version = "0.1.0"', 'version = "0.1.1"')
    for installer in ("auto", "uv", "poetry"):
        assert poetry_cli(root, f"docker build-context --installer {installer} -E idn --check").status == 0
    assert poetry_cli(root, "docker build-context -E idn").status == 0
    assert {path.name: path.read_text() for path in sorted(layers.glob("*.txt"))} == files


def test_the_installer_comes_from_the_table_for_both_commands(project, poetry_cli) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker build-context").status == 0
    assert "six==" in "".join(path.read_text() for path in (root / DEFAULT_STUB_DIR / LAYERS_DIR).iterdir())
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    install = "&& uv pip install --python /app/.venv/bin/python --require-hashes --no-deps -r /tmp/requirements.txt"
    assert install in text
    # No Poetry in the builder: no stage of it, no install of it, no `poetry` command run.
    assert "'poetry==" not in text and "FROM poetry AS" not in text
    assert not [line for line in text.splitlines() if line.lstrip("&| ").startswith(("RUN poetry", "poetry "))]
    # Poetry when the table says so, in the same layers.
    set_in_pyproject(root, "[tool.poetry]", '[tool.poetry-plugin-docker]\ninstaller = "poetry"\n\n[tool.poetry]')
    assert poetry_cli(root, "docker build-context --check").status == 0
    assert poetry_cli(root, "docker dockerfile --force").status == 0
    text = (root / "Dockerfile").read_text()
    assert "    && poetry install --no-root --only main \\\n" in text and "uv pip install --python /app" not in text
    assert [line for line in text.splitlines() if line.startswith("COPY --from=deps /layer/")] == [
        f"COPY --from=deps /layer/{layer}/ /" for layer in LAYER_NAMES
    ]


def test_auto_says_why_poetry_installs_a_path_dependency(project, poetry_cli) -> None:
    root = project("monorepo/services/api")
    run = poetry_cli(root, "docker build-context")
    assert run.status == 0, run.error
    # Poetry installs the lock: the layer files only name each layer's distributions, with no hashes.
    layer_files = "".join(path.read_text() for path in (root / DEFAULT_STUB_DIR / LAYERS_DIR).iterdir())
    assert "\ncore==" in layer_files and "--hash" not in layer_files
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    assert "Poetry installs the dependencies: core is a path dependency, which uv cannot install" in run.output
    text = (root / "Dockerfile").read_text()
    why = "# Poetry installs them: core is a path dependency, which uv cannot install from hashed requirements.\n"
    assert why in text
    assert "\nFROM poetry AS deps\n" in text


def test_a_missing_requirements_file_is_warned_about(project, poetry_cli) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker build-context").status == 0
    shutil.rmtree(root / DEFAULT_STUB_DIR / LAYERS_DIR)  # as an older plugin's stub
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    assert "has no requirements/" in run.output and "run `poetry docker build-context`" in run.output


@pytest.mark.parametrize(
    ("fixture", "options", "fragments"),
    [
        ("monorepo/services/api", "--installer uv", ("core", "is a path dependency", "Drop --installer uv")),
        ("example", "--installer uv --stub-stage", ("--stub-stage", "Drop --installer uv")),
        ("classic", "--installer pip", ("--installer pip is not an installer", "auto (the default), poetry or uv")),
    ],
)
def test_what_uv_cannot_do_is_one_line(project, poetry_cli, fixture, options, fragments) -> None:
    root = project(fixture)
    assert_one_line_error(poetry_cli(root, f"docker dockerfile {options}"), *fragments)
    assert not (root / "Dockerfile").exists()


def test_build_context_refuses_what_uv_cannot_install(project, poetry_cli) -> None:
    root = project("monorepo/services/api")
    assert_one_line_error(poetry_cli(root, "docker build-context --installer uv"), "is a path dependency")
    assert not (root / DEFAULT_STUB_DIR).exists()


def test_uv_reads_index_credentials_from_the_secret_as_a_netrc(project, poetry_cli) -> None:
    root = project("explicit-source")
    run = poetry_cli(root, "docker dockerfile --installer uv --secret-source internal")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    for layers in STAGE_LAYERS:  # every install stage, each with its own tmpfs
        stage = text.split(f"FROM venv AS deps-{layers[0]}-{layers[-1]}\n", 1)[1].split("\n\n", 1)[0]
        assert "--mount=type=secret,id=internal-credentials,required=true \\\n" in stage
        assert "--mount=type=tmpfs,target=/run/netrc \\\n" in stage
        assert (
            "printf 'machine packages.example.com login %s password %s\\n' "
            '"$(cut -d: -f1 /run/secrets/internal-credentials)" "$(cut -d: -f2- /run/secrets/internal-credentials)" '
            ">> /run/netrc/netrc &&" in stage
        )
        assert "&& NETRC=/run/netrc/netrc uv pip install --python /app/.venv/bin/python" in stage


def test_the_export_runs_again_only_when_its_inputs_change(project, poetry_cli, monkeypatch) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker build-context").status == 0
    layers = root / DEFAULT_STUB_DIR / LAYERS_DIR
    files = {path.name: path.read_bytes() for path in layers.iterdir()}
    assert sorted(files) == [*(f"{layer}.txt" for layer in LAYER_NAMES), "inputs.sha256"]
    assert files["inputs.sha256"].startswith(b"sha256:")  # what they were written from, in a file of its own

    def no_export(*_: object) -> str:
        raise AssertionError("exported again")

    monkeypatch.setattr(requirements, "_export", no_export)
    set_in_pyproject(root, 'version = "0.3.0"', 'version = "0.3.1"')
    assert poetry_cli(root, "docker build-context").status == 0  # a release: the files as they are
    assert {path.name: path.read_bytes() for path in layers.iterdir()} == files
    # Another selection is another input: exported again.
    run = poetry_cli(root, "docker build-context --with dev")
    assert run.status != 0 and "exported again" in run.error + run.output
