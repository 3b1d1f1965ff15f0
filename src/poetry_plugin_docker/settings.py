"""Every setting of the plugin, in one table: its key in `[tool.poetry-plugin-docker]`, the
command-line option that sets it for each command, its type, its default and its rule.

`read_settings` reads the table and the command line once into a frozen `Settings`, which
every command uses: an option given on the command line wins (for booleans, `--no-X` can
say false over the table's true), then the table, then the default. The table is not
hashed into the lock and not kept in the stub, so changing it never invalidates the
dependency layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from poetry_plugin_docker import values
from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.files import project_path, stub_directory

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

TABLE = "poetry-plugin-docker"
WHERE = f"[tool.{TABLE}]"

DEFAULT_STUB_DIR = ".docker-deps"
DEFAULT_DOCKERFILE = "Dockerfile"
DEFAULT_SYNTAX = "docker/dockerfile:1"
DEFAULT_INSTALLER = values.DEFAULT_INSTALLER

BUILD_CONTEXT = "build-context"
DOCKERFILE = "dockerfile"
BUILD = "build"  # reads the table only: it writes the stub and runs the Dockerfile as configured
COMMANDS = (BUILD_CONTEXT, DOCKERFILE, BUILD)
SELECTION_KEYS = ("with", "without", "only", "extras", "all-extras")


@dataclass(frozen=True)
class Setting:
    key: str  # in [tool.poetry-plugin-docker], and the Settings field (with `_` for `-`)
    kind: type  # str, bool or list (of strings)
    flags: Mapping[str, str]  # command -> its option's name (no leading --)
    help: str
    default: Any = None
    shortcuts: Mapping[str, str] = field(default_factory=dict)  # command -> its option's one-letter name
    integer_items: bool = False  # list items may be TOML integers too (ports = [8000])
    # The value's rule, given how messages name it ("--port", "ports in [tool.poetry-plugin-docker]").
    check: Callable[[str, Any], Any] | None = None

    @property
    def field(self) -> str:
        """Its name in `Settings` (`with` is a keyword)."""
        return "with_" if self.key == "with" else self.key.replace("-", "_")


def _for(*commands: str, flag: str) -> dict[str, str]:
    return dict.fromkeys(commands, flag)


def _each(rule: Callable[[str, Any], Any]) -> Callable[[str, list[Any]], list[Any]]:
    return lambda label, items: [rule(label, item) for item in items]


def _python(label: str, value: str) -> str:
    if not values.PYTHON.fullmatch(value):
        raise UserError(f"{label} {values.shown(value)} is not a Python version like 3.12.")
    return value


def _syntax(label: str, value: str) -> str:
    return value if value.lower() == "none" else values.image_reference(label, value)


SELECTING = (BUILD_CONTEXT, DOCKERFILE)
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "dockerfile", str, _for(DOCKERFILE, flag="output"),
        "File to write, relative to the project root.", DEFAULT_DOCKERFILE,
    ),
    Setting(
        "stub-dir", str, {BUILD_CONTEXT: "output", DOCKERFILE: "stub-dir"},
        "Where the dependency stub lives, relative to the project root; a directory of the plugin's own.",
        DEFAULT_STUB_DIR, shortcuts={BUILD_CONTEXT: "o"},
    ),
    Setting("with", list, _for(*SELECTING, flag="with"), "Also install these dependency groups.", []),
    Setting("without", list, _for(*SELECTING, flag="without"), "Do not install these dependency groups.", []),
    Setting("only", list, _for(*SELECTING, flag="only"), "Install only these dependency groups.", []),
    Setting("extras", list, _for(*SELECTING, flag="extras"), "Install these extras.", [],
            shortcuts=_for(*SELECTING, flag="E")),
    Setting("all-extras", bool, _for(*SELECTING, flag="all-extras"), "Install all extras.", False),
    Setting("python", str, _for(DOCKERFILE, flag="python"),
            "Python version X.Y of the base images [default: chosen from the project].", check=_python),
    Setting("base-image", str, _for(DOCKERFILE, flag="base-image"), "Builder base image [default: python:X.Y].",
            check=values.image_reference),
    Setting("runtime-image", str, _for(DOCKERFILE, flag="runtime-image"),
            "Runtime base image [default: python:X.Y-slim].", check=values.image_reference),
    Setting("entrypoint", str, _for(DOCKERFILE, flag="entrypoint"),
            "The script to run [default: the project's first script].", check=values.path),
    Setting("syntax", str, _for(DOCKERFILE, flag="syntax"),
            "Dockerfile frontend for the `# syntax=` line; `none` omits the line.", DEFAULT_SYNTAX, check=_syntax),
    Setting(
        "builder-plugins", list, _for(DOCKERFILE, flag="builder-plugin"),
        "A Poetry plugin to install next to Poetry in the builder (pinned to the installed version when "
        "given by name only).", [], check=_each(values.requirement),
    ),
    Setting(
        "build-args", list, _for(DOCKERFILE, flag="build-arg"),
        "Declare ARG NAME in the builder before the dependency install (e.g. POETRY_PYPI_MIRROR_URL).", [],
        check=_each(values.variable),
    ),
    Setting(
        "secret-sources", list, _for(DOCKERFILE, flag="secret-source"),
        "A package source whose credentials the build gets as the BuildKit secret <source>-credentials "
        "(sources with credentials configured here are included).", [], check=_each(values.name),
    ),
    Setting("compile", bool, _for(DOCKERFILE, flag="compile"),
            "Compile bytecode in the builder: dependencies and project (a bigger image that starts faster).",
            False),
    Setting(
        "stub-stage", bool, _for(DOCKERFILE, flag="stub-stage"),
        "Derive the dependency stub in the Dockerfile itself, so that `docker build .` is the only step "
        "(not for projects with path dependencies).", False,
    ),
    Setting(
        "stop-signal", str, _for(DOCKERFILE, flag="stop-signal"),
        "The signal `docker stop` sends (STOPSIGNAL) [default: SIGINT, or SIGTERM when gunicorn is installed].",
        check=values.stop_signal,
    ),
    Setting(
        "builder-packages", list, _for(DOCKERFILE, flag="builder-package"),
        "A Debian package to install in the builder, for dependencies built from source (e.g. libpq-dev); "
        "their shared libraries' packages go to the runtime image by themselves.", [],
        check=_each(values.debian_package),
    ),
    Setting("runtime-packages", list, _for(DOCKERFILE, flag="runtime-package"),
            "A Debian package to install in the runtime image (e.g. postgresql-client).", [],
            check=_each(values.debian_package)),
    Setting("ports", list, _for(DOCKERFILE, flag="port"),
            "A port the application listens on (EXPOSE), e.g. 8000 or 53/udp.", [], integer_items=True,
            check=_each(values.port)),
    Setting(
        "include", list, _for(DOCKERFILE, flag="include"),
        "SRC[:DEST]: a file or directory of the project the application reads at run time (migrations, "
        "alembic.ini), copied to DEST [default: /app/SRC].", [],
    ),
    Setting(
        "entrypoint-script", str, _for(DOCKERFILE, flag="entrypoint-script"),
        'An executable script of the project run as ENTRYPOINT, with the application as CMD; it must end with '
        '`exec "$@"`.',
    ),
    Setting("data-dirs", list, _for(DOCKERFILE, flag="data-dir"),
            "A directory the application writes, owned by its user (relative to /app, or absolute).", []),
    Setting("healthcheck", str, _for(DOCKERFILE, flag="healthcheck"),
            "The command of a HEALTHCHECK (slim images have no curl: use python -c)."),
    Setting(
        "installer", str, _for(*SELECTING, flag="installer"),
        "What installs the dependencies in the builder, into 15 per-package layers either way: auto (uv "
        "whenever the lock lets it, else Poetry), uv (from the stub's hashed requirements) or poetry.",
        DEFAULT_INSTALLER, check=values.installer,
    ),
    Setting(
        "check-ignore", list, _for(DOCKERFILE, flag="check-ignore"),
        "A distribution whose compiled extensions' shared libraries the image's self-check does not check: "
        "for a library it loads at run time from a path of its own (printed in every build log).", [],
        check=_each(values.name),
    ),
)  # fmt: skip
BY_KEY = {setting.key: setting for setting in SETTINGS}
_TYPE_NAMES = {str: "a string", list: "a list of strings", bool: "true or false"}


@dataclass(frozen=True)
class Settings:
    """Every setting's value for one run, checked, and where each came from (for messages)."""

    stub_dir: str = DEFAULT_STUB_DIR
    dockerfile: str = DEFAULT_DOCKERFILE
    with_: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    installer: values.InstallerChoice = DEFAULT_INSTALLER
    python: str | None = None
    base_image: str | None = None
    runtime_image: str | None = None
    entrypoint: str | None = None
    syntax: str = DEFAULT_SYNTAX
    builder_plugins: tuple[str, ...] = ()
    build_args: tuple[str, ...] = ()
    secret_sources: tuple[str, ...] = ()
    compile: bool = False
    stub_stage: bool = False
    stop_signal: str | None = None
    builder_packages: tuple[str, ...] = ()
    runtime_packages: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    entrypoint_script: str | None = None
    data_dirs: tuple[str, ...] = ()
    healthcheck: str | None = None
    check_ignore: tuple[str, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)  # key -> "--flag" or "key in [tool...]"

    def origin(self, key: str) -> str:
        """How messages name where a setting came from."""
        return self.origins.get(key) or f"{key} in {WHERE}"

    @property
    def selection_settings(self) -> dict[str, Any]:
        """Groups and extras, keyed as in the table."""
        return {
            "with": self.with_, "without": self.without, "only": self.only,
            "extras": self.extras, "all-extras": self.all_extras,
        }  # fmt: skip


def read_table(pyproject: Mapping[str, Any]) -> dict[str, Any]:
    """The `[tool.poetry-plugin-docker]` table (empty if absent), its keys and types checked."""
    table = pyproject.get("tool", {}).get(TABLE, {})
    if not isinstance(table, dict):
        raise UserError(f"{WHERE} in pyproject.toml must be a table.")
    for key, value in table.items():
        setting = BY_KEY.get(key)
        if setting is None:
            raise UserError(f"Unknown key '{key}' in {WHERE}; the keys are: {', '.join(BY_KEY)}.")
        if not _has_type(setting, value):
            kind = "a list of strings or numbers" if setting.integer_items else _TYPE_NAMES[setting.kind]
            raise UserError(f"'{key}' in {WHERE} must be {kind}.")
    return dict(table)


def _has_type(setting: Setting, value: object) -> bool:
    if setting.kind is not list:
        return isinstance(value, setting.kind)
    return isinstance(value, list) and all(
        isinstance(item, str) or (setting.integer_items and isinstance(item, int) and not isinstance(item, bool))
        for item in value
    )


def read_settings(
    root: Path, table: Mapping[str, Any], command: str, given: Mapping[str, Any] | None = None
) -> Settings:
    """The settings of `command` for the project at `root`: `given` holds the command line's values
    by option name (None, [] and absent: not given; False for a boolean given as --no-X), `table`
    the project's [tool.poetry-plugin-docker] (as `read_table` returns it)."""
    given = given or {}
    chosen: dict[str, Any] = {}
    origins: dict[str, str] = {}
    # Groups and extras: any of them on the command line replaces the table's choice as a whole.
    selection_given = {
        names: any(_given(given, setting.flags.get(command)) for setting in SETTINGS if setting.key in names)
        for names in (("with", "without", "only"), ("extras", "all-extras"))
    }
    for setting in SETTINGS:
        flag = setting.flags.get(command)
        group = next((names for names in selection_given if setting.key in names), None)
        from_command_line = selection_given[group] if group else _given(given, flag)
        if from_command_line and flag is not None:
            value, origins[setting.key] = given.get(flag), f"--{flag}"
        elif setting.key in table and not (group and selection_given[group]):
            value, origins[setting.key] = table[setting.key], f"{setting.key} in {WHERE}"
        else:
            value, origins[setting.key] = setting.default, f"--{flag}" if flag else f"{setting.key} in {WHERE}"
        if value is not None and value != [] and setting.check is not None:
            value = setting.check(origins[setting.key], value)
        chosen[setting.field] = _frozen(setting, value)
    chosen["stub_dir"] = stub_directory(root, chosen["stub_dir"], origins["stub-dir"])
    chosen["dockerfile"] = project_path(root, chosen["dockerfile"], origins["dockerfile"])
    return Settings(**chosen, origins=origins)


def _given(given: Mapping[str, Any], flag: str | None) -> bool:
    return flag is not None and given.get(flag) not in (None, [], ())


def _frozen(setting: Setting, value: Any) -> Any:
    if setting.kind is list:
        return tuple(str(item) for item in value or ())
    if setting.kind is bool:
        return bool(value)
    return value
