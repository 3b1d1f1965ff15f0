"""Property-based: random edits of non-dependency keys never change the stub; random
edits of dependency keys always do, and always make Poetry's lock stale."""

from __future__ import annotations

import copy
from importlib.metadata import version
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import given, settings
from hypothesis import strategies as st
from poetry.packages.locker import Locker

from poetry_plugin_docker.stub.pyproject import render_stub_pyproject, stub_pyproject_data
from poetry_plugin_docker.toml import tomllib

BASE: dict[str, Any] = {
    "project": {
        "name": "app",
        "version": "1.0.0",
        "description": "An app.",
        "requires-python": ">=3.9",
        "dependencies": ["six>=1.16", "idna>=3.4"],
        "optional-dependencies": {"socks": ["pysocks>=1.7"]},
    },
    "dependency-groups": {"test": ["pytest>=8"]},
    "tool": {
        "poetry": {
            "packages": [{"include": "app"}],
            "group": {"dev": {"dependencies": {"ruff": ">=0.5"}}},
            "source": [{"name": "internal", "url": "https://packages.example.com/simple", "priority": "explicit"}],
        }
    },
    "build-system": {"requires": ["poetry-core>=2"], "build-backend": "poetry.core.masonry.api"},
}

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
scalar = st.one_of(text, st.integers(-1000, 1000), st.booleans())
value = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
)

# (path, value) pairs that are not dependency information.
NON_DEPENDENCY_PATHS = [
    ("project", "version"),
    ("project", "description"),
    ("project", "readme"),
    ("project", "authors"),
    ("project", "keywords"),
    ("project", "classifiers"),
    ("project", "urls"),
    ("project", "scripts"),
    ("project", "entry-points"),
    ("project", "license"),
    ("tool", "poetry", "version"),
    ("tool", "poetry", "description"),
    ("tool", "poetry", "readme"),
    ("tool", "poetry", "packages"),
    ("tool", "poetry", "include"),
    ("tool", "poetry", "exclude"),
    ("tool", "poetry", "scripts"),
    ("tool", "poetry", "plugins"),
    ("tool", "poetry", "requires-plugins"),
    ("tool", "poetry", "requires-poetry"),
    ("tool", "ruff"),
    ("tool", "mypy"),
    ("tool", "poetry-plugin-docker"),
    ("build-system",),
]


def content_hash(document: dict[str, Any]) -> str:
    return Locker(Path("/nonexistent/poetry.lock"), document)._get_content_hash()


def set_path(document: dict[str, Any], path: tuple[str, ...], new: Any) -> None:
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = new


def reorder(document: Any, rotation: int) -> Any:
    """The same values with every table's keys in another order."""
    if isinstance(document, dict):
        keys = list(document)
        if keys:
            shift = rotation % len(keys)
            keys = keys[shift:] + keys[:shift]
        return {key: reorder(document[key], rotation + 1) for key in keys}
    if isinstance(document, list):
        return [reorder(item, rotation) for item in document]
    return document


def stub_of(document: dict[str, Any]) -> str:
    # Through a real TOML file, the way the command reads it.
    return render_stub_pyproject(stub_pyproject_data(tomllib.loads(tomlkit.dumps(document))))


@settings(max_examples=150, deadline=None)
@given(
    edits=st.lists(st.tuples(st.sampled_from(NON_DEPENDENCY_PATHS), value), min_size=1, max_size=5),
    rotation=st.integers(0, 10),
)
def test_non_dependency_edits_never_change_the_stub(edits, rotation) -> None:
    edited = copy.deepcopy(BASE)
    for path, new in edits:
        set_path(edited, path, new)
    edited = reorder(edited, rotation)
    assert content_hash(edited) == content_hash(BASE), "Poetry would still accept the lock"
    assert stub_of(edited) == stub_of(BASE)


# Poetry hashes [dependency-groups] from 2.3 on; 2.2 (the newest on Python 3.9) accepts the old lock.
POETRY_HASHES_DEPENDENCY_GROUPS = tuple(int(part) for part in version("poetry").split(".")[:2]) >= (2, 3)

DEPENDENCY_EDITS = [
    lambda d, s: d["project"]["dependencies"].append(f"pkg-{s}>=1"),
    lambda d, s: d["project"]["dependencies"].__setitem__(0, f"six>={s}"),
    lambda d, s: d["project"].__setitem__("requires-python", f">=3.{s + 10}"),  # base: >=3.9
    lambda d, s: d["project"]["optional-dependencies"].__setitem__(f"extra{s}", [f"pkg-{s}"]),
    lambda d, s: d["dependency-groups"]["test"].append(f"pkg-{s}"),
    lambda d, s: d["dependency-groups"].__setitem__(f"g{s}", [f"pkg-{s}"]),
    lambda d, s: d["tool"]["poetry"]["group"]["dev"]["dependencies"].__setitem__(f"pkg-{s}", "*"),
    lambda d, s: d["tool"]["poetry"]["group"].__setitem__(f"g{s}", {"dependencies": {"x": f"{s}"}}),
    lambda d, s: d["tool"]["poetry"]["source"][0].__setitem__("url", f"https://p{s}.example.com/simple"),
    lambda d, s: d["tool"]["poetry"].__setitem__("dependencies", {"six": {"source": f"internal{s}"}}),
    lambda d, s: d["tool"]["poetry"].__setitem__("extras", {f"e{s}": ["six"]}),
]


@settings(max_examples=150, deadline=None)
@given(edit=st.sampled_from(range(len(DEPENDENCY_EDITS))), seed=st.integers(0, 10_000), rotation=st.integers(0, 10))
def test_dependency_edits_always_change_the_stub_and_make_the_lock_stale(edit, seed, rotation) -> None:
    edited = copy.deepcopy(BASE)
    DEPENDENCY_EDITS[edit](edited, seed)
    edited = reorder(edited, rotation)
    if POETRY_HASHES_DEPENDENCY_GROUPS or edited["dependency-groups"] == BASE["dependency-groups"]:
        assert content_hash(edited) != content_hash(BASE), "Poetry refuses the old lock as stale"
    assert stub_of(edited) != stub_of(BASE)
