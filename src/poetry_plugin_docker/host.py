"""Versions of the distributions installed next to the running Poetry."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def poetry_version() -> str:
    return version("poetry")


def is_poetry_1() -> bool:
    return poetry_version().startswith("1.")
