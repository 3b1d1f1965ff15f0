"""No option value escapes its line: every kind of value, with a newline, a quote and a `$` in it.

Each is given in [tool.poetry-plugin-docker] (TOML escapes carry any character), and the
image references and the stop signal also on the real command line: one clear line naming
the option, a non-zero exit, and nothing written.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from helpers import assert_one_line_error, poetry_executable, set_in_pyproject

BAD_TEXT = {"newline": "\nRUN echo pwned", "quote": '"x', "dollar": "$(id)"}

# [tool.poetry-plugin-docker] key -> a valid value the bad text is appended to; the error names the
# key (groups and extras: the group or extra).
KINDS = {
    "base-image": "python:3.11",
    "runtime-image": "python:3.11-slim",
    "syntax": "docker/dockerfile:1",
    "entrypoint": "classic-app",
    "stop-signal": "SIGINT",
    "stub-dir": ".docker-deps",
    "dockerfile": "Dockerfile",
    "python": "3.12",
    "with": ["dev"],
    "extras": ["idn"],
    "build-args": ["PIP_INDEX_URL"],
    "builder-plugins": ["poetry-plugin-export"],
    "secret-sources": ["internal"],
}
NAMED = {"with": "Group", "extras": "Extra"}


def _toml(value: object) -> str:
    return json.dumps(value)  # a JSON string or array of strings is valid TOML


@pytest.mark.parametrize("bad", sorted(BAD_TEXT))
@pytest.mark.parametrize("key", sorted(KINDS))
def test_a_bad_value_is_refused_with_one_line(project, poetry_cli, key, bad) -> None:
    root = project("classic")
    valid, named = KINDS[key], NAMED.get(key, f"{key} in [tool.poetry-plugin-docker]")
    value: object = [valid[0] + BAD_TEXT[bad]] if isinstance(valid, list) else valid + BAD_TEXT[bad]
    set_in_pyproject(
        root, "[tool.poetry.scripts]", f"[tool.poetry-plugin-docker]\n{key} = {_toml(value)}\n\n[tool.poetry.scripts]"
    )
    run = poetry_cli(root, "docker dockerfile")
    assert_one_line_error(run, named)
    assert "pwned" not in run.error or "\\n" in run.error or '"' in run.error, "the value is shown escaped"
    assert sorted(path.name for path in root.iterdir()) == ["classic_app", "poetry.lock", "pyproject.toml"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--base-image", "python:3.11\nRUN echo pwned"),
        ("--runtime-image", "python:3.11-slim\nUSER root"),
        ("--stop-signal", "TERM\nUSER root"),
        ("--stop-signal", "SIGNOPE"),
        ("--base-image", "Python:3.11"),  # reference names are lowercase
    ],
)
def test_the_real_command_line_refuses_them_too(project, option, value) -> None:
    root = project("classic")
    result = subprocess.run(
        [poetry_executable(), "docker", "dockerfile", option, value], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not (root / "Dockerfile").exists() and not (root / ".dockerignore").exists()


@pytest.mark.parametrize(
    "reference",
    [
        "python:3.12-slim",
        "registry.example.com:5000/team/python:3.12",
        "python@sha256:" + "a" * 64,
        "python:3.12-slim@sha256:" + "0123456789abcdef" * 4,
        "localhost/my_image__x-y.z:tag_1.2",
    ],
)
def test_image_references_of_every_form_are_accepted(project, poetry_cli, reference) -> None:
    root = project("classic")
    run = poetry_cli(root, f"docker dockerfile --runtime-image {reference}")
    assert run.status == 0, run.error
    assert f"FROM {reference} AS runtime\n" in (root / "Dockerfile").read_text()


@pytest.mark.parametrize(("given", "written"), [("SIGQUIT", "SIGQUIT"), ("term", "SIGTERM"), ("sigusr1", "SIGUSR1")])
def test_stop_signal_names_are_normalised(project, poetry_cli, given, written) -> None:
    root = project("classic")
    run = poetry_cli(root, f"docker dockerfile --stop-signal {given}")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    assert f"\nSTOPSIGNAL {written}\n" in text


def test_free_text_is_quoted_and_escaped(project, poetry_cli) -> None:
    root = project("classic")
    # poetry-core refuses a newline in the description; a tab, quotes, `$` and a backslash pass.
    description = 'Line one\tRUN echo pwned "quoted" $HOME \\ end'
    set_in_pyproject(
        root, 'description = "Classic [tool.poetry] project with a dev group."', f"description = {_toml(description)}"
    )
    plugin = "'poetry-plugin-export; python_version >= \"3.9\"'"
    assert poetry_cli(root, f"docker dockerfile --builder-plugin {plugin}").status == 0
    text = (root / "Dockerfile").read_text()
    assert "\tRUN" not in text
    assert (
        'org.opencontainers.image.description="Line one RUN echo pwned \\"quoted\\" \\$HOME \\\\ end"' in text
    ), "one line, double-quoted, quotes and backslashes escaped, $ not expanded"
    header = next(line for line in text.splitlines() if line.startswith("# Regenerate: "))
    assert header == (
        "# Regenerate: poetry docker dockerfile "
        "'--builder-plugin=poetry-plugin-export; python_version >= \"3.9\"'"
    )


def test_the_header_comment_escapes_control_characters() -> None:
    from poetry_plugin_docker.values import comment

    assert comment("poetry docker dockerfile '--x=a\nRUN b'\r\t") == "poetry docker dockerfile '--x=a\\nRUN b'\\r\\t"
