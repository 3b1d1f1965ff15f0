from __future__ import annotations

import pytest

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.settings import read_config


def test_absent_table_is_empty() -> None:
    assert read_config({"tool": {"poetry": {}}}) == {}


def test_valid_table_is_returned() -> None:
    table = {
        "python": "3.12",
        "with": ["dev"],
        "all-extras": True,
        "build-args": ["A"],
        "compile": True,
        "stub-stage": False,
    }
    assert read_config({"tool": {"poetry-plugin-docker": table}}) == table


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"pyton": "3.12"}, "Unknown key 'pyton' in [tool.poetry-plugin-docker]"),
        ({"with": "dev"}, "'with' in [tool.poetry-plugin-docker] must be a list of strings."),
        ({"with": [1]}, "'with' in [tool.poetry-plugin-docker] must be a list of strings."),
        ({"all-extras": "yes"}, "'all-extras' in [tool.poetry-plugin-docker] must be true or false."),
        ({"compile": "yes"}, "'compile' in [tool.poetry-plugin-docker] must be true or false."),
        ({"stub-stage": 1}, "'stub-stage' in [tool.poetry-plugin-docker] must be true or false."),
    ],
)
def test_bad_tables_are_refused(table, message) -> None:
    with pytest.raises(UserError) as error:
        read_config({"tool": {"poetry-plugin-docker": table}})
    assert str(error.value).startswith(message)
