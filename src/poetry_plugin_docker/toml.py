"""The TOML parser of every supported Python: tomllib from 3.11, tomli before (Poetry depends on it there)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # Poetry itself requires tomli on these Pythons
    import tomli as tomllib

__all__ = ["tomllib"]
