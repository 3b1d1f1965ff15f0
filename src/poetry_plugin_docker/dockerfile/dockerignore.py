""".dockerignore: keep local state out of the build context, never what the Dockerfile copies.

The plugin owns one marked block of the file; every other line is the user's and
is kept as it is. The block excludes the usual local state (virtualenvs, VCS,
caches, build output) that the user's lines do not already exclude, and
re-includes (`!path`) whatever the Dockerfile copies that some line excludes.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

BEGIN = "# >>> poetry-plugin-docker: managed block, rewritten by `poetry docker dockerfile`"
END = "# <<< poetry-plugin-docker"
LOCAL_STATE = (
    ".git",
    ".venv",
    "venv",
    "**/__pycache__",
    "**/*.py[cod]",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    ".coverage",
    "htmlcov",
    "dist",
    "build",
    "*.egg-info",
)


def user_lines(existing: str | None) -> list[str]:
    """The file's lines outside the managed block."""
    lines, inside = [], False
    for line in (existing or "").splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def render_dockerignore(existing: str | None, required: Iterable[str]) -> str:
    kept = user_lines(existing)
    patterns = [line.strip() for line in kept if line.strip() and not line.lstrip().startswith("#")]
    block = [pattern for pattern in LOCAL_STATE if pattern not in patterns]
    everything = patterns + block
    block += [f"!{path}" for path in required if is_excluded(path, everything)]
    managed = [BEGIN, *block, END]
    return "\n".join([*kept, *([""] if kept else []), *managed]) + "\n"


def is_excluded(path: str, patterns: Iterable[str]) -> bool:
    """Whether Docker leaves `path` out of the context: the last matching pattern wins, and a
    pattern that matches a parent directory matches everything below it."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw[1:] if negated else raw
        pattern = re.sub(r"/+", "/", pattern.strip()).strip("/")
        if pattern.startswith("./"):
            pattern = pattern[2:]
        if pattern and any(_regex(pattern).fullmatch(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))
