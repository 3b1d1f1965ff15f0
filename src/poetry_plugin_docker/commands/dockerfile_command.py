from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import option

from poetry_plugin_docker.commands.base import DockerCommand, setting_options
from poetry_plugin_docker.dockerfile.plan import DockerfileOptions
from poetry_plugin_docker.dockerfile.write import write_dockerfile
from poetry_plugin_docker.project.selection import configured_selection
from poetry_plugin_docker.settings import DOCKERFILE

if TYPE_CHECKING:
    from cleo.io.inputs.option import Option

    from poetry_plugin_docker.project.loading import Project
    from poetry_plugin_docker.result import Result


class DockerfileCommand(DockerCommand):
    name = "docker dockerfile"
    description = (
        "Write a multi-stage Dockerfile whose dependency layer stays cached across releases."
    )
    settings_command = DOCKERFILE
    options: ClassVar[list[Option]] = [
        *setting_options(DOCKERFILE),
        option("check", None, "Write nothing; exit 1 if the file is not up to date."),
        option("force", None, "Overwrite the file even if it was written or edited by hand."),
    ]

    def handle(self) -> int:
        def work(project: Project) -> Result:
            settings = self.settings(project)
            options = DockerfileOptions(
                settings, configured_selection(project, settings.selection_settings), self._regenerate_command()
            )
            return write_dockerfile(
                project,
                options,
                settings.dockerfile,
                check=self.option("check"),
                force=self.option("force"),
                output_option=settings.origin("dockerfile"),
            )

        return self.run_with_project(work)

    def _regenerate_command(self) -> str:
        """This command line with its options (but not --check/--force), for the file header."""
        words = ["poetry", "docker", "dockerfile"]
        for definition in self.options:
            name = definition.name
            if name in ("check", "force"):
                continue
            value = self.option(name)
            if definition.is_flag():
                if value:
                    words.append(f"--{name}")
            elif definition.is_list():
                words.extend(f"--{name}={item}" for item in value)
            elif value is not None and value != definition.default:
                words.append(f"--{name}={value}")
        return shlex.join(words)
