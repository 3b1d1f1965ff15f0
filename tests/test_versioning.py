"""Versions from git tags: which tool, and what `poetry docker build` passes as VERSION (real git)."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from poetry_plugin_docker.dockerfile.versioning import (
    PDV_VARIABLE,
    SCM_VARIABLE,
    DynamicVersion,
    dynamic_version,
    release_version,
)
from poetry_plugin_docker.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

PDV_BACKEND = {
    "build-system": {
        "requires": ["poetry-core>=1.0.0", "poetry-dynamic-versioning>=1.0.0,<2.0.0"],
        "build-backend": "poetry_dynamic_versioning.backend",
    }
}
PDV_PLUGIN = {
    "tool": {"poetry-dynamic-versioning": {"enable": True}},
    "build-system": {"requires": ["poetry-core"], "build-backend": "poetry.core.masonry.api"},
}
SCM = {"build-system": {"requires": ["setuptools>=64", "setuptools_scm>=8"], "build-backend": "setuptools.build_meta"}}
STATIC = {"build-system": {"requires": ["poetry-core"], "build-backend": "poetry.core.masonry.api"}}


def test_the_versioning_tool_is_recognised() -> None:
    assert dynamic_version(PDV_BACKEND) == DynamicVersion("poetry-dynamic-versioning", PDV_VARIABLE, False)
    assert dynamic_version(PDV_PLUGIN) == DynamicVersion("poetry-dynamic-versioning", PDV_VARIABLE, True)
    assert dynamic_version(SCM) == DynamicVersion("setuptools-scm", SCM_VARIABLE, False)
    assert dynamic_version(STATIC) is None
    disabled = {**PDV_PLUGIN, "tool": {"poetry-dynamic-versioning": {"enable": False}}}
    assert dynamic_version(disabled) is None


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a").write_text("1")
    _git(tmp_path, "add", "a")
    _git(tmp_path, "commit", "-qm", "one")
    return tmp_path


def test_the_release_version_is_the_tag_on_a_tagged_commit(repository: Path) -> None:
    pdv, scm = dynamic_version(PDV_BACKEND), dynamic_version(SCM)
    assert pdv and scm
    _git(repository, "tag", "v1.4.0")
    assert release_version(repository, pdv, {}) == "1.4.0"
    assert release_version(repository, scm, {}) == "1.4.0"
    _git(repository, "tag", "not-a-release")  # other tags do not count
    assert release_version(repository, pdv, {}) == "1.4.0"

    # Commits after the tag: each tool's development version, never the tag's.
    (repository / "a").write_text("2")
    _git(repository, "commit", "-qam", "two")
    commit = _git(repository, "rev-parse", "--short=7", "HEAD")
    assert release_version(repository, pdv, {}) == f"1.4.0.post1.dev0+{commit}"
    assert release_version(repository, scm, {}) == f"1.4.1.dev1+g{commit}"
    # The tool's own variable wins, as it does for the tool.
    assert release_version(repository, pdv, {PDV_VARIABLE: "2.0.0"}) == "2.0.0"


def test_no_release_tag_is_one_line(repository: Path) -> None:
    pdv = dynamic_version(PDV_BACKEND)
    assert pdv
    with pytest.raises(UserError, match=r"git finds no release tag like v1\.2\.3 .*git tag v1\.2\.3.*POETRY_DYNAMIC"):
        release_version(repository, pdv, {})
