from __future__ import annotations

import pytest

from poetry_plugin_docker.stub.canonical_toml import dumps
from poetry_plugin_docker.toml import tomllib

DOCUMENT = {
    "tool": {
        "poetry": {
            "name": "x",
            "dependencies": {
                "python": "^3.9",
                "requests": {"version": "^2", "extras": ["socks"]},
                "numpy": [{"version": "<2", "python": "<3.10"}, {"version": ">=2", "python": ">=3.10"}],
            },
            "group": {"dev": {"optional": True, "dependencies": {"pytest": "*"}}},
            "source": [
                {"name": "b", "url": "https://b.example/simple", "priority": "explicit"},
                {"name": "a", "url": "https://a.example/simple", "priority": "supplemental"},
            ],
            "extras": {"socks": ["requests"]},
        }
    },
    "project": {"name": "x", "dependencies": ["a>=1", "b; python_version<'3.10'"]},
    "dependency-groups": {"lint": ["ruff", {"include-group": "test"}], "test": []},
    "odd keys": {"with space": "quote \" and \\ and \x7f and \n", "ünïcode": "✓"},
}


def test_round_trips_to_equal_values() -> None:
    assert tomllib.loads(dumps(DOCUMENT)) == DOCUMENT


def test_key_order_does_not_change_the_bytes() -> None:
    def reversed_keys(value):
        if isinstance(value, dict):
            return {key: reversed_keys(value[key]) for key in reversed(list(value))}
        if isinstance(value, list):
            return [reversed_keys(item) for item in value]
        return value

    assert dumps(reversed_keys(DOCUMENT)) == dumps(DOCUMENT)


def test_array_order_is_kept() -> None:
    swapped = {"tool": {"poetry": {"source": list(reversed(DOCUMENT["tool"]["poetry"]["source"]))}}}
    original = {"tool": {"poetry": {"source": DOCUMENT["tool"]["poetry"]["source"]}}}
    assert dumps(swapped) != dumps(original)


def test_dependency_specifications_are_inline() -> None:
    text = dumps(DOCUMENT)
    assert 'requests = { extras = ["socks"], version = "^2" }' in text
    assert "[[tool.poetry.source]]" in text


def test_refuses_values_toml_cannot_hold_here() -> None:
    with pytest.raises(TypeError):
        dumps({"a": object()})
