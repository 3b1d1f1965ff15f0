"""Helpers shared by the test modules."""

from __future__ import annotations

import re
from pathlib import Path


def set_in_pyproject(root: Path, old: str, new: str) -> None:
    path = root / "pyproject.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def assert_one_line_error(run, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert run.status != 0
    lines = run.error.strip().splitlines()
    assert len(lines) == 1, run.error
    assert "Traceback" not in run.error + run.output
    for fragment in fragments:
        assert fragment in lines[0]


def relock(root: Path) -> None:
    """Rewrite the lock's content-hash as `poetry lock` would when the locked packages still fit.

    Only for edits that cannot change the resolution (such as narrowing Python).
    """
    from poetry.factory import Factory

    lock = root / "poetry.lock"
    content_hash = Factory().create_poetry(root).locker._get_content_hash()
    lock.write_text(
        re.sub(r'content-hash = "[0-9a-f]+"', f'content-hash = "{content_hash}"', lock.read_text())
    )
    assert Factory().create_poetry(root).locker.is_fresh()
