"""The `[tool.poetry-plugin-docker]` table: option defaults kept in pyproject.toml.

Command-line options override it. It is not hashed into the lock and not kept in
the stub, so changing it never invalidates the dependency layer.
"""

from __future__ import annotations

from typing import Any

from poetry_plugin_docker.errors import UserError

TABLE = "poetry-plugin-docker"

# key -> (type, the command-line option it sets)
SETTINGS: dict[str, tuple[type, str]] = {
    "stub-dir": (str, "build-context --output and dockerfile --stub-dir"),
    "dockerfile": (str, "dockerfile --output"),
    "with": (list, "--with"),
    "without": (list, "--without"),
    "only": (list, "--only"),
    "extras": (list, "--extras"),
    "all-extras": (bool, "--all-extras"),
    "python": (str, "--python"),
    "base-image": (str, "--base-image"),
    "runtime-image": (str, "--runtime-image"),
    "entrypoint": (str, "--entrypoint"),
    "syntax": (str, "--syntax"),
    "builder-plugins": (list, "--builder-plugin"),
    "build-args": (list, "--build-arg"),
    "secret-sources": (list, "--secret-source"),
    "compile": (bool, "--compile"),
    "stub-stage": (bool, "--stub-stage"),
    "stop-signal": (str, "--stop-signal"),
    "builder-packages": (list, "--builder-package"),
    "runtime-packages": (list, "--runtime-package"),
    "ports": (list, "--port"),
    "include": (list, "--include"),
    "entrypoint-script": (str, "--entrypoint-script"),
    "data-dirs": (list, "--data-dir"),
    "healthcheck": (str, "--healthcheck"),
    "installer": (str, "--installer"),
    "check-ignore": (list, "--check-ignore"),
}
# Lists whose items may also be TOML integers (ports = [8000]).
_INTEGER_ITEMS = ("ports",)
_TYPE_NAMES = {str: "a string", list: "a list of strings", bool: "true or false"}


def read_config(pyproject: dict[str, Any]) -> dict[str, Any]:
    """The validated table (empty if absent)."""
    table = pyproject.get("tool", {}).get(TABLE, {})
    where = f"[tool.{TABLE}]"
    if not isinstance(table, dict):
        raise UserError(f"{where} in pyproject.toml must be a table.")
    for key, value in table.items():
        if key not in SETTINGS:
            known = ", ".join(SETTINGS)
            raise UserError(f"Unknown key '{key}' in {where}; the keys are: {known}.")
        expected = SETTINGS[key][0]
        valid = isinstance(value, expected) and (
            expected is not list
            or (isinstance(value, list) and all(_valid_item(key, item) for item in value))
        )
        if not valid:
            kind = "a list of strings or numbers" if key in _INTEGER_ITEMS else _TYPE_NAMES[expected]
            raise UserError(f"'{key}' in {where} must be {kind}.")
    return dict(table)


def _valid_item(key: str, item: object) -> bool:
    if key in _INTEGER_ITEMS and isinstance(item, int) and not isinstance(item, bool):
        return True
    return isinstance(item, str)
