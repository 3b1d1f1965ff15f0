"""The rules for every value the plugin writes into a Dockerfile, so that none escapes its line.

Values come from the command line, [tool.poetry-plugin-docker] and the project's
metadata. Names and references are checked against their own grammar and
refused with one line naming the option and the rule; free text (labels, the
header comment) is quoted or escaped instead.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Literal, get_args

from packaging.requirements import InvalidRequirement, Requirement

from poetry_plugin_docker.errors import UserError

# Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(rf"{_NAME}(?::{_TAG})?(?:@{_DIGEST})?", re.ASCII)
# Dependency group, extra, package source and script names: letters, digits and . _ -
NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)
# A path in the build context: no spaces, quotes, `$`, backslashes, wildcards or control characters.
PATH = re.compile(r"[A-Za-z0-9._@+=,-]+(?:/[A-Za-z0-9._@+=,-]+)*", re.ASCII)
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
# A URL's host name or IP address, as a netrc `machine`.
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.:-]*[A-Za-z0-9])?", re.ASCII)
# A Debian package name (Debian Policy 5.6.1), optionally with :ARCH and =VERSION.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:-]+)?", re.ASCII)
PYTHON = re.compile(r"3\.\d+", re.ASCII)  # a Python version X.Y, as the python:X.Y images are tagged
PORT = re.compile(r"([0-9]{1,5})(?:/(?:tcp|udp))?", re.ASCII)
# The signals `docker stop` can send (Linux), by name.
SIGNALS = (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
    "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
)  # fmt: skip


def shown(value: str) -> str:
    """A value as it can be printed in a one-line message: as it is, or quoted when it holds
    spaces, quotes or control characters."""
    plain = value.isprintable() and not any(char in value for char in " \"'")
    return value if plain and value else json.dumps(value, ensure_ascii=False)


def _matching(pattern: re.Pattern[str], option: str, value: str, rule: str) -> str:
    """The value if the whole of it matches, else one line: the option, the value and the rule."""
    if not pattern.fullmatch(value):
        raise UserError(f"{option} {shown(value)} {rule}")
    return value


def image_reference(option: str, value: str) -> str:
    return _matching(
        IMAGE_REFERENCE,
        option,
        value,
        "is not an image reference; use NAME[:TAG][@sha256:DIGEST] "
        "with a lowercase name, e.g. python:3.12-slim or registry.example.com/team/python:3.12.",
    )


def name(option: str, value: str) -> str:
    return _matching(
        NAME,
        option,
        value,
        "is not a valid name; use letters, digits, '.', '_' and '-' only, starting and ending with a letter or digit.",
    )


def path(option: str, value: str) -> str:
    """A relative path in the build context, written as it is into COPY lines."""
    return _matching(
        PATH,
        option,
        value,
        "cannot be written into a Dockerfile; use a path of letters, "
        "digits and . _ - @ + = , separated by '/' (no spaces, quotes, '$' or wildcards).",
    )


def variable(option: str, value: str) -> str:
    return _matching(
        VARIABLE,
        option,
        value,
        "is not a variable name; pass only the name, and give the value to `docker build --build-arg NAME=value`.",
    )


def host(option: str, value: str) -> str:
    return _matching(HOST, option, value, "has no host name that can be written into a Dockerfile; fix the URL.")


def debian_package(option: str, value: str) -> str:
    return _matching(
        DEBIAN_PACKAGE,
        option,
        value,
        "is not a Debian package name; use NAME (lowercase letters, digits, + - .), "
        "optionally NAME=VERSION, e.g. libpq5 or libpq-dev.",
    )


def port(option: str, value: str | int) -> str:
    """A port for EXPOSE: 1-65535, optionally /tcp or /udp."""
    text = str(value).strip()
    match = PORT.fullmatch(text) if not isinstance(value, bool) else None
    if match is None or not 1 <= int(match.group(1)) <= 65535:
        raise UserError(
            f"{option} {shown(str(value))} is not a port; use a number from 1 to 65535, e.g. 8000 or 53/udp."
        )
    return text


def image_path(option: str, value: str, relative_to: str = "/app") -> str:
    """A path in the image: absolute, or relative to `relative_to`; normalised, no `..`."""
    posix = value.strip()
    if not posix.startswith("/"):
        posix = f"{relative_to.rstrip('/')}/{posix}"
    parts = [part for part in posix.split("/") if part not in ("", ".")]
    if ".." in parts or not parts:
        raise UserError(
            f"{option} {shown(value)} is not a directory path; use an absolute path such as /app/data, without '..'."
        )
    path(option, "/".join(parts))
    return "/" + "/".join(parts)


def command_line(option: str, value: str) -> list[str]:
    """A command as the exec form (JSON) of HEALTHCHECK CMD takes it: its words, split like /bin/sh
    would; through `sh -c` when it uses the shell (pipes, `&&`, variables, redirections)."""
    text = value.strip()
    if not text or not text.isprintable() or text.endswith("\\"):
        raise UserError(
            f"{option} {shown(value)} is not a command on one line; pass the command only, "
            "e.g. \"python -c 'import urllib.request; urllib.request.urlopen(\\\"http://localhost:8000/\\\")'\"."
        )
    try:
        words = shlex.split(text)
    except ValueError:
        raise UserError(f"{option} {shown(value)} has an unclosed quote; close it.") from None
    if any(char in _outside_quotes(text) for char in "|&;<>$`(){}*?~\\"):
        return ["/bin/sh", "-c", text]
    return words


def _outside_quotes(text: str) -> str:
    """`text` without what the shell would take literally: single-quoted parts, and double-quoted
    parts with no `$` or backquote (those the shell would expand)."""
    return re.sub(r"'[^']*'|\"[^\"$`\\]*\"", "", text)


# What installs the dependencies in the builder: uv from the stub's hashed requirements, or Poetry from
# the stub itself; `auto`, the default, picks uv whenever the lock lets it (dockerfile/plan.py).
Installer = Literal["poetry", "uv"]
InstallerChoice = Literal["auto", "poetry", "uv"]
INSTALLER_CHOICES: tuple[InstallerChoice, ...] = get_args(InstallerChoice)
DEFAULT_INSTALLER: InstallerChoice = "auto"


def installer(option: str, value: str) -> InstallerChoice:
    for known in INSTALLER_CHOICES:
        if value == known:
            return known
    raise UserError(f"{option} {shown(value)} is not an installer; use auto (the default), poetry or uv.")


def stop_signal(option: str, value: str) -> str:
    """A signal name as Docker's STOPSIGNAL takes it (SIGTERM, TERM, sigint: normalised to SIGTERM...)."""
    candidate = value.strip().upper()
    if candidate and not candidate.startswith("SIG"):
        candidate = "SIG" + candidate
    if candidate not in SIGNALS or candidate in ("SIGKILL", "SIGSTOP"):
        raise UserError(
            f"{option} {shown(value)} is not a signal a process can handle; use a signal name "
            "such as SIGTERM, SIGINT or SIGQUIT."
        )
    return candidate


def requirement(option: str, value: str) -> str:
    """A pip requirement (PEP 508), on one line."""
    try:
        Requirement(value)
    except InvalidRequirement:
        valid = False
    else:
        valid = value.isprintable()
    if not valid:
        raise UserError(
            f"{option} {shown(value)} is not a pip requirement; use NAME, NAME==VERSION "
            "or another PEP 508 requirement on one line."
        )
    return value


def comment(text: str) -> str:
    """Text for a `#` comment line: control characters (newlines above all) escaped, never raw."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def label(text: str) -> str:
    """A LABEL value: one line, double-quoted, `$` escaped so that Docker does not expand it."""
    return json.dumps(" ".join(text.split()), ensure_ascii=False).replace("$", "\\$")


def shell_word(text: str) -> str:
    """One word for /bin/sh, single-quoted."""
    return "'" + text.replace("'", "'\"'\"'") + "'"
