"""Building generated Dockerfiles with the real engine, and reading the results."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from helpers import mirror_url, poetry_executable

if TYPE_CHECKING:
    from pathlib import Path

DOCKERFILE_OPTIONS = [
    "--syntax",
    "none",  # the built-in frontend: these machines cannot pull docker/dockerfile:1
    "--builder-plugin",
    "poetry-plugin-pypi-mirror",
    "--build-arg",
    "POETRY_PYPI_MIRROR_URL",
]
# The dependency install, with either installer: Poetry's one step, or each of uv's install stages.
DEPENDENCY_STEPS = r"poetry install --no-root|uv pip install --python /app/\.venv/bin/python --require-hashes"
# The runtime step that adds the project (build log: COPY --from=wheel ...; history: COPY ...).
PROJECT_STEP = "/staging/app/.venv/ /app/.venv/"
# The runtime stage's self-check, in the build log (the deps stage's `runtime-packages.py` is another step).
CHECK_STEP = "target=/tmp     python /tmp/check-venv.py"


@dataclass
class Build:
    log: str
    tag: str

    def step_id(self, text: str) -> str:
        match = re.search(rf"^(#\d+) \[[^\]]+\] [^\n]*{re.escape(text)}", self.log, re.MULTILINE)
        assert match, f"no step running {text!r} in the build log:\n{self.log}"
        return match.group(1)

    def cached(self, text: str) -> bool:
        return f"\n{self.step_id(text)} CACHED" in self.log

    def install_steps(self) -> list[str]:
        """The step ids of the dependency install (one with Poetry, three with uv)."""
        pattern = rf"^(#\d+) \[[^\]]+\] [^\n]*(?:{DEPENDENCY_STEPS})"
        steps = list(dict.fromkeys(re.findall(pattern, self.log, re.MULTILINE)))
        assert steps, f"no dependency install step in the build log:\n{self.log}"
        return steps

    def dependencies_cached(self) -> bool:
        """Every dependency install step CACHED."""
        return all(f"\n{step} CACHED" in self.log for step in self.install_steps())

    def dependency_log(self) -> str:
        steps = tuple(f"{step} " for step in self.install_steps())
        return "\n".join(line for line in self.log.splitlines() if line.startswith(steps))

    def step_log(self, text: str) -> str:
        step = self.step_id(text)
        return "\n".join(line for line in self.log.splitlines() if line.startswith(step + " "))


class Project:
    def __init__(self, root: Path, docker: str, name: str) -> None:
        self.root, self.docker, self.name = root, docker, name
        self.env = {**os.environ, "POETRY_PYPI_MIRROR_URL": mirror_url(), "DOCKER_BUILDKIT": "1"}
        self.builds = 0

    def poetry(self, *args: str) -> str:
        result = subprocess.run(
            [poetry_executable(), *args], cwd=self.root, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, f"poetry {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    @property
    def version(self) -> str:
        return self.poetry("version", "--short").strip()

    def build_command(self, tag: str, extra: list[str] = ()) -> list[str]:  # type: ignore[assignment]
        """Write the stub and the Dockerfile, and return the `docker build` command line."""
        self.poetry("docker", "build-context")
        self.poetry("docker", "dockerfile", *DOCKERFILE_OPTIONS)
        return self.docker_build_command(tag, extra)

    def docker_build_command(self, tag: str, extra: list[str] = ()) -> list[str]:  # type: ignore[assignment]
        """`docker build` of the Dockerfile as it is, with the mirror and the version."""
        return [
            self.docker, "build", "--network=host", "--progress=plain",
            "--build-arg", f"POETRY_PYPI_MIRROR_URL={mirror_url()}",
            "--build-arg", f"VERSION={self.version}",
            *extra, "-t", tag, ".",
        ]  # fmt: skip

    def build(self, extra: list[str] = (), *, prepare: bool = True) -> Build:  # type: ignore[assignment]
        """Build an image; `prepare=False` runs `docker build` alone (no stub, no Dockerfile written)."""
        self.builds += 1
        tag = f"ppd-e2e-{self.name}:{self.builds}"
        prepared = self.build_command if prepare else self.docker_build_command
        command = prepared(tag, list(extra))
        result = subprocess.run(command, cwd=self.root, env=self.env, capture_output=True, text=True)
        assert result.returncode == 0, f"docker build failed:\n{result.stderr[-6000:]}"
        return Build(result.stderr, tag)

    def layers(self, tag: str) -> list[str]:
        output = self.inspect(tag, "{{json .RootFS.Layers}}")
        return json.loads(output)

    def dependency_layers(self, tag: str) -> int:
        """How many of the image's layers are dependency layers (`COPY --from=… /layer/NN/ /`, as
        `docker history` says): 15 for every project with dependencies, whatever installs them."""
        history = subprocess.run(
            [self.docker, "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return len(re.findall(r"^COPY /layer/\d\d/ / ", history, re.MULTILINE))

    def inspect(self, tag: str, template: str) -> str:
        return subprocess.run(
            [self.docker, "inspect", "--format", template, tag], capture_output=True, text=True, check=True
        ).stdout.strip()

    def python(self, tag: str, code: str) -> str:
        result = subprocess.run(
            [self.docker, "run", "--rm", "--network=none", "--entrypoint", "python", tag, "-c", code],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def layer_size(self, tag: str, text: str) -> int:
        history = subprocess.run(
            [self.docker, "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", tag],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        sizes = [int(line.split("\t")[0]) for line in history.splitlines() if text in line]
        assert len(sizes) == 1, history
        return sizes[0]

    def remove_images(self) -> None:
        tags = [f"ppd-e2e-{self.name}:{n}" for n in range(1, self.builds + 1)]
        subprocess.run([self.docker, "rmi", "-f", *tags], capture_output=True)
