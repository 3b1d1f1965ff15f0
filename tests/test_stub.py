from __future__ import annotations

import copy

from poetry_plugin_docker.stub.pyproject import HEADER, render_stub_pyproject, stub_pyproject_data
from poetry_plugin_docker.toml import tomllib

FULL = {
    "project": {
        "name": "app",
        "version": "1.2.3",
        "description": "d",
        "readme": "README.md",
        "authors": [{"name": "a"}],
        "license": "MIT",
        "urls": {"home": "https://example.com"},
        "classifiers": ["X"],
        "keywords": ["k"],
        "scripts": {"app": "app:main"},
        "entry-points": {"x": {"y": "z"}},
        "requires-python": ">=3.9",
        "dependencies": ["six"],
        "optional-dependencies": {"idn": ["idna"]},
        "dynamic": ["version", "dependencies", "classifiers"],
    },
    "dependency-groups": {"test": ["pytest"]},
    "tool": {
        "poetry": {
            "name": "app",
            "version": "1.2.3",
            "description": "d",
            "packages": [{"include": "app"}],
            "include": ["x"],
            "exclude": ["y"],
            "readme": "README.md",
            "scripts": {"app": "app:main"},
            "plugins": {"a": {"b": "c"}},
            "requires-plugins": {"poetry-plugin-export": ">=1"},
            "dependencies": {"python": "^3.9", "six": "*"},
            "dev-dependencies": {"pytest": "*"},
            "group": {"lint": {"dependencies": {"ruff": "*"}}},
            "source": [{"name": "s", "url": "https://s.example/simple", "priority": "explicit"}],
            "extras": {"idn": ["idna"]},
        },
        "ruff": {"line-length": 100},
        "poetry-plugin-docker": {"python": "3.12"},
    },
    "build-system": {"requires": ["poetry-core"], "build-backend": "poetry.core.masonry.api"},
}


def test_keeps_exactly_the_hashed_keys_and_package_mode_false() -> None:
    assert stub_pyproject_data(FULL) == {
        "project": {
            "name": "app",
            "requires-python": ">=3.9",
            "dependencies": ["six"],
            "optional-dependencies": {"idn": ["idna"]},
            "dynamic": ["dependencies"],
        },
        "dependency-groups": {"test": ["pytest"]},
        "tool": {
            "poetry": {
                "name": "app",
                "package-mode": False,
                "dependencies": {"python": "^3.9", "six": "*"},
                "dev-dependencies": {"pytest": "*"},
                "group": {"lint": {"dependencies": {"ruff": "*"}}},
                "source": [{"name": "s", "url": "https://s.example/simple", "priority": "explicit"}],
                "extras": {"idn": ["idna"]},
            }
        },
    }


def test_rendered_stub_parses_to_the_stub_data() -> None:
    text = render_stub_pyproject(stub_pyproject_data(FULL))
    assert text.startswith(HEADER)
    assert tomllib.loads(text) == stub_pyproject_data(FULL)
    assert "1.2.3" not in text


def test_the_stub_data_is_a_copy() -> None:
    original = copy.deepcopy(FULL)
    stub_pyproject_data(FULL)["tool"]["poetry"]["dependencies"]["six"] = "edited"
    assert original == FULL


def test_classic_project_has_no_project_table() -> None:
    data = stub_pyproject_data({"tool": {"poetry": {"name": "a", "version": "1", "dependencies": {}}}})
    assert data == {"tool": {"poetry": {"name": "a", "dependencies": {}, "package-mode": False}}}
