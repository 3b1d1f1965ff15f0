from __future__ import annotations

import pytest

from poetry_plugin_docker.dockerfile.dockerignore import (
    BEGIN,
    END,
    LOCAL_STATE,
    is_excluded,
    render_dockerignore,
    user_lines,
)


@pytest.mark.parametrize(
    ("path", "patterns", "excluded"),
    [
        (".venv", [".venv"], True),
        ("src/pkg/__pycache__", ["**/__pycache__"], True),
        ("__pycache__", ["**/__pycache__"], True),
        ("src/pkg/mod.pyc", ["**/*.py[cod]"], True),
        ("src/pkg/mod.py", ["**/*.py[cod]"], False),
        (".docker-deps", [".*"], True),
        (".docker-deps", [".*", "!.docker-deps"], False),
        (".docker-deps/poetry.lock", [".*", "!.docker-deps"], False),
        ("src/app", ["src"], True),
        ("src", ["src/*"], False),
        ("README.md", ["*.md", "!README.md"], False),
        ("README.md", ["!README.md", "*.md"], True),
        ("docs", ["./docs/"], True),
    ],
)
def test_matching_follows_docker_rules(path, patterns, excluded) -> None:
    assert is_excluded(path, patterns) is excluded


def test_new_file_is_the_managed_block() -> None:
    text = render_dockerignore(None, [".docker-deps", "src"])
    assert text.splitlines() == [BEGIN, *LOCAL_STATE, END]


def test_user_lines_are_kept_and_needed_paths_re_included() -> None:
    existing = "# mine\n.*\nsrc\n.venv\n"
    text = render_dockerignore(existing, [".docker-deps", "src", "README.md"])
    assert text.startswith("# mine\n.*\nsrc\n.venv\n\n" + BEGIN + "\n")
    block = text.split(BEGIN)[1]
    assert ".venv" not in block.splitlines()  # the user already has it
    assert "!.docker-deps" in block and "!src" in block and "!README.md" not in block
    patterns = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert not is_excluded(".docker-deps/poetry.lock", patterns)
    # Rewriting is stable: the block is replaced, not appended again.
    assert render_dockerignore(text, [".docker-deps", "src", "README.md"]) == text
    assert user_lines(text) == ["# mine", ".*", "src", ".venv"]
