"""A canonical TOML writer: equal values always give the same bytes.

Tables are written with their keys sorted; arrays keep their order (order can
mean something in an array, such as the order of package sources). The
dependency stub relies on this: whatever the layout, comments or key order of
the user's pyproject.toml, the stub only changes when a kept value changes.
"""

from __future__ import annotations

import json
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

# Tables whose values are dependency specifications: those are written inline,
# one per line, the way people write them by hand.
_DEPENDENCY_TABLES = frozenset({"dependencies", "dev-dependencies"})


def dumps(document: dict[str, Any]) -> str:
    lines: list[str] = []
    _write_table(lines, (), document)
    return "\n".join(lines).strip("\n") + "\n"


def _write_table(lines: list[str], path: tuple[str, ...], table: dict[str, Any]) -> None:
    inline_values = path[-1:] and path[-1] in _DEPENDENCY_TABLES
    scalars: list[tuple[str, Any]] = []
    subtables: list[tuple[str, dict[str, Any]]] = []
    table_arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key in sorted(table):
        value = table[key]
        if isinstance(value, dict) and not inline_values:
            subtables.append((key, value))
        elif _is_array_of_tables(value) and not inline_values:
            table_arrays.append((key, value))
        else:
            scalars.append((key, value))

    if path and (scalars or not (subtables or table_arrays)):
        lines.append(f"[{_dotted(path)}]")
    for key, value in scalars:
        lines.append(f"{_key(key)} = {_value(value)}")
    if path and (scalars or not (subtables or table_arrays)):
        lines.append("")
    for key, value in subtables:
        _write_table(lines, (*path, key), value)
    for key, items in table_arrays:
        for item in items:
            lines.append(f"[[{_dotted((*path, key))}]]")
            for item_key in sorted(item):
                lines.append(f"{_key(item_key)} = {_value(item[item_key])}")
            lines.append("")


def _is_array_of_tables(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, dict)
            and not any(isinstance(v, (dict, list)) and _has_table(v) for v in item.values())
            for item in value
        )
    )


def _has_table(value: Any) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(_has_table(item) for item in value)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_key(part) for part in path)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; TOML also
    # forbids a raw DEL character, which JSON leaves alone.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"nan": "nan", "inf": "inf", "-inf": "-inf"}[repr(value)]
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{_key(k)} = {_value(value[k])}" for k in sorted(value))
        return "{ " + items + " }"
    raise TypeError(f"cannot write a {type(value).__name__} value to the stub")
