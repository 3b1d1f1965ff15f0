from __future__ import annotations

import pytest

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.settings import SETTINGS, Settings, read_settings, read_table


def test_absent_table_is_empty() -> None:
    assert read_table({"tool": {"poetry": {}}}) == {}


def test_valid_table_is_returned() -> None:
    table = {
        "python": "3.12",
        "with": ["dev"],
        "all-extras": True,
        "build-args": ["A"],
        "compile": True,
        "stub-stage": False,
    }
    assert read_table({"tool": {"poetry-plugin-docker": table}}) == table


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
        read_table({"tool": {"poetry-plugin-docker": table}})
    assert str(error.value).startswith(message)


def _settings(tmp_path, table, command="dockerfile", given=None):  # type: ignore[no-untyped-def]
    return read_settings(tmp_path, read_table({"tool": {"poetry-plugin-docker": table}}), command, given)


def test_the_defaults_come_from_the_table_of_settings(tmp_path) -> None:
    settings = _settings(tmp_path, {})
    assert settings == Settings(origins=settings.origins)
    assert {setting.field for setting in SETTINGS} == set(Settings.__dataclass_fields__) - {"origins"}


def test_the_command_line_wins_over_the_table_and_no_flags_say_false(tmp_path) -> None:
    table = {"compile": True, "stub-stage": True, "python": "3.12", "ports": [8000], "with": ["dev"], "extras": ["a"]}
    settings = _settings(tmp_path, table, given={"no-compile": None, "compile": False, "python": "3.13", "only": ["x"]})
    assert (settings.compile, settings.stub_stage, settings.python, settings.ports) == (False, True, "3.13", ("8000",))
    # Groups as a whole: --only replaces the table's `with`; the extras stay the table's.
    assert (settings.with_, settings.only, settings.extras) == ((), ("x",), ("a",))
    assert settings.origin("python") == "--python"
    assert settings.origin("ports") == "ports in [tool.poetry-plugin-docker]"


def test_a_setting_is_checked_where_it_is_read_and_names_its_origin(tmp_path) -> None:
    with pytest.raises(UserError) as error:
        _settings(tmp_path, {"base-image": "Python:3.11"})
    assert str(error.value).startswith(
        "base-image in [tool.poetry-plugin-docker] Python:3.11 is not an image reference"
    )
    with pytest.raises(UserError) as error:
        _settings(tmp_path, {}, given={"base-image": "Python:3.11"})
    assert str(error.value).startswith("--base-image Python:3.11 is not an image reference")


def test_build_context_reads_the_stub_dir_from_its_output_option(tmp_path) -> None:
    settings = _settings(tmp_path, {"stub-dir": "deps"}, command="build-context", given={"output": "other"})
    assert (settings.stub_dir, settings.origin("stub-dir")) == ("other", "--output")
    assert _settings(tmp_path, {"stub-dir": "deps"}, command="build").stub_dir == "deps"
