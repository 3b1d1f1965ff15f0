from __future__ import annotations

import json
import subprocess
import sys

from poetry_plugin_docker import __version__
from poetry_plugin_docker.plugins import COMMANDS


def test_registering_imports_no_command_implementation() -> None:
    code = (
        "import json, sys\n"
        "from poetry.console.application import Application\n"
        "from poetry_plugin_docker.plugins import DockerApplicationPlugin\n"
        "application = Application()\n"
        "DockerApplicationPlugin().activate(application)\n"
        "print(json.dumps({'registered': [n for n in application.command_loader.names if n.startswith('docker ')],\n"
        "  'imported': sorted(m for m in sys.modules if m.startswith('poetry_plugin_docker'))}))\n"
    )
    result = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert sorted(result["registered"]) == sorted(COMMANDS)
    assert result["imported"] == ["poetry_plugin_docker", "poetry_plugin_docker.plugins"]


def test_version_matches_the_distribution() -> None:
    from importlib.metadata import version

    assert __version__ == version("poetry-plugin-docker")


def test_poetry_lists_the_commands() -> None:
    result = subprocess.run(
        [str(__import__("pathlib").Path(sys.executable).parent / "poetry"), "list", "docker"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "docker build-context" in result.stdout and "docker dockerfile" in result.stdout
