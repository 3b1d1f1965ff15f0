from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """What a command did: `ok` is False when --check found a difference."""

    ok: bool
    message: str
