"""The generated Dockerfile's machine-readable header, and the image labels tied to it.

Render writes one comment line near the top of the Dockerfile:

    # poetry-plugin-docker: {"header": 1, "installer": "poetry", "stub_dir": ".docker-deps", ...}

and `poetry docker build` reads it back (`read_header`) instead of parsing the
instructions, so that rewording the Dockerfile never changes what the build passes
to Docker. The line holds nothing a release changes (no project version), so a
version bump leaves the file as it is.

Two labels of the runtime image say which stub and which Dockerfile it was built
from (for a command that must know an image is the plugin's, from the same files):

- `STUB_DIGEST_LABEL`: `sha256:` and the hash of `sha256sum pyproject.toml poetry.lock`
  run in the stub's project directory (`stub_digest`), passed by `poetry docker build`
  as the build argument `STUB_DIGEST_ARG`: a literal would make the Dockerfile stale
  on every lock update;
- `DOCKERFILE_LABEL`: `sha256:` and the Dockerfile's checksum, the one on its checksum
  line (written in place of `CHECKSUM_PLACEHOLDER`, which is what the checksum covers).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

HEADER_PREFIX = "# poetry-plugin-docker: "
HEADER_VERSION = 1
LABEL_PREFIX = "io.github.poetry-plugin-docker."
STUB_DIGEST_LABEL = f"{LABEL_PREFIX}stub-digest"
DOCKERFILE_LABEL = f"{LABEL_PREFIX}dockerfile-checksum"
STUB_DIGEST_ARG = "STUB_DIGEST"
CHECKSUM_PLACEHOLDER = "<checksum>"


class HeaderError(ValueError):
    """A header line that is there but cannot be read."""


PROJECT_INSTALLER = "install-wheel.py"


@dataclass(frozen=True)
class DockerfileHeader:
    """What `poetry docker build` needs to know about a generated Dockerfile."""

    installer: str  # "poetry" or "uv"
    stub_dir: str | None  # the stub directory the Dockerfile copies; None with stub_stage (it copies none)
    stub_stage: bool  # the Dockerfile derives the stub itself
    ssh: bool  # some RUN mounts the SSH agent: build with --ssh default
    secrets: tuple[str, ...]  # BuildKit secret ids the dependency install mounts
    build_args: tuple[str, ...]  # ARGs the user declared (--build-arg), passed on from the environment
    # What installs the project's wheel in the wheel stage: the stub's install-wheel.py, which
    # `poetry docker publish` runs too; pip or uv in Dockerfiles of earlier versions.
    project_installer: str = PROJECT_INSTALLER

    def line(self) -> str:
        fields: dict[str, Any] = {
            "header": HEADER_VERSION,
            "installer": self.installer,
            "stub_dir": self.stub_dir,
            "stub_stage": self.stub_stage,
            "ssh": self.ssh,
            "secrets": list(self.secrets),
            "build_args": list(self.build_args),
            "project_installer": self.project_installer,
        }
        return HEADER_PREFIX + json.dumps(fields, separators=(", ", ": "))


def read_header(text: str) -> DockerfileHeader | None:
    """The header of a generated Dockerfile; None when it has none (not generated, or by an older
    plugin). HeaderError when the line is there but unreadable (edited, or from a newer plugin)."""
    line = next((line for line in text.splitlines() if line.startswith(HEADER_PREFIX)), None)
    if line is None:
        return None
    try:
        fields = json.loads(line[len(HEADER_PREFIX) :])
    except ValueError:
        raise HeaderError("its poetry-plugin-docker header line is not JSON") from None
    if not isinstance(fields, dict):
        raise HeaderError("its poetry-plugin-docker header line is not a JSON object")
    version = fields.get("header")
    if version != HEADER_VERSION:
        raise HeaderError(f"its poetry-plugin-docker header has version {version!r}, not {HEADER_VERSION}")
    return DockerfileHeader(
        installer=_field(fields, "installer", str),
        stub_dir=None if fields.get("stub_dir") is None else _field(fields, "stub_dir", str),
        stub_stage=_field(fields, "stub_stage", bool),
        ssh=_field(fields, "ssh", bool),
        secrets=_names(fields, "secrets"),
        build_args=_names(fields, "build_args"),
        project_installer=(
            _field(fields, "project_installer", str)
            if "project_installer" in fields
            else "uv" if fields.get("installer") == "uv" else "pip"
        ),
    )


def _field(fields: dict[str, Any], key: str, kind: type) -> Any:
    value = fields.get(key)
    if not isinstance(value, kind):
        raise HeaderError(f"its poetry-plugin-docker header has no {kind.__name__} {key}")
    return value


def _names(fields: dict[str, Any], key: str) -> tuple[str, ...]:
    value = fields.get(key)
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise HeaderError(f"its poetry-plugin-docker header has no list of names {key}")
    return tuple(value)


def stub_digest(pyproject: bytes, lock: bytes) -> str:
    """`sha256:` and the hash of what `sha256sum pyproject.toml poetry.lock` prints for these files."""
    listing = "".join(
        f"{hashlib.sha256(content).hexdigest()}  {name}\n"
        for name, content in (("pyproject.toml", pyproject), ("poetry.lock", lock))
    )
    return f"sha256:{hashlib.sha256(listing.encode('utf-8')).hexdigest()}"
